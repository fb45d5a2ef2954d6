//! End to end, the gateway across task replacements and shard trouble:
//! `/health` names each shard's state; a graceful stop leaves the shards'
//! sessions in the store (closed with 4000, never 1000) and the next task
//! on the same store RESUMEs them instead of identifying, and the guild
//! plays on; a stale saved session is not tried; a start that would spend
//! Discord's last identifies is refused before any IDENTIFY.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{REPLY, hears, say};
use serde_json::Value;
use timmybot::sandbox::{GUILD_ID, Sandbox, SandboxOptions, VOICE_CHANNEL_ID, trust_sandbox_ca};
use timmybot_core::GatewaySessionStore;
use timmybot_test_support::audio::write_tone_wav;
use timmybot_test_support::runtime::runtime_with_logs;

/// How long the platform or a shard may take to get (back) up.
const UP: Duration = Duration::from_secs(20);

/// Runs `test` against a stopped sandbox (the platform not started) with a
/// 30 s 440 Hz `long.wav`; the test gets the data folder too.
fn with_stopped_sandbox<F, Fut>(options: impl FnOnce(SandboxOptions) -> SandboxOptions, test: F)
where
    F: FnOnce(Sandbox, std::path::PathBuf) -> Fut,
    Fut: std::future::Future<Output = Sandbox>,
{
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    write_tone_wav(media.path().join("long.wav"), 440.0, 30.0).unwrap();
    runtime_with_logs().block_on(async {
        let base = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()));
        let sandbox = Sandbox::start_stopped(&ca, options(base)).await.expect("sandbox starts");
        let sandbox = test(sandbox, data.path().to_path_buf()).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

/// `GET /health`: status and body.
async fn health(sandbox: &Sandbox) -> (u16, Value) {
    let response = reqwest::get(format!("http://{}/health", sandbox.addr())).await.expect("health answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("health is JSON"))
}

/// Polls `/health` until `done` accepts it; fails after [`UP`].
async fn wait_for_health(sandbox: &Sandbox, what: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + UP;
    loop {
        let (status, body) = health(sandbox).await;
        if done(status, &body) {
            return (status, body);
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: last /health was {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn shard_state(body: &Value, id: u32) -> Option<&str> {
    body["shards"].as_array()?.iter().find(|s| s["id"] == id)?["state"].as_str()
}

#[test]
fn health_names_the_shard_that_lost_its_connection_until_it_is_back() {
    with_stopped_sandbox(
        |options| SandboxOptions { shards: 2, ..options },
        |mut sandbox, _| async move {
            sandbox.start_platform().await.expect("platform starts");
            let (status, body) = health(&sandbox).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body["shards"],
                serde_json::json!([{"id": 0, "state": "ready"}, {"id": 1, "state": "ready"}]),
                "{body}"
            );
            assert_eq!(sandbox.discord.identify_count(), 2);

            // Shard 1 loses its socket and cannot get back in yet.
            sandbox.discord.hold_gateway(true);
            assert!(sandbox.discord.close_shard(1, 4000).await.expect("shard closed"));
            let (_, body) = wait_for_health(&sandbox, "shard 1 reported down", |status, body| {
                status == 503 && shard_state(body, 1) == Some("resuming")
            })
            .await;
            assert_eq!(shard_state(&body, 0), Some("ready"), "only shard 1 is down: {body}");
            assert_eq!(body["shards_ready"], 1, "{body}");

            sandbox.discord.hold_gateway(false);
            wait_for_health(&sandbox, "shard 1 back", |status, _| status == 200).await;
            assert_eq!(sandbox.discord.resume_count(), 1, "shard 1 resumed");
            assert_eq!(sandbox.discord.identify_count(), 2, "and did not identify again");
            sandbox
        },
    );
}

/// Plays `long.wav` and waits until it is heard.
async fn play_long(sandbox: &Sandbox) {
    let reply = say(sandbox, "/play long").await;
    assert!(reply.contains("long"), "{reply}");
    assert!(hears(sandbox, 440.0, REPLY).await, "the track plays");
}

#[test]
fn a_new_task_resumes_the_saved_sessions_instead_of_identifying_and_plays_on() {
    with_stopped_sandbox(
        |options| options,
        |mut sandbox, _| async move {
            sandbox.start_platform().await.expect("first task starts");
            play_long(&sandbox).await;
            sandbox.stop_platform().await.expect("first task stops");
            assert_eq!(sandbox.discord.sessions_ended(), 0, "the shard closed resumable (4000, not 1000)");
            assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), None, "the old task left voice");
            let heard_before = sandbox.voice.audio(GUILD_ID).len();

            sandbox.start_platform().await.expect("second task starts");
            assert_eq!(sandbox.discord.resume_count(), 1, "the second task resumed");
            assert_eq!(sandbox.discord.identify_count(), 1, "and never identified");
            // The stored player resumes in its channel, as after any restart.
            let deadline = tokio::time::Instant::now() + UP;
            while sandbox.voice.audio(GUILD_ID).len() <= heard_before + 48_000 {
                assert!(tokio::time::Instant::now() < deadline, "no audio after the resume");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(hears(&sandbox, 440.0, REPLY).await, "the track plays on");
            assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), Some(VOICE_CHANNEL_ID));
            // No GUILD_CREATE came on the resumed session: the member's
            // voice state came from the saved sessions.
            let reply = say(&sandbox, "/pause").await;
            assert!(reply.starts_with("Paused **long**"), "{reply}");
            sandbox
        },
    );
}

#[test]
fn a_stale_saved_session_is_not_tried_and_the_new_task_identifies() {
    with_stopped_sandbox(
        |options| options,
        |mut sandbox, data| async move {
            sandbox.start_platform().await.expect("first task starts");
            sandbox.stop_platform().await.expect("first task stops");
            age_saved_sessions(&data, Duration::from_secs(10 * 60)).await;

            sandbox.start_platform().await.expect("second task starts");
            assert_eq!(sandbox.discord.resume_count(), 0, "a stale session is not tried");
            assert_eq!(sandbox.discord.identify_count(), 2);
            sandbox
        },
    );
}

/// Moves the saved sessions' time `by` into the past, in the SQLite file.
async fn age_saved_sessions(data: &Path, by: Duration) {
    let store = timmybot_embedded::SqliteStore::open(data.join("timmybot.db")).expect("the store opens");
    let mut saved = store.take_sessions().await.unwrap().expect("the first task saved its sessions");
    saved.saved_at_ms -= by.as_millis() as u64;
    store.save_sessions(&saved).await.unwrap();
}

#[test]
fn a_start_that_would_spend_the_last_identifies_is_refused_before_any_identify() {
    with_stopped_sandbox(
        |options| options,
        |mut sandbox, _| async move {
            // The default reserve is max(2 × shards, 5 % of 1000) = 50.
            sandbox.discord.set_identifies_remaining(49);
            let error = sandbox.start_platform().await.expect_err("the start is refused");
            let message = format!("{error:#}");
            assert!(message.contains("identify budget exhausted"), "{message}");
            assert!(message.contains("49 more session starts of 1000"), "{message}");
            assert_eq!(sandbox.discord.identify_count(), 0, "no IDENTIFY was sent");

            // With the allowance back, the same store starts.
            sandbox.discord.set_identifies_remaining(1000);
            sandbox.start_platform().await.expect("the start goes through");
            assert_eq!(sandbox.discord.identify_count(), 1);
            sandbox
        },
    );
}
