//! End to end, a voice connection that breaks while a track plays: Discord
//! moves the call to another voice server, the voice WebSocket is dropped
//! or closed with 4015 (songbird resumes) or 4006 (songbird gives up and the
//! player rejoins by itself), and UDP stops answering during a rejoin. Each
//! time the track must go on from where it was, with the queue intact.
//!
//! The track is a staircase of one-second tones, so the step heard says
//! where in the track the audio is: after a break it must be the step heard
//! before (or later), never the start again. (A kick, 4014, stops the player
//! and keeps the queue: `player_e2e.rs` covers it.)

mod common;

use std::path::Path;
use std::time::Duration;

use common::say;
use timmybot::sandbox::{GUILD_ID, Sandbox, SandboxOptions, TEXT_CHANNEL_ID, trust_sandbox_ca};
use timmybot_test_support::audio::{SAMPLE_RATE, dominant_frequency, rms, write_steps_wav, write_tone_wav};
use timmybot_test_support::fake_voice::FakeVoiceServer;
use timmybot_test_support::runtime::runtime_with_logs;
use timmybot_test_support::test_ca::TestCa;

/// The steps track: one second at each of these, in order.
const STEPS: [f64; 24] = [
    300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 1100.0, 1200.0, 1300.0, 1400.0, 1500.0, 1600.0, 1700.0,
    1800.0, 1900.0, 2000.0, 2100.0, 2200.0, 2300.0, 2400.0, 2500.0, 2600.0,
];

