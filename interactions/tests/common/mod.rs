//! Shared harness for the handler's integration tests: a recording command
//! bus and a handler configured with the test signer's key.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use timmybot_core::{ApplicationId, BusDelivery, BusError, BusErrorKind, BusMessage, CommandBus, ManualClock};
use timmybot_interactions::{HttpReply, InteractionHandler, PublicKey};
use timmybot_test_support::signer::{InteractionSigner, SAMPLE_APPLICATION_ID, SlashCommand, slash_command};

/// The handler's clock, in Unix seconds.
pub const NOW: u64 = 1_767_225_600;
/// The token [`SlashCommand::default`] carries.
pub const TOKEN: &str = "sample-interaction-token";

/// Records what is published; fails every publish when `failing`.
#[derive(Default)]
pub struct RecordingBus {
    pub published: Mutex<Vec<BusMessage>>,
    pub failing: bool,
}

impl RecordingBus {
    /// A bus whose every publish fails as an unreachable queue would.
    pub fn failing() -> Self {
        Self { failing: true, ..Self::default() }
    }
}

#[async_trait]
impl CommandBus for RecordingBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        if self.failing {
            return Err(BusError::with_source(BusErrorKind::Unavailable, io::Error::other("queue unreachable")));
        }
        self.published.lock().unwrap().push(message.clone());
        Ok(())
    }

    async fn receive(&self, _max: usize, _wait: Duration) -> Result<Vec<BusDelivery>, BusError> {
        Ok(Vec::new())
    }

    async fn ack(&self, _delivery: &BusDelivery) -> Result<(), BusError> {
        Ok(())
    }

    async fn outstanding(&self) -> Result<u64, BusError> {
        Ok(self.published.lock().unwrap().len() as u64)
    }

    fn visibility_timeout(&self) -> Duration {
        Duration::from_secs(30)
    }

    async fn extend(&self, _delivery: &BusDelivery, _timeout: Duration) -> Result<(), BusError> {
        Ok(())
    }

    async fn release(&self, _delivery: &BusDelivery) -> Result<(), BusError> {
        Ok(())
    }
}

/// A handler wired to a [`RecordingBus`], the default signer's key and a
/// clock stopped at [`NOW`].
pub struct Harness {
    pub signer: InteractionSigner,
    pub bus: Arc<RecordingBus>,
    pub handler: InteractionHandler,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_bus(RecordingBus::default())
    }

    pub fn with_bus(bus: RecordingBus) -> Self {
        let signer = InteractionSigner::default();
        let bus = Arc::new(bus);
        let handler = InteractionHandler::new(
            bus.clone(),
            Arc::new(ManualClock::at(NOW)),
            PublicKey::from_hex(&signer.public_key_hex()).unwrap(),
            ApplicationId::new(SAMPLE_APPLICATION_ID).unwrap(),
        );
        Self { signer, bus, handler }
    }

    /// Posts `body` signed at `signed_at`.
    pub async fn post_signed_at(&self, body: &[u8], signed_at: u64) -> HttpReply {
        let headers = header_map(self.signer.signed_headers(body, signed_at));
        self.handler.handle_http(&headers, body).await
    }

    /// Posts `interaction` signed now.
    pub async fn post(&self, interaction: &Value) -> HttpReply {
        self.post_signed_at(interaction.to_string().as_bytes(), NOW).await
    }

    /// Everything published so far.
    pub fn published(&self) -> Vec<BusMessage> {
        self.bus.published.lock().unwrap().clone()
    }
}

pub fn header_map(pairs: Vec<(String, String)>) -> HeaderMap {
    pairs.into_iter().map(|(k, v)| (HeaderName::try_from(k).unwrap(), HeaderValue::try_from(v).unwrap())).collect()
}

pub fn json_of(reply: &HttpReply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

/// `/play query:<query>` in the sample guild.
pub fn play(query: &str) -> Value {
    slash_command(SlashCommand {
        name: "play".into(),
        options: vec![("query".into(), json!(query))],
        ..Default::default()
    })
}

/// `/<name>` with no options in the sample guild.
pub fn command(name: &str) -> Value {
    slash_command(SlashCommand { name: name.into(), ..Default::default() })
}

/// Asserts a 200 carrying an ephemeral message that mentions `words`.
pub fn assert_ephemeral(reply: &HttpReply, words: &str) {
    assert_eq!(reply.status, 200);
    let body = json_of(reply);
    assert_eq!(body["type"], 4, "{body}");
    assert_eq!(body["data"]["flags"], 64, "{body}");
    let content = body["data"]["content"].as_str().unwrap();
    assert!(content.contains(words), "{content:?} should mention {words:?}");
}
