//! The maintainers' JSON API over [`Allowlist`].
//!
//! Transport-free: an adapter hands over the method, the path below its
//! mount point, the query, the body and the authenticated caller, and
//! sends back the status and JSON. The `allowlist-admin` Lambda serves it at
//! the root of an IAM-authenticated Function URL; `timmybot serve` mounts it
//! under `/admin/allowlist` behind the admin token. Authentication happens
//! before this module: it trusts `caller`. `docs/allowlist-admin.openapi.yaml`
//! describes the routes.
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `/guilds?state=pending&limit=25&cursor=…` | list by state, paged |
//! | GET | `/guilds/{id}?history=50` | one guild with its history |
//! | POST | `/guilds/{id}/approve` `{"reason", "force"}` | approve |
//! | POST | `/guilds/{id}/deny` `{"reason"}` | deny |
//! | POST | `/guilds/{id}/revoke` `{"reason"}` | revoke |
//! | GET | `/slots` | approved count and limit |
//! | PUT | `/slots` `{"limit": n or null}` | set the limit |

use std::sync::Arc;

use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use timmybot_core::{Actor, AllowlistState, GuildId};

use crate::{Allowlist, AllowlistError, Decision};

/// The largest request body read: 16 KiB (a reason is at most 500 chars).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The page size when the caller gives none.
const DEFAULT_PAGE: usize = 25;
/// The history length when the caller gives none.
const DEFAULT_HISTORY: usize = 50;

/// One request, already authenticated.
#[derive(Debug, Clone)]
pub struct AdminRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The path below the API's mount point, starting with `/`.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// Who is calling, for the audit trail.
    pub caller: Actor,
}

/// The answer: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl AdminResponse {
    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    /// An error in the API's shape: `{"error": code, "message": text}`.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self { status, body: json!({ "error": code, "message": message.into() }) }
    }

    /// The 401 adapters answer when authentication fails.
    pub fn unauthorized() -> Self {
        Self::error(401, "unauthorized", "missing or wrong credentials")
    }
}

/// The admin API. Cheap to share.
#[derive(Debug, Clone)]
pub struct AdminApi {
    allowlist: Arc<Allowlist>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SlotsBody {
    limit: Option<u64>,
}

impl AdminApi {
    /// The API over `allowlist`.
    pub fn new(allowlist: Arc<Allowlist>) -> Self {
        Self { allowlist }
    }

