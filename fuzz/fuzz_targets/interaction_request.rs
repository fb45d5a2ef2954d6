//! Headers and body into the interactions handler's HTTP path: size check,
//! signature verification, parsing and dispatch, with a fixed key, an
//! in-process bus and a stopped clock.
//!
//! Input layout: the first byte picks the mode.
//! - bit 0 clear (forged): the rest is `signature \n timestamp \n body`;
//!   bits 1 and 2 say whether each header is sent. Nothing the fuzzer writes
//!   can carry our key's signature, so the answer must be 401 or 413.
//! - bit 0 set (signed): the rest is the body, signed with the fixed key at
//!   the clock's time (bit 1 moves the timestamp to the edge of the window),
//!   so the fuzzer explores parsing and dispatch. Any status but 401.
//!
//! In every mode the reply must be JSON with an allowed status.
#![no_main]

use std::sync::{Arc, OnceLock};

use ed25519_dalek::{Signer, SigningKey};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use timmybot_core::{ApplicationId, ManualClock};
use timmybot_embedded::InProcessBus;
use timmybot_interactions::verify::{MAX_CLOCK_SKEW_SECS, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use timmybot_interactions::{HttpReply, InteractionHandler, MAX_BODY_BYTES, PublicKey};

const NOW: u64 = 1_767_225_600;
/// The application id the seeds use.
const APPLICATION_ID: u64 = 1_100_000_000_000_000_001;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    signing: SigningKey,
    key: PublicKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let signing = SigningKey::from_bytes(&[42; 32]);
        let key = PublicKey::from_hex(&hex::encode(signing.verifying_key().as_bytes())).expect("fixed key is valid");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        Fixture { runtime, signing, key }
    })
}

fn handle(headers: &HeaderMap, body: &[u8]) -> HttpReply {
    let f = fixture();
    // A fresh bus per input, so published commands do not pile up over a run.
    let handler = InteractionHandler::new(
        Arc::new(InProcessBus::new()),
        Arc::new(ManualClock::at(NOW)),
        f.key.clone(),
        ApplicationId::new(APPLICATION_ID).expect("non-zero"),
    );
    f.runtime.block_on(handler.handle_http(headers, body))
}

fn check_reply(reply: &HttpReply) {
    assert!(matches!(reply.status, 200 | 400 | 401 | 413), "status {}", reply.status);
    let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("reply is json");
    if reply.status == 200 {
        assert!(matches!(body["type"].as_u64(), Some(1 | 4 | 5)), "{body}");
    } else {
        assert!(body["error"].is_string(), "{body}");
    }
}

fn forged(flags: u8, rest: &[u8]) {
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let signature = parts.next().unwrap_or_default();
    let timestamp = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    if flags & 2 != 0
        && let Ok(value) = HeaderValue::from_bytes(signature)
    {
        headers.insert(SIGNATURE_HEADER, value);
    }
    if flags & 4 != 0
        && let Ok(value) = HeaderValue::from_bytes(timestamp)
    {
        headers.insert(TIMESTAMP_HEADER, value);
    }
    let reply = handle(&headers, body);
    check_reply(&reply);
    let expected = if body.len() > MAX_BODY_BYTES { 413 } else { 401 };
    assert_eq!(reply.status, expected);
}

fn signed(flags: u8, body: &[u8]) {
    let at = if flags & 2 != 0 { NOW - MAX_CLOCK_SKEW_SECS } else { NOW };
    let timestamp = at.to_string();
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    let signature = hex::encode(fixture().signing.sign(&message).to_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature).expect("hex"));
    headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(&timestamp).expect("digits"));
    let reply = handle(&headers, body);
    check_reply(&reply);
    assert_ne!(reply.status, 401, "a body signed with our key was refused");
    if body.len() > MAX_BODY_BYTES {
        assert_eq!(reply.status, 413);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    if flags & 1 == 0 { forged(flags, rest) } else { signed(flags, rest) }
});
