//! End to end: the gateway service's EMF metrics while the whole platform
//! plays a tone to the fake voice server. The sandbox hands the platform a
//! `MemorySink` (`SandboxOptions::metrics`), which turns metrics on and
//! catches every record the gateway service would print to stdout.
//!
//! Records are written every 60 s and once more at shutdown, after the
//! players left their calls (see `timmybot_gateway::metrics`). The test takes
//! seconds, so it checks that last record: it covers the whole play.
//!
//! Like `e2e.rs`, each test is a plain `#[test]` that sets process-wide
//! settings (the test CA) before it starts a runtime; the test command runs
//! each test in its own process (cargo-nextest).

use std::time::{Duration, Instant};
use timmybot_test_support::runtime::runtime_with_logs;

use serde_json::{Value, json};
use timmybot::sandbox::{
    GUILD_ID, MEMBER_ID, SANDBOX_TOKEN, Sandbox, SandboxOptions, TEXT_CHANNEL_ID, VOICE_CHANNEL_ID, trust_sandbox_ca,
};
use timmybot_core::emf::MemorySink;
use timmybot_test_support::audio::write_tone_wav;

const TONE_HZ: f64 = 440.0;

/// Seconds of the tone the fake voice server must hear before shutdown.
const PLAY_SECS: f64 = 2.0;

/// The most 20 ms frames the final record may report behind for the play.
///
/// The meter counts from the moment the track became playable to the moment
/// shutdown stopped it, here about 2–3 s of wall time. The source is a local
/// WAV on disk and the voice server is on loopback, so the mixer never waits
/// for input: a healthy run reports 0–2 frames (timing jitter below one
/// frame floors to 0). 50 frames is 1 s of audio not mixed, a third or more
/// of the whole play, which only a real fault produces (a starving mixer, or
/// a meter measuring from before the track was playable or after it
/// stopped), while a loaded two-core CI host's scheduling stalls of a few
/// hundred milliseconds stay well under it.
const MAX_FRAME_DEFICIT: f64 = 50.0;

/// The value of metric `name` in every record, summed (each record covers
/// its own interval, so a sum covers the whole run).
fn total(records: &[Value], name: &str) -> f64 {
    records.iter().map(|r| r[name].as_f64().unwrap_or_else(|| panic!("{name} missing in {r}"))).sum()
}

#[test]
fn playing_a_tone_shows_in_the_final_gateway_metrics_record() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    write_tone_wav(media.path().join("tone.wav"), TONE_HZ, 5.0).expect("tone written");
    runtime_with_logs().block_on(async {
        let sink = MemorySink::new();
        let options = SandboxOptions {
            metrics: Some(sink.clone()),
            ..SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()))
        };
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");

        let play = sandbox.send("/play ./tone.wav").await.expect("play sent");
        let reply =
            sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("the deferred reply was edited");
        assert!(reply.starts_with("Now playing"), "reply was {reply:?}");
        let playing_since = Instant::now();
        sandbox.hear_tone(PLAY_SECS, TONE_HZ).await.expect("the tone, clean");

        // Still playing (5 s tone): shutdown leaves the call, then writes the
        // final record.
        sandbox.shutdown().await.expect("clean shutdown");
        let played = playing_since.elapsed();

        let lines = sink.lines();
        let records = sink.records();
        assert!(!records.is_empty(), "no metrics record written at shutdown");
        // Normally exactly one (the run is far shorter than the interval).
        let last = records.last().unwrap();
        assert_eq!(last["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Timmybot", "{last}");
        assert_eq!(last["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Service"]]), "{last}");
        assert_eq!(last["Service"], "gateway", "{last}");
        for name in ["ActivePlayers", "FrameDeficit", "CommandsProcessed", "CommandErrors"] {
            assert!(last[name].is_number(), "{name} missing in {last}");
        }
        // The final record is taken after the players left their calls
        // (so it holds the deficit of the track that was still playing): no
        // player has a track any more.
        assert_eq!(last["ActivePlayers"], 0, "{last}");
        assert!(total(&records, "CommandsProcessed") >= 1.0, "{lines:?}");
        assert_eq!(total(&records, "CommandErrors"), 0.0, "{lines:?}");
        let deficit = total(&records, "FrameDeficit");
        assert!(deficit < MAX_FRAME_DEFICIT, "{deficit} frames behind over {played:?} of play: {lines:?}");
        println!("metrics: {} record(s), frame deficit {deficit} over {played:?}; final {last}", records.len());

        // Nothing identifying or secret: no token, no Discord id, no link or path.
        let media_path = media.path().display().to_string();
        let ids = [GUILD_ID, VOICE_CHANNEL_ID, TEXT_CHANNEL_ID, MEMBER_ID].map(|id| id.to_string());
        for line in &lines {
            assert!(!line.contains(SANDBOX_TOKEN), "token in {line}");
            for id in &ids {
                assert!(!line.contains(id.as_str()), "id {id} in {line}");
            }
            for leak in ["://", "http", "tone", media_path.as_str()] {
                assert!(!line.contains(leak), "{leak} in {line}");
            }
        }
    });
}