    /// Answers one request. Never fails: every problem is a status code
    /// with an error body that names no secret and quotes no input.
    pub async fn handle(&self, request: AdminRequest<'_>) -> AdminResponse {
        if request.body.len() > MAX_BODY_BYTES {
            return AdminResponse::error(413, "too_large", format!("bodies are limited to {MAX_BODY_BYTES} bytes"));
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let method = request.method;
        match segments.as_slice() {
            ["guilds"] if method == Method::GET => self.list(request.query).await,
            ["guilds", id] if method == Method::GET => self.show(id, request.query).await,
            ["guilds", id, verb @ ("approve" | "deny" | "revoke")] if method == Method::POST => {
                self.decide(id, verb, request.body, request.caller).await
            }
            ["slots"] if method == Method::GET => self.slots().await,
            ["slots"] if method == Method::PUT => self.set_slots(request.body, &request.caller).await,
            ["guilds"] | ["guilds", _] | ["guilds", _, "approve" | "deny" | "revoke"] | ["slots"] => {
                AdminResponse::error(405, "method_not_allowed", "method not allowed on this path")
            }
            _ => AdminResponse::error(404, "not_found", "no such route"),
        }
    }

    async fn list(&self, query: Option<&str>) -> AdminResponse {
        let mut state = AllowlistState::Pending;
        let mut limit = DEFAULT_PAGE;
        let mut cursor = None;
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "state" => match AllowlistState::parse(&value) {
                    Some(s) => state = s,
                    None => return bad_request("state must be pending, approved, denied or revoked"),
                },
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=100).contains(&n) => limit = n,
                    _ => return bad_request("limit must be a number from 1 to 100"),
                },
                "cursor" => cursor = Some(value.into_owned()),
                _ => return bad_request("unknown query parameter"),
            }
        }
        match self.allowlist.list(state, limit, cursor.as_deref()).await {
            Ok(page) => AdminResponse::ok(json!({
                "state": state,
                "guilds": page.records,
                "next_cursor": page.next_cursor,
            })),
            Err(e) => error_response(&e),
        }
    }

    async fn show(&self, id: &str, query: Option<&str>) -> AdminResponse {
        let Some(guild) = parse_guild(id) else { return bad_request("guild id must be a Discord snowflake") };
        let mut history = DEFAULT_HISTORY;
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match (key.as_ref(), value.parse::<usize>()) {
                ("history", Ok(n)) if (1..=crate::MAX_HISTORY).contains(&n) => history = n,
                _ => return bad_request("the only query parameter is history, from 1 to 100"),
            }
        }
        match self.allowlist.show(guild, history).await {
            Ok((record, events)) => AdminResponse::ok(json!({ "guild": record, "history": events })),
            Err(e) => error_response(&e),
        }
    }

    async fn decide(&self, id: &str, verb: &str, body: &[u8], caller: Actor) -> AdminResponse {
        let Some(guild) = parse_guild(id) else { return bad_request("guild id must be a Discord snowflake") };
        let body: DecisionBody = match parse_body(body) {
            Ok(body) => body,
            Err(response) => return response,
        };
        let decision = match verb {
            "approve" => Decision::Approve { force: body.force },
            "deny" => Decision::Deny,
            _ => Decision::Revoke,
        };
        if body.force && !matches!(decision, Decision::Approve { .. }) {
            return bad_request("force only applies to approve");
        }
        match self.allowlist.decide(guild, decision, caller, body.reason.as_deref()).await {
            Ok(record) => AdminResponse::ok(json!({ "guild": record })),
            Err(e) => error_response(&e),
        }
    }

    async fn slots(&self) -> AdminResponse {
        match self.allowlist.slots().await {
            Ok(usage) => AdminResponse::ok(json!(usage)),
            Err(e) => error_response(&e),
        }
    }

    async fn set_slots(&self, body: &[u8], caller: &Actor) -> AdminResponse {
        if body.iter().all(u8::is_ascii_whitespace) {
            return bad_request("body must be {\"limit\": <number or null>}");
        }
        let body: SlotsBody = match parse_body(body) {
            Ok(body) => body,
            Err(response) => return response,
        };
        match self.allowlist.set_slot_limit(body.limit, caller).await {
            Ok(usage) => AdminResponse::ok(json!(usage)),
            Err(e) => error_response(&e),
        }
    }
}

fn parse_guild(id: &str) -> Option<GuildId> {
    id.parse().ok()
}

/// An empty body reads as `{}`; anything else must be the exact shape.
fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, AdminResponse> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // serde's message names the offending field or position, never values.
    serde_json::from_slice(body).map_err(|e| bad_request(format!("body is not valid: {}", e.classify_message())))
}

trait ClassifyMessage {
    fn classify_message(&self) -> String;
}

impl ClassifyMessage for serde_json::Error {
    fn classify_message(&self) -> String {
        match self.classify() {
            serde_json::error::Category::Data => "unexpected field or value type".to_owned(),
            _ => format!("not JSON (line {}, column {})", self.line(), self.column()),
        }
    }
}

fn bad_request(message: impl Into<String>) -> AdminResponse {
    AdminResponse::error(400, "bad_request", message)
}

fn error_response(error: &AllowlistError) -> AdminResponse {
    let (status, code) = match error {
        AllowlistError::UnknownGuild(_) => (404, "unknown_guild"),
        AllowlistError::AlreadyInState(_) | AllowlistError::InvalidTransition { .. } => (409, "invalid_transition"),
        AllowlistError::SlotsFull { .. } => (409, "slots_full"),
        AllowlistError::ConcurrentChange => (409, "concurrent_change"),
        AllowlistError::InvalidInput(_) => (400, "bad_request"),
        AllowlistError::Store(_) => (503, "store_unavailable"),
        _ => (409, "refused"),
    };
    if error.is_internal() {
        tracing::warn!(error = %error, "admin API store failure");
        return AdminResponse::error(status, code, "the allowlist store is unavailable; try again");
    }
    AdminResponse::error(status, code, error.to_string())
}
