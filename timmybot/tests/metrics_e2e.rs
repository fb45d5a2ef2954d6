//! End to end: the players' frame statistics while the whole platform plays
//! to the fake voice server, read two ways: `GET /metrics` over real HTTP
//! during play, and the gateway service's EMF records. The sandbox hands the
//! platform a `MemorySink` (`SandboxOptions::metrics`), which turns metrics
//! on and catches every record the gateway service would print to stdout.
//!
//! Records are written every 60 s and once more at shutdown, after the
//! players left their calls (see `timmybot_gateway::metrics`). The tests
//! take seconds, so they check that last record: it covers the whole play.
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
use timmybot_emf::MemorySink;
use timmybot_test_support::audio::write_tone_wav;
use timmybot_test_support::fake_apis::streams::{BURST, Station};

const TONE_HZ: f64 = 440.0;

/// Frames a player that keeps up sends per second of wall time.
const FRAMES_PER_SECOND: f64 = 50.0;

/// Seconds of the tone the fake voice server must hear (clean) before
/// `/metrics` is read.
const PLAY_SECS: f64 = 2.0;

/// How long the tone plays before `/metrics` is read.
const PLAY_BEFORE_READING: Duration = Duration::from_secs(4);

/// How often the players sample their tracks in these tests (production: 1 s).
const SAMPLE_INTERVAL: Duration = Duration::from_millis(250);

/// The share of the frames due that a healthy play must report as sent.
///
/// The source is a local WAV on disk and the voice server is on loopback,
/// so the mixer never waits for input and sends every frame; the meter's
/// counts lag the wall clock only by its sampling period (allowed for
/// separately). 80 % leaves a loaded two-core CI host scheduling stalls of
/// a few hundred milliseconds, and still fails a meter that reports zeros
/// or half the frames.
const MIN_SENT_SHARE: f64 = 0.8;

/// How old the `/metrics` counts may be: the players' sampling period and
/// a margin for the sampling pass itself.
const SAMPLE_LAG: Duration = Duration::from_millis(500);

/// The most 20 ms frames a healthy play may report behind or nulled.
///
/// A healthy run reports 0–2 frames (timing jitter below one frame floors
/// to 0). 50 frames is 1 s of audio not mixed, a third or more of the whole
/// play, which only a real fault produces (a starving mixer, or a meter
/// counting from before the track was playable or after it stopped), while
/// a loaded CI host's scheduling stalls of a few hundred milliseconds stay
/// well under it.
const MAX_FRAME_DEFICIT: f64 = 50.0;

/// The throttled station's speed: half of real time.
const SLOW_PERCENT: u64 = 50;

/// The value of metric `name` in every record, summed (each record covers
/// its own interval, so a sum covers the whole run).
fn total(records: &[Value], name: &str) -> f64 {
    records.iter().map(|r| r[name].as_f64().unwrap_or_else(|| panic!("{name} missing in {r}"))).sum()
}

/// `GET /metrics` of the sandbox's platform, over HTTP.
async fn get_metrics(sandbox: &Sandbox) -> Value {
    let url = format!("http://{}/metrics", sandbox.addr());
    let response = reqwest::get(&url).await.expect("GET /metrics");
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.expect("a JSON body")
}

/// The sandbox guild's entry in a `/metrics` body.
fn guild_entry(body: &Value) -> &Value {
    let players = body["players"].as_array().unwrap_or_else(|| panic!("no players list in {body}"));
    players
        .iter()
        .find(|p| p["guild_id"].as_str() == Some(GUILD_ID.to_string().as_str()))
        .unwrap_or_else(|| panic!("the playing guild is not listed: {body}"))
}

/// The sandbox's options with metrics caught in `sink` and the tests'
/// sampling period.
fn options(sink: &MemorySink, data: &std::path::Path, media: Option<&std::path::Path>) -> SandboxOptions {
    let mut options = SandboxOptions::embedded(data.to_path_buf(), media.map(std::path::Path::to_path_buf));
    options.metrics = Some(sink.clone());
    options.players.frame_sample_interval = SAMPLE_INTERVAL;
    options
}

