//! `docs/allowlist-admin.openapi.yaml` against the API as served.
//!
//! [`ROUTES`] is the one list of what the API serves. Each entry is hit
//! through the Lambda's handler, so the list cannot claim a route the API
//! 404s; the document must list exactly these, so it cannot drift from the
//! list either way. Every other method on a documented path must be 405,
//! and the answers (success, 401, 413, 400) must be documented for their
//! operation and match the documented schemas.

mod common;

use std::collections::BTreeSet;

use allowlist_admin_lambda::function_handler;
use common::{Event, GUILD, body_json, fixture, guild};
use serde_json::Value;
use timmybot_allowlist::Decision;
use timmybot_allowlist::admin_api::MAX_BODY_BYTES;
use timmybot_core::Actor;

const DOC: &str = include_str!("../../../docs/allowlist-admin.openapi.yaml");

/// Every (method, path template) the API serves.
const ROUTES: [(&str, &str); 7] = [
    ("GET", "/guilds"),
    ("GET", "/guilds/{guild_id}"),
    ("POST", "/guilds/{guild_id}/approve"),
    ("POST", "/guilds/{guild_id}/deny"),
    ("POST", "/guilds/{guild_id}/revoke"),
    ("GET", "/slots"),
    ("PUT", "/slots"),
];

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn doc() -> Value {
    serde_norway::from_str(DOC).expect("the OpenAPI document is valid YAML")
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

fn concrete(path: &str) -> String {
    path.replace("{guild_id}", &GUILD.to_string())
}

/// A request body that the route accepts.
fn good_body(method: &str, path: &str) -> Option<&'static [u8]> {
    match (method, path) {
        ("PUT", "/slots") => Some(br#"{"limit": 3}"#),
        ("POST", _) => Some(br#"{"reason": "documented"}"#),
        _ => None,
    }
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {reference}"));
            resolve(doc, doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}")))
        }
        None => node,
    }
}

/// The documented JSON schema of `status` for an operation, failing the
/// test when the operation does not document that status.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let operation = &doc["paths"][path][method.to_ascii_lowercase()];
    let response = operation["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| panic!("{method} {path} answers {status}, which the document does not list"));
    let response = resolve(doc, response);
    response
        .pointer("/content/application~1json/schema")
        .unwrap_or_else(|| panic!("{method} {path} {status} has no application/json schema"))
}

/// A small JSON Schema check covering what the document uses: `$ref`,
/// `oneOf`, `const`, `enum`, `type` (one or a list), `required`,
/// `properties`, `additionalProperties: false`, `items`, `minimum`.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options.iter().filter(|option| check(doc, option, value, at).is_ok()).count();
        if matching != 1 {
            return Err(format!("{at}: {value} matches {matching} of the oneOf options"));
        }
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        return Err(format!("{at}: {value} is not {expected}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            other => return Err(format!("{at}: bad type keyword {other}")),
        };
        let fits = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        };
        if !types.iter().any(|t| fits(t)) {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    if let (Some(minimum), Some(number)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64())
        && number < minimum
    {
        return Err(format!("{at}: {value} is below {minimum}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: required `{name}` is missing from {value}"));
            }
        }
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(field_schema) => check(doc, field_schema, field, &format!("{at}.{name}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: `{name}` is not documented"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[test]
fn document_lists_exactly_the_served_routes() {
    let doc = doc();
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));
    let documented = documented_routes(&doc);
    let listed: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented, listed, "docs/allowlist-admin.openapi.yaml and ROUTES differ");

    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    assert_eq!(schemes["adminToken"]["scheme"], "bearer");
    assert!(schemes["sigv4"]["description"].as_str().unwrap().contains("AWS_IAM"));
    for name in ["NotFound", "MethodNotAllowed", "Unauthorized", "TooLarge", "StoreUnavailable", "Conflict"] {
        assert!(doc["components"]["responses"].get(name).is_some(), "components.responses.{name}");
    }
}