/// Runs `test` against a sandbox whose media holds `steps.wav` and a short
/// `next.wav`; the test gets the CA too, to start a second voice server.
fn with_sandbox<F, Fut>(test: F)
where
    F: FnOnce(Sandbox, TestCa) -> Fut,
    Fut: std::future::Future<Output = Sandbox>,
{
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    write_media(media.path());
    runtime_with_logs().block_on(async {
        let options = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()));
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        let sandbox = test(sandbox, ca).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

fn write_media(dir: &Path) {
    let steps: Vec<(f64, f64)> = STEPS.iter().map(|hz| (*hz, 1.0)).collect();
    write_steps_wav(dir.join("steps.wav"), &steps).unwrap();
    write_tone_wav(dir.join("next.wav"), 250.0, 5.0).unwrap();
}

/// Which second of the steps track `server` hears now.
fn step_on(server: &FakeVoiceServer) -> Option<usize> {
    let audio = server.audio(GUILD_ID);
    let take = SAMPLE_RATE as usize / 4;
    let recent = audio.get(audio.len().checked_sub(take)?..)?;
    if rms(recent) <= 1e-3 {
        return None;
    }
    let found = dominant_frequency(recent, SAMPLE_RATE);
    STEPS.iter().position(|hz| (found - hz).abs() <= 30.0)
}

/// Waits until `server` hears a step, and returns the first it hears.
async fn next_step_on(server: &FakeVoiceServer, what: &str) -> usize {
    let mut step = None;
    let heard = server
        .wait_until(Duration::from_secs(20), |s| {
            step = step_on(s);
            step.is_some()
        })
        .await;
    assert!(heard, "{what}: no step of the track heard");
    step.expect("checked")
}

/// Waits until `server` hears step `at_least` or a later one.
async fn wait_step_on(server: &FakeVoiceServer, at_least: usize) -> usize {
    let mut step = None;
    let reached = server
        .wait_until(Duration::from_secs(20), |s| {
            step = step_on(s).filter(|step| *step >= at_least);
            step.is_some()
        })
        .await;
    assert!(reached, "the steps track never reached second {at_least}");
    step.expect("checked")
}

/// Packets `server` receives for the guild over `over`.
async fn packets_on(server: &FakeVoiceServer, over: Duration) -> u64 {
    let before = server.heard(GUILD_ID).packets;
    tokio::time::sleep(over).await;
    server.heard(GUILD_ID).packets - before
}

/// Asserts the track goes on after a break from `before` (the step heard
/// last): the first step heard again is that one or one of the next two
/// (a connection being replaced may still carry a second of audio to the
/// old address), so the track neither started over nor skipped what was
/// not heard, and it keeps advancing.
async fn assert_goes_on(server: &FakeVoiceServer, before: usize, what: &str) -> usize {
    let after = next_step_on(server, what).await;
    assert!((before..=before + 2).contains(&after), "{what}: step {before} before, step {after} after");
    wait_step_on(server, after + 1).await
}

/// The `/nowplaying` position, in whole seconds.
async fn position_secs(sandbox: &Sandbox) -> u64 {
    let now = sandbox.send("/nowplaying").await.unwrap();
    let text = now.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
    let clock = text.split('`').nth(1).unwrap_or_else(|| panic!("no position in {text}"));
    let position = clock.split(" / ").next().unwrap();
    let (minutes, seconds) = position.split_once(':').unwrap_or_else(|| panic!("{position}"));
    minutes.parse::<u64>().unwrap() * 60 + seconds.parse::<u64>().unwrap()
}

/// Asserts `/queue` still lists `next` as the one track waiting.
async fn assert_queue_intact(sandbox: &Sandbox) {
    let queue = sandbox.send("/queue").await.unwrap();
    let text = queue.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
    assert!(text.contains("`#1` **next**") && text.contains("1 track waiting"), "{text}");
}

async fn play_steps_then_queue_next(sandbox: &Sandbox) -> usize {
    assert!(say(sandbox, "/play steps.wav").await.starts_with("Now playing **steps**"));
    assert!(say(sandbox, "/play next.wav").await.starts_with("Queued **next**"));
    wait_step_on(&sandbox.voice, 1).await
}

#[test]
fn a_call_moved_to_another_server_dropped_or_closed_with_4015_goes_on_where_it_was() {
    with_sandbox(|sandbox, ca| async move {
        let second = FakeVoiceServer::start(&ca).await.expect("a second voice server");
        let before = play_steps_then_queue_next(&sandbox).await;

        // Discord moves the call: songbird connects to the new server with
        // the new token, and the old one hears nothing more.
        sandbox.discord.move_voice_server(GUILD_ID, &second.endpoint()).await.unwrap();
        let before = step_on(&sandbox.voice).unwrap_or(before);
        let at = assert_goes_on(&second, before, "on the new server").await;
        assert_eq!(second.sessions_opened(GUILD_ID), 1, "one identify on the new server");
        assert_eq!(packets_on(&sandbox.voice, Duration::from_millis(600)).await, 0, "the old server is left");
        assert!(second.session(GUILD_ID).is_some_and(|s| s.resumes == 0));

        // The voice WebSocket is dropped without a close frame: songbird
        // resumes the session (same ssrc, same UDP), the audio never stops.
        let ssrc = second.session(GUILD_ID).unwrap().ssrc;
        assert_eq!(second.drop_sessions(GUILD_ID), 1);
        let resumed = second
            .wait_until(Duration::from_secs(15), |s| {
                s.is_connected(GUILD_ID) && s.session(GUILD_ID).is_some_and(|s| s.resumes == 1)
            })
            .await;
        assert!(resumed, "no resume after the drop: {:?}", second.session(GUILD_ID));
        let at = assert_goes_on(&second, step_on(&second).unwrap_or(at), "after the drop").await;

        // 4015, the voice server crashed: songbird resumes again.
        assert_eq!(second.close_sessions(GUILD_ID, 4015).unwrap(), 1);
        let resumed = second
            .wait_until(Duration::from_secs(10), |s| {
                s.is_connected(GUILD_ID) && s.session(GUILD_ID).is_some_and(|s| s.resumes == 2)
            })
            .await;
        assert!(resumed, "no resume after 4015: {:?}", second.session(GUILD_ID));
        let at = assert_goes_on(&second, step_on(&second).unwrap_or(at), "after 4015").await;
        let session = second.session(GUILD_ID).unwrap();
        assert_eq!((session.ssrc, second.sessions_opened(GUILD_ID)), (ssrc, 3), "one session, resumed twice");

        // The player's clock went on with the audio, and the queue waits.
        let position = position_secs(&sandbox).await;
        assert!(position.abs_diff(at as u64) <= 2, "/nowplaying says {position} s, the audio is at step {at}");
        assert_queue_intact(&sandbox).await;
        sandbox
    });
}

#[test]
fn after_4006_the_player_rejoins_by_itself_even_when_udp_is_down_for_a_while() {
    with_sandbox(|sandbox, _| async move {
        let voice = &sandbox.voice;
        play_steps_then_queue_next(&sandbox).await;

        // 4006: songbird does not resume an invalid session and gives up on
        // the call; the player joins again through the gateway, which
        // hands out a fresh token, and the track goes on.
        let old = voice.session(GUILD_ID).unwrap();
        let before = step_on(voice).expect("a step before the close");
        assert_eq!(voice.close_sessions(GUILD_ID, 4006).unwrap(), 1);
        let rejoined = voice.wait_until(Duration::from_secs(15), |v| v.sessions_opened(GUILD_ID) >= 2).await;
        assert!(rejoined, "the player did not rejoin after 4006");
        let new = voice.session(GUILD_ID).unwrap();
        assert_ne!(new.token, old.token, "a fresh join, with the new token Discord handed out");
        assert_eq!(new.resumes, 0);
        let at = assert_goes_on(voice, before, "after the rejoin").await;
        assert_queue_intact(&sandbox).await;

        // Again, but UDP is down while the player rejoins: IP discovery goes
        // unanswered, songbird's attempt times out and it retries; once UDP
        // answers again, the rejoin completes.
        let before = step_on(voice).unwrap_or(at);
        voice.set_udp_answering(false);
        assert_eq!(voice.close_sessions(GUILD_ID, 4006).unwrap(), 1);
        let tried = voice.wait_until(Duration::from_secs(10), |v| v.udp_ignored() > 0).await;
        assert!(tried, "the player did not try to rejoin while UDP was down");
        tokio::time::sleep(Duration::from_secs(2)).await;
        voice.set_udp_answering(true);
        let at = assert_goes_on(voice, before, "after the rejoin through the UDP outage").await;
        assert!(voice.sessions_opened(GUILD_ID) >= 4, "a session for each connection attempt");
        // The audio stood still during the outage, and so did the clock.
        let position = position_secs(&sandbox).await;
        assert!(position.abs_diff(at as u64) <= 2, "/nowplaying says {position} s, the audio is at step {at}");
        assert_queue_intact(&sandbox).await;
        let messages = sandbox.discord.channel_messages(TEXT_CHANNEL_ID);
        assert!(
            messages.iter().all(|m| !m.content.contains("could not get back in")),
            "the member is told only when the player gives up"
        );
        sandbox
    });
}

#[test]
fn a_4017_close_tells_the_members_dave_is_required_and_keeps_the_queue() {
    with_sandbox(|sandbox, _| async move {
        let voice = &sandbox.voice;
        play_steps_then_queue_next(&sandbox).await;
        // 4017: the voice server requires DAVE end to end. Rejoining would
        // be closed the same way, so the player leaves, says why in its own
        // words (not the generic lost-connection notice), and keeps the queue.
        assert_eq!(voice.close_sessions(GUILD_ID, 4017).unwrap(), 1);
        let told = voice
            .wait_until(Duration::from_secs(10), |_| {
                sandbox.discord.channel_messages(TEXT_CHANNEL_ID).iter().any(|m| m.content.contains("(DAVE)"))
            })
            .await;
        let messages = sandbox.discord.channel_messages(TEXT_CHANNEL_ID);
        assert!(told, "no DAVE notice: {:?}", messages.iter().map(|m| &m.content).collect::<Vec<_>>());
        let notice = messages.iter().find(|m| m.content.contains("(DAVE)")).unwrap();
        assert!(notice.content.contains("The queue is kept"), "{}", notice.content);
        assert!(messages.iter().all(|m| !m.content.contains("could not get back in")));
        let left =
            voice.wait_until(Duration::from_secs(5), |_| sandbox.discord.bot_voice_channel(GUILD_ID).is_none()).await;
        assert!(left, "the bot left the channel");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(voice.sessions_opened(GUILD_ID), 1, "no rejoin after 4017");
        assert_eq!(packets_on(voice, Duration::from_millis(600)).await, 0, "nothing plays");
        let now = sandbox.send("/nowplaying").await.unwrap();
        let text = now.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
        assert!(text.starts_with("⏏ Left the channel with **steps**"), "{text}");
        assert_queue_intact(&sandbox).await;
        sandbox
    });
}
