//! `function_handler` driven by Function URL events, without the runtime.
//!
//! The event template in `tests/data/` has placeholders for the signature
//! headers and the body; each test signs its body with the test key at test
//! time and fills them in, so no signature is ever stored in a fixture.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use interactions_lambda::function_handler;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use timmybot_core::player::Placement;
use timmybot_core::{ApplicationId, CommandBus, ManualClock, VoiceCommand};
use timmybot_embedded::InProcessBus;
use timmybot_emf::{EmfEmitter, MemorySink};
use timmybot_interactions::{InteractionHandler, PublicKey};
use timmybot_test_support::signer::{InteractionSigner, SAMPLE_APPLICATION_ID, SlashCommand, ping, slash_command};

const NOW: u64 = 1_767_225_600;
const TEMPLATE: &str = include_str!("data/function_url_post.json");

fn handler(signer: &InteractionSigner, bus: Arc<InProcessBus>) -> InteractionHandler {
    InteractionHandler::new(
        bus,
        Arc::new(ManualClock::at(NOW)),
        PublicKey::from_hex(&signer.public_key_hex()).unwrap(),
        ApplicationId::new(SAMPLE_APPLICATION_ID).unwrap(),
    )
}

/// The Function URL event for `body` signed by `signer`; `base64` encodes
/// the body the way a Function URL does for binary content types.
fn event(signer: &InteractionSigner, body: &[u8], base64: bool) -> lambda_http::Request {
    let mut event: Value = serde_json::from_str(TEMPLATE).unwrap();
    for (name, value) in signer.signed_headers(body, NOW) {
        event["headers"][name.to_ascii_lowercase()] = json!(value);
    }
    event["body"] =
        if base64 { json!(STANDARD.encode(body)) } else { json!(String::from_utf8(body.to_vec()).unwrap()) };
    event["isBase64Encoded"] = json!(base64);
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// An emitter writing to a sink the test reads back.
fn metrics() -> (EmfEmitter, MemorySink) {
    let sink = MemorySink::new();
    (EmfEmitter::new(Arc::new(sink.clone()), Arc::new(ManualClock::at(NOW))), sink)
}

/// The one record the invocation wrote.
fn only_record(sink: &MemorySink) -> Value {
    let records = sink.records();
    assert_eq!(records.len(), 1, "one record per invocation");
    records.into_iter().next().unwrap()
}

fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

#[tokio::test]
async fn ping_event_is_answered_with_pong() {
    let signer = InteractionSigner::default();
    let handler = handler(&signer, Arc::new(InProcessBus::new()));
    let (metrics, sink) = metrics();
    let response =
        function_handler(&handler, &metrics, event(&signer, ping().to_string().as_bytes(), false)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(body_json(&response), json!({"type": 1}));

    let record = only_record(&sink);
    assert_eq!(record["Service"], "interactions");
    assert_eq!(record["Interactions"], 1);
    assert_eq!(record["InteractionErrors"], 0);
    assert!(record["InteractionLatency"].as_f64().unwrap() >= 0.0);
    assert_eq!(record["InteractionKind"], "ping");
    assert_eq!(record["_aws"]["Timestamp"], json!(NOW * 1000));
    assert_eq!(record["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Timmybot");
}

#[tokio::test]
async fn event_signed_with_another_key_is_401() {
    let signer = InteractionSigner::default();
    let bus = Arc::new(InProcessBus::new());
    let handler = handler(&signer, bus.clone());
    let (metrics, sink) = metrics();
    let forger = InteractionSigner::from_seed([13; 32]);
    let body = slash_command(SlashCommand {
        options: vec![("query".into(), json!("https://example.com/a.mp3"))],
        ..Default::default()
    });
    let response =
        function_handler(&handler, &metrics, event(&forger, body.to_string().as_bytes(), false)).await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(bus.receive(10, Duration::ZERO).await.unwrap().is_empty());

    // A forged request is the caller's error, not ours: counted, no error.
    let record = only_record(&sink);
    assert_eq!(record["Interactions"], 1);
    assert_eq!(record["InteractionErrors"], 0);
    assert_eq!(record["InteractionKind"], "unverified");
    assert_eq!(record["StatusCode"], "401");
}

#[tokio::test]
async fn base64_play_event_is_deferred_and_lands_on_the_bus() {
    let signer = InteractionSigner::default();
    let bus = Arc::new(InProcessBus::new());
    let handler = handler(&signer, bus.clone());
    let (metrics, sink) = metrics();
    // Non-ASCII in the query: the signature must hold over the decoded bytes.
    let body = slash_command(SlashCommand {
        options: vec![("query".into(), json!("https://example.com/café.mp3"))],
        ..Default::default()
    });
    let response =
        function_handler(&handler, &metrics, event(&signer, body.to_string().as_bytes(), true)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({"type": 5, "data": {"flags": 64}}));

    let delivered = bus.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0].message;
    let sample = SlashCommand::default();
    assert_eq!(message.guild_id, sample.guild_id.unwrap());
    assert_eq!(message.user_id, sample.user_id);
    assert_eq!(message.interaction_token.expose(), sample.token);
    assert_eq!(
        message.command,
        VoiceCommand::Play { query: "https://example.com/café.mp3".into(), placement: Placement::End }
    );

    // The record names the command, and nothing from the request itself.
    let line = sink.lines().concat();
    assert_eq!(only_record(&sink)["InteractionKind"], "/play");
    for leaked in
        [sample.token.as_str(), &sample.user_id.to_string(), "example.com", &sample.guild_id.unwrap().to_string()]
    {
        assert!(!line.contains(leaked), "metrics record leaks {leaked:?}");
    }
}
