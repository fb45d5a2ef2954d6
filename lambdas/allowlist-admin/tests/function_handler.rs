//! `function_handler` driven by real Function URL events (API Gateway v2
//! shape with an IAM authorizer), without the Lambda runtime, over an
//! in-memory SQLite store.

mod common;

use allowlist_admin_lambda::function_handler;
use common::{CALLER_ARN, Event, GUILD, NOW, body_json, fixture, guild};
use serde_json::json;
use timmybot_allowlist::admin_api::MAX_BODY_BYTES;
use timmybot_core::{Actor, AllowlistState};

#[tokio::test]
async fn list_show_and_approve_through_the_handler() {
    let f = fixture().await;

    let response = function_handler(&f.api, Event::new("GET", "/guilds").request()).await.unwrap();
    assert_eq!(response.status(), 200);
    let page = body_json(&response);
    assert_eq!(page["state"], "pending");
    assert_eq!(page["guilds"][0]["guild_id"], GUILD.to_string());
    assert_eq!(page["guilds"][0]["guild_name"], "Jazz Club");
    assert_eq!(page["next_cursor"], json!(null));

    // The raw query string reaches the API.
    let response =
        function_handler(&f.api, Event::new("GET", "/guilds").query("state=approved&limit=5").request()).await.unwrap();
    assert_eq!(body_json(&response)["guilds"], json!([]));

    let path = format!("/guilds/{GUILD}");
    let response = function_handler(&f.api, Event::new("GET", &path).query("history=10").request()).await.unwrap();
    assert_eq!(response.status(), 200);
    let detail = body_json(&response);
    assert_eq!(detail["guild"]["state"], "pending");
    assert_eq!(detail["history"].as_array().unwrap().len(), 1);

    let approve = format!("/guilds/{GUILD}/approve");
    let body = br#"{"reason": "welcome"}"#;
    let response = function_handler(&f.api, Event::new("POST", &approve).body(body).request()).await.unwrap();
    assert_eq!(response.status(), 200, "{:?}", body_json(&response));
    let decided = body_json(&response);
    assert_eq!(decided["guild"]["state"], "approved");
    assert_eq!(decided["guild"]["decided_by"], json!({"kind": "iam", "id": CALLER_ARN}));

    // The audit trail names the IAM principal from the request context.
    let (record, history) = f.allowlist.show(guild(), 10).await.unwrap();
    assert_eq!(record.state, AllowlistState::Approved);
    assert_eq!(record.decided_at, Some(NOW + 60));
    let event = &history[0];
    assert_eq!(event.actor, Actor::Iam(CALLER_ARN.to_owned()));
    assert_eq!(event.to, AllowlistState::Approved);
    assert_eq!(event.reason.as_deref(), Some("welcome"));
}

#[tokio::test]
async fn base64_encoded_body_is_decoded_before_the_api_reads_it() {
    let f = fixture().await;
    let deny = format!("/guilds/{GUILD}/deny");
    let body = r#"{"reason": "pas de musique — désolé"}"#.as_bytes();
    let response = function_handler(&f.api, Event::new("POST", &deny).body(body).base64().request()).await.unwrap();
    assert_eq!(response.status(), 200, "{:?}", body_json(&response));
    let (record, _) = f.allowlist.show(guild(), 1).await.unwrap();
    assert_eq!(record.state, AllowlistState::Denied);
    assert_eq!(record.decision_reason.as_deref(), Some("pas de musique — désolé"));
}

#[tokio::test]
async fn event_without_an_iam_identity_is_401_and_changes_nothing() {
    let f = fixture().await;
    let approve = format!("/guilds/{GUILD}/approve");

    // No authorizer at all (a Function URL with auth type NONE).
    let request = Event::new("POST", &approve).body(b"{}").anonymous().request();
    let response = function_handler(&f.api, request).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(body_json(&response), json!({"error": "unauthorized", "message": "missing or wrong credentials"}));

    // An IAM authorizer block that names no principal.
    let mut event = Event::new("POST", &approve).body(b"{}").json();
    event["requestContext"]["authorizer"]["iam"]["userArn"] = json!(null);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(function_handler(&f.api, request).await.unwrap().status(), 401);

    // Reads are refused too: nothing is served anonymously.
    let request = Event::new("GET", "/guilds").anonymous().request();
    assert_eq!(function_handler(&f.api, request).await.unwrap().status(), 401);

    let (record, history) = f.allowlist.show(guild(), 10).await.unwrap();
    assert_eq!(record.state, AllowlistState::Pending);
    assert_eq!(history.len(), 1, "only the request itself");
}

#[tokio::test]
async fn unknown_route_is_404() {
    let f = fixture().await;
    for path in ["/", "/nope", "/guilds/1/approve/again", "/admin/allowlist/guilds"] {
        let response = function_handler(&f.api, Event::new("GET", path).request()).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(body_json(&response)["error"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn malformed_body_is_400_and_changes_nothing() {
    let f = fixture().await;
    let approve = format!("/guilds/{GUILD}/approve");
    for body in [&b"{not json"[..], br#"{"reason": 5}"#, br#"{"surprise": true}"#] {
        let response = function_handler(&f.api, Event::new("POST", &approve).body(body).request()).await.unwrap();
        assert_eq!(response.status(), 400);
        let json = body_json(&response);
        assert_eq!(json["error"], "bad_request");
        assert!(!json["message"].as_str().unwrap().contains("surprise"), "input is never quoted: {json}");
    }
    assert_eq!(f.allowlist.show(guild(), 1).await.unwrap().0.state, AllowlistState::Pending);
}

#[tokio::test]
async fn too_large_body_is_413_and_changes_nothing() {
    let f = fixture().await;
    let approve = format!("/guilds/{GUILD}/approve");
    let body = format!(r#"{{"reason": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    let response =
        function_handler(&f.api, Event::new("POST", &approve).body(body.as_bytes()).request()).await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(body_json(&response)["error"], "too_large");
    assert_eq!(f.allowlist.show(guild(), 1).await.unwrap().0.state, AllowlistState::Pending);
}

#[tokio::test]
async fn slots_are_read_and_set_through_the_handler() {
    let f = fixture().await;
    let response =
        function_handler(&f.api, Event::new("PUT", "/slots").body(br#"{"limit": 0}"#).request()).await.unwrap();
    assert_eq!(body_json(&response), json!({"approved": 0, "limit": 0}));

    // With no slot left, approving needs force; the IAM caller can force.
    let approve = format!("/guilds/{GUILD}/approve");
    let response = function_handler(&f.api, Event::new("POST", &approve).request()).await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(body_json(&response)["error"], "slots_full");
    let response =
        function_handler(&f.api, Event::new("POST", &approve).body(br#"{"force": true}"#).request()).await.unwrap();
    assert_eq!(response.status(), 200);
    let response = function_handler(&f.api, Event::new("GET", "/slots").request()).await.unwrap();
    assert_eq!(body_json(&response), json!({"approved": 1, "limit": 0}));
}