#[tokio::test]
async fn every_route_answers_as_documented() {
    let doc = doc();
    for (method, path) in ROUTES {
        let f = fixture().await;
        if path.ends_with("/revoke") {
            f.allowlist.decide(guild(), Decision::Approve { force: false }, Actor::System, None).await.unwrap();
        }
        let concrete = concrete(path);
        let mut event = Event::new(method, &concrete);
        if let Some(body) = good_body(method, path) {
            event = event.body(body);
        }
        let response = function_handler(&f.api, event.request()).await.unwrap();
        let status = response.status().as_u16();
        let body = body_json(&response);
        assert_eq!(status, 200, "{method} {path} is listed but answered {status} {body}");
        check(&doc, response_schema(&doc, method, path, status), &body, &format!("{method} {path}"))
            .unwrap_or_else(|e| panic!("{e}"));

        // The refusals every route can give are documented with their shape.
        let anonymous = function_handler(&f.api, Event::new(method, &concrete).anonymous().request()).await.unwrap();
        let large = vec![b' '; MAX_BODY_BYTES + 1];
        let too_large = function_handler(&f.api, Event::new(method, &concrete).body(&large).request()).await.unwrap();
        for (expected, response) in [(401, anonymous), (413, too_large)] {
            assert_eq!(response.status().as_u16(), expected, "{method} {path}");
            let schema = response_schema(&doc, method, path, expected);
            check(&doc, schema, &body_json(&response), &format!("{method} {path} {expected}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[tokio::test]
async fn bad_requests_are_documented_where_they_happen() {
    let doc = doc();
    let cases: [(&str, &str, &str, &[u8]); 6] = [
        ("GET", "/guilds", "state=lost", b""),
        ("GET", "/guilds/{guild_id}", "history=0", b""),
        ("POST", "/guilds/{guild_id}/approve", "", b"{"),
        ("POST", "/guilds/{guild_id}/deny", "", br#"{"force": true}"#),
        ("POST", "/guilds/{guild_id}/revoke", "", br#"{"reason": []}"#),
        ("PUT", "/slots", "", b""),
    ];
    for (method, path, query, body) in cases {
        let f = fixture().await;
        let concrete = concrete(path);
        let mut event = Event::new(method, &concrete).query(query);
        if !body.is_empty() {
            event = event.body(body);
        }
        let response = function_handler(&f.api, event.request()).await.unwrap();
        assert_eq!(response.status(), 400, "{method} {path}");
        let schema = response_schema(&doc, method, path, 400);
        check(&doc, schema, &body_json(&response), &format!("{method} {path} 400")).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test]
async fn undocumented_methods_and_paths_are_not_served() {
    let doc = doc();
    let f = fixture().await;
    let documented = documented_routes(&doc);
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in METHODS {
            if documented.contains(&(method.to_owned(), path.clone())) {
                continue;
            }
            let response = function_handler(&f.api, Event::new(method, &concrete(path)).request()).await.unwrap();
            assert_eq!(response.status(), 405, "{method} {path} is served but not documented");
            check(&doc, &doc["components"]["schemas"]["Error"], &body_json(&response), "405")
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    // Paths one could expect but the API does not have.
    let guild = GUILD.to_string();
    for path in ["/", "/guild", "/guilds/", "/slots/1", &format!("/guilds/{guild}/history"), "/health"] {
        let path = path.to_owned();
        let response = function_handler(&f.api, Event::new("GET", &path).request()).await.unwrap();
        // `/guilds/` is the list (trailing slashes are ignored); the rest 404.
        if path == "/guilds/" {
            assert_eq!(response.status(), 200);
            continue;
        }
        assert_eq!(response.status(), 404, "{path}");
        let json = body_json(&response);
        assert_eq!(json["error"], "not_found", "{path}");
        check(&doc, &doc["components"]["schemas"]["Error"], &json, "404").unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test]
async fn documented_schemas_match_every_serialised_actor_and_state() {
    // The seeded record, decided by each kind of actor, shown with its
    // history: every Actor variant and every state pass the schemas.
    let doc = doc();
    let f = fixture().await;
    let decisions = [
        (Decision::Approve { force: false }, Actor::AdminToken),
        (Decision::Revoke, Actor::System),
        (Decision::Approve { force: true }, Actor::Iam("arn:aws:iam::1:user/a".into())),
    ];
    for (decision, actor) in decisions {
        f.allowlist.decide(guild(), decision, actor, Some("why")).await.unwrap();
    }
    let path = concrete("/guilds/{guild_id}");
    let response = function_handler(&f.api, Event::new("GET", &path).request()).await.unwrap();
    let body = body_json(&response);
    assert_eq!(body["history"].as_array().unwrap().len(), 4);
    check(&doc, response_schema(&doc, "GET", "/guilds/{guild_id}", 200), &body, "show")
        .unwrap_or_else(|e| panic!("{e}"));
    // And a denied one, for the fourth state and the discord_user actor.
    let f = fixture().await;
    let maintainer = timmybot_core::UserId::new(5).unwrap();
    f.allowlist.decide(guild(), Decision::Deny, Actor::DiscordUser(maintainer), None).await.unwrap();
    let response = function_handler(&f.api, Event::new("GET", &path).request()).await.unwrap();
    check(&doc, response_schema(&doc, "GET", "/guilds/{guild_id}", 200), &body_json(&response), "show denied")
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn conflicts_and_unknown_guilds_are_documented_where_they_happen() {
    let doc = doc();
    let decisions = ["/guilds/{guild_id}/approve", "/guilds/{guild_id}/deny", "/guilds/{guild_id}/revoke"];
    for path in decisions {
        // A guild that never asked.
        let f = fixture().await;
        let unknown = path.replace("{guild_id}", "123");
        let response = function_handler(&f.api, Event::new("POST", &unknown).request()).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let json = body_json(&response);
        assert_eq!(json["error"], "unknown_guild");
        check(&doc, response_schema(&doc, "POST", path, 404), &json, path).unwrap_or_else(|e| panic!("{e}"));

        // A move the state machine does not have, or the state it is in:
        // approve or deny an approved guild, revoke a pending one.
        let f = fixture().await;
        if !path.ends_with("/revoke") {
            f.allowlist.decide(guild(), Decision::Approve { force: false }, Actor::System, None).await.unwrap();
        }
        let response = function_handler(&f.api, Event::new("POST", &concrete(path)).request()).await.unwrap();
        assert_eq!(response.status(), 409, "{path}");
        let json = body_json(&response);
        assert_eq!(json["error"], "invalid_transition");
        check(&doc, response_schema(&doc, "POST", path, 409), &json, path).unwrap_or_else(|e| panic!("{e}"));
    }

    let f = fixture().await;
    let response = function_handler(&f.api, Event::new("GET", &concrete("/guilds/123")).request()).await.unwrap();
    assert_eq!(response.status(), 404);
    check(&doc, response_schema(&doc, "GET", "/guilds/{guild_id}", 404), &body_json(&response), "show 404")
        .unwrap_or_else(|e| panic!("{e}"));

    f.allowlist.set_slot_limit(Some(0), &Actor::System).await.unwrap();
    let approve = concrete("/guilds/{guild_id}/approve");
    let response = function_handler(&f.api, Event::new("POST", &approve).request()).await.unwrap();
    assert_eq!(response.status(), 409);
    let json = body_json(&response);
    assert_eq!(json["error"], "slots_full");
    check(&doc, response_schema(&doc, "POST", "/guilds/{guild_id}/approve", 409), &json, "slots_full")
        .unwrap_or_else(|e| panic!("{e}"));
}
