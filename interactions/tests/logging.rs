//! What the handler logs: the interaction's ids and route, never its token
//! or body.
//!
//! Alone in its own test binary: a thread-local subscriber (set_default)
//! races tracing's callsite-interest cache when other tests log on other
//! threads at the same time, which made this check flaky in a shared binary.

mod common;

use timmybot_test_support::logs::CapturedLogs;
use timmybot_test_support::signer::SlashCommand;

use common::{Harness, NOW, RecordingBus, TOKEN, command, play};

#[tokio::test(flavor = "current_thread")]
async fn logs_name_the_interaction_but_never_the_token_or_body() {
    let (captured, _guard) = CapturedLogs::install(tracing::Level::TRACE);

    let query = "https://example.com/very-distinctive-query.mp3";
    let ok = Harness::new();
    ok.post(&play(query)).await;
    ok.post(&command("dance")).await;
    ok.post_signed_at(format!("{{\"token\": \"{TOKEN}\", \"type\": ").as_bytes(), NOW).await;
    ok.post_signed_at(play(query).to_string().as_bytes(), NOW - 3600).await;
    let failing = Harness::with_bus(RecordingBus::failing());
    failing.post(&play(query)).await;

    let logs = captured.text();
    let sample = SlashCommand::default();
    assert!(logs.contains(&format!("interaction_id={}", sample.id)), "{logs}");
    assert!(logs.contains(&format!("guild_id={}", sample.guild_id.unwrap())), "{logs}");
    assert!(logs.contains("route=\"/play\""), "{logs}");
    assert!(logs.contains("player") || logs.contains("command bus"), "{logs}");
    assert!(!logs.contains(TOKEN), "token leaked into logs:\n{logs}");
    assert!(!logs.contains(query), "body leaked into logs:\n{logs}");

    // Debug of the things a handler might log hides the token too.
    let interaction: timmybot_interactions::Interaction = serde_json::from_value(play(query)).unwrap();
    assert!(!format!("{interaction:?}").contains(TOKEN));
    assert!(!format!("{:?}", ok.published()).contains(TOKEN));
    assert!(!format!("{:?}", ok.handler).contains(TOKEN));
}
