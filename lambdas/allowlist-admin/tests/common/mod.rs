//! Shared by the integration tests: a real Function URL event and an
//! [`AdminApi`] over an in-memory SQLite store with a seeded request.

#![allow(dead_code)] // each test binary uses its own part of this

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use timmybot_allowlist::admin_api::AdminApi;
use timmybot_allowlist::{AccessRequest, Allowlist, AllowlistSettings};
use timmybot_core::{GuildId, ManualClock, UserId};
use timmybot_embedded::SqliteStore;

/// 2026-01-01T00:00:00Z.
pub const NOW: u64 = 1_767_225_600;
/// The IAM principal in the event template.
pub const CALLER_ARN: &str = "arn:aws:sts::111122223333:assumed-role/timmybot-maintainers/maintainer-session";
/// The guild seeded as pending.
pub const GUILD: u64 = 800_000_000_000_000_001;
/// Who asked for it.
pub const REQUESTER: u64 = 800_000_000_000_000_002;

const TEMPLATE: &str = include_str!("../data/function_url_iam.json");

/// The API and the workflow under it, to check state without the API.
pub struct Fixture {
    pub api: AdminApi,
    pub allowlist: Arc<Allowlist>,
    pub clock: ManualClock,
}

/// An API over a fresh in-memory store holding one pending request.
pub async fn fixture() -> Fixture {
    let store = Arc::new(SqliteStore::in_memory().expect("in-memory store"));
    let clock = ManualClock::at(NOW);
    let allowlist = Arc::new(Allowlist::new(store, Arc::new(clock.clone()), AllowlistSettings::default()));
    allowlist
        .request_access(AccessRequest {
            guild_id: guild(),
            guild_name: Some("Jazz Club".into()),
            member_count: Some(42),
            requested_by: UserId::new(REQUESTER).unwrap(),
            channel_id: None,
            reason: Some("we like music".into()),
        })
        .await
        .expect("seed request");
    clock.advance(60);
    Fixture { api: AdminApi::new(allowlist.clone()), allowlist, clock }
}

/// The seeded guild.
pub fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap()
}

/// How a test event differs from the template.
pub struct Event<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: Option<&'a [u8]>,
    /// Encode the body the way a Function URL does for binary content types.
    pub base64: bool,
    /// Keep `requestContext.authorizer` (the verified IAM identity).
    pub identity: bool,
}

impl<'a> Event<'a> {
    /// An authenticated request without a body.
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Self { method, path, query: "", body: None, base64: false, identity: true }
    }

    pub fn query(self, query: &'a str) -> Self {
        Self { query, ..self }
    }

    pub fn body(self, body: &'a [u8]) -> Self {
        Self { body: Some(body), ..self }
    }

    pub fn base64(self) -> Self {
        Self { base64: true, ..self }
    }

    pub fn anonymous(self) -> Self {
        Self { identity: false, ..self }
    }

    /// The event JSON, as a Function URL would send it.
    pub fn json(&self) -> Value {
        let mut event: Value = serde_json::from_str(TEMPLATE).unwrap();
        event["rawPath"] = json!(self.path);
        event["rawQueryString"] = json!(self.query);
        event["requestContext"]["http"]["method"] = json!(self.method);
        event["requestContext"]["http"]["path"] = json!(self.path);
        if !self.query.is_empty() {
            // Function URLs also send the parsed form; the handler must not
            // depend on it, but a real event has it.
            let params: serde_json::Map<String, Value> = self
                .query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), json!(v)))
                .collect();
            event["queryStringParameters"] = Value::Object(params);
        }
        if let Some(body) = self.body {
            event["body"] = if self.base64 {
                json!(STANDARD.encode(body))
            } else {
                json!(String::from_utf8(body.to_vec()).unwrap())
            };
            event["isBase64Encoded"] = json!(self.base64);
        }
        if !self.identity {
            event["requestContext"].as_object_mut().unwrap().remove("authorizer");
        }
        event
    }

    /// The event as lambda_http hands it to the handler.
    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.json().to_string()).expect("a valid Function URL event")
    }
}

/// The JSON body of a response, checking it is labelled JSON.
pub fn body_json(response: &Response<Body>) -> Value {
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_slice(response.body().as_ref()).expect("JSON body")
}