fn count(counts: &Value, name: &str) -> f64 {
    counts[name].as_f64().unwrap_or_else(|| panic!("{name} missing in {counts}"))
}

#[test]
fn playing_a_tone_counts_every_frame_on_the_metrics_route_and_in_the_final_record() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    write_tone_wav(media.path().join("tone.wav"), TONE_HZ, 15.0).expect("tone written");
    runtime_with_logs().block_on(async {
        let sink = MemorySink::new();
        let sandbox = Sandbox::start(&ca, options(&sink, data.path(), Some(media.path()))).await.expect("starts");
        assert_eq!(get_metrics(&sandbox).await["players"], json!([]), "nothing played yet");

        let asked = Instant::now();
        let play = sandbox.send("/play ./tone.wav").await.expect("play sent");
        let reply =
            sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("the deferred reply was edited");
        assert!(reply.starts_with("Now playing"), "reply was {reply:?}");
        let playing_since = Instant::now();
        sandbox.hear_tone(PLAY_SECS, TONE_HZ).await.expect("the tone, clean");
        tokio::time::sleep(PLAY_BEFORE_READING.saturating_sub(playing_since.elapsed())).await;

        // During play, over HTTP: the guild's last minute is this play.
        let body = get_metrics(&sandbox).await;
        let (since_reply, since_asked) = (playing_since.elapsed(), asked.elapsed());
        let entry = guild_entry(&body);
        assert_eq!(body["frame_ms"], 20, "{body}");
        assert_eq!(entry["has_track"], true, "{body}");
        let minute = &entry["last_minute"];
        let (sent, nulled, deficit) = (count(minute, "sent"), count(minute, "nulled"), count(minute, "deficit"));
        let due_low = FRAMES_PER_SECOND * since_reply.saturating_sub(SAMPLE_LAG).as_secs_f64();
        let due_high = FRAMES_PER_SECOND * since_asked.as_secs_f64();
        assert!(
            sent >= MIN_SENT_SHARE * due_low,
            "{sent} frames sent, at least {due_low} due ({since_reply:?} since the reply): {body}"
        );
        assert!(sent <= due_high + 2.0, "{sent} frames sent in {since_asked:?}: more than real time: {body}");
        assert!(deficit + nulled < MAX_FRAME_DEFICIT, "{deficit} behind, {nulled} nulled: {body}");
        assert_eq!(entry["total"], entry["last_minute"], "less than a minute played: {body}");
        println!("GET /metrics after {since_reply:?} of play: {body}");

        // Still playing (15 s tone): shutdown leaves the call, then writes
        // the final record.
        let played_low = playing_since.elapsed();
        sandbox.shutdown().await.expect("clean shutdown");
        let played_high = asked.elapsed();

        let lines = sink.lines();
        let records = sink.records();
        assert!(!records.is_empty(), "no metrics record written at shutdown");
        // Normally exactly one (the run is far shorter than the interval).
        let last = records.last().unwrap();
        assert_eq!(last["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Timmybot", "{last}");
        assert_eq!(last["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Service"]]), "{last}");
        assert_eq!(last["Service"], "gateway", "{last}");
        let names =
            ["ActivePlayers", "FramesSent", "FramesNulled", "FrameDeficit", "CommandsProcessed", "CommandErrors"];
        for name in names {
            assert!(last[name].is_number(), "{name} missing in {last}");
        }
        // The final record is taken after the players left their calls
        // (so it holds the frames of the track that was still playing): no
        // player has a track any more.
        assert_eq!(last["ActivePlayers"], 0, "{last}");
        assert!(total(&records, "CommandsProcessed") >= 1.0, "{lines:?}");
        assert_eq!(total(&records, "CommandErrors"), 0.0, "{lines:?}");
        let sent = total(&records, "FramesSent");
        let due_low = FRAMES_PER_SECOND * played_low.as_secs_f64();
        let due_high = FRAMES_PER_SECOND * played_high.as_secs_f64();
        assert!(sent >= MIN_SENT_SHARE * due_low, "{sent} frames sent over {played_low:?} of play: {lines:?}");
        assert!(sent <= due_high + 2.0, "{sent} frames sent within {played_high:?}: {lines:?}");
        let deficit = total(&records, "FrameDeficit");
        let nulled = total(&records, "FramesNulled");
        assert!(deficit < MAX_FRAME_DEFICIT, "{deficit} frames behind over {played_low:?} of play: {lines:?}");
        assert!(nulled < MAX_FRAME_DEFICIT, "{nulled} frames nulled over {played_low:?} of play: {lines:?}");
        println!("metrics: {} record(s), {sent} sent, {nulled} nulled, {deficit} behind; final {last}", records.len());

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

/// A station whose server sends audio at half of real time, after its
/// 250 ms burst: songbird's reads wait for the bytes, so the mixer blocks
/// and the track's play time grows at half the wall clock. The meter must
/// show the other half as deficit, not as sent (and not as nulled: the
/// audio was ready, it just came slowly).
#[test]
fn a_source_at_half_speed_shows_half_the_frames_as_deficit() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        let sink = MemorySink::new();
        let sandbox = Sandbox::start(&ca, options(&sink, data.path(), None)).await.expect("sandbox starts");
        let streams = &sandbox.sources.as_ref().expect("the sandbox runs its fake sources").streams;
        streams.add_station("slow", Station::tone(TONE_HZ).speed_percent(SLOW_PERCENT));

        let asked = Instant::now();
        let play = sandbox.send(&format!("/play {}", streams.station_url("slow"))).await.expect("play sent");
        let reply =
            sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("the deferred reply was edited");
        assert!(reply.starts_with("Now playing"), "reply was {reply:?}");
        let playing_since = Instant::now();
        tokio::time::sleep(Duration::from_secs(8)).await;

        let body = get_metrics(&sandbox).await;
        let (since_reply, since_asked) = (playing_since.elapsed(), asked.elapsed());
        let entry = guild_entry(&body);
        let minute = &entry["last_minute"];
        let (sent, nulled, deficit) = (count(minute, "sent"), count(minute, "nulled"), count(minute, "deficit"));
        let speed = SLOW_PERCENT as f64 / 100.0;
        // The source delivered the burst and then `speed` of real time: no
        // more can have been mixed.
        let delivered = FRAMES_PER_SECOND * (BURST.as_secs_f64() + speed * since_asked.as_secs_f64());
        assert!(sent <= delivered + 2.0, "{sent} frames sent, the source delivered {delivered}: {body}");
        // The rest of the time the track was meant to play is deficit:
        // (1 - speed) of it, less the burst, less the counts' sampling lag.
        let measured = since_reply.saturating_sub(SAMPLE_LAG).as_secs_f64();
        let min_deficit = 0.8 * FRAMES_PER_SECOND * ((1.0 - speed) * measured - BURST.as_secs_f64());
        assert!(
            deficit >= min_deficit,
            "{deficit} frames behind after {since_reply:?} at {SLOW_PERCENT} %, at least {min_deficit}: {body}"
        );
        let share = deficit / (sent + deficit);
        assert!((0.3..=0.7).contains(&share), "deficit is {share:.2} of the frames due, about {speed}: {body}");
        assert!(nulled < 10.0, "a slow source is deficit, not nulled: {body}");
        println!("GET /metrics after {since_reply:?} at {SLOW_PERCENT} % speed: {body}");

        sandbox.shutdown().await.expect("clean shutdown");
        let records = sink.records();
        let recorded = total(&records, "FrameDeficit");
        assert!(recorded >= deficit, "the final record holds at least what /metrics showed: {recorded} < {deficit}");
    });
}
