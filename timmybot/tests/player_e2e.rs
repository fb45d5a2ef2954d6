//! End to end, the music player as members use it: every command, the
//! controller's buttons and settings against the fake Discord, with tones
//! of different frequencies so that what was heard, and in which order, is
//! checked on the fake voice server's decoded audio.
//!
//! Each test is a plain `#[test]` in its own process (cargo-nextest), as in
//! `e2e.rs`: the test CA is trusted through a process-wide variable.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use timmybot::sandbox::{
    ANNOUNCE_CHANNEL_ID, GUILD_ID, LISTENER_IDS, MEMBER_ID, OTHER_MEMBER_ID, OTHER_VOICE_CHANNEL_ID, Route, Sandbox,
    SandboxOptions, SentCommand, TEXT_CHANNEL_ID, VOICE_CHANNEL_ID, trust_sandbox_ca,
};
use timmybot_core::player::{messages::controls, shuffle_seeded};
use timmybot_core::{GuildId, GuildSettings, SettingsStore};
use timmybot_test_support::audio::{SAMPLE_RATE, dominant_frequency, write_steps_wav, write_tone_wav};
use timmybot_test_support::runtime::runtime_with_logs;

/// The tones the short tracks play, by file name.
const TONES: [(&str, f64); 4] = [("a", 300.0), ("b", 500.0), ("c", 700.0), ("d", 900.0)];
/// The seed the sandbox's players shuffle with.
const SEED: u64 = 7;
/// Within this, a measured frequency is the tone.
const HZ_TOLERANCE: f64 = 12.0;
/// How long a reply may take.
const REPLY: Duration = Duration::from_secs(20);
/// The steps track: one second at each of these, in order.
const STEPS: [f64; 12] = [300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 1100.0, 1200.0, 1300.0, 1400.0];

fn hz_of(name: &str) -> f64 {
    TONES.iter().find(|(n, _)| *n == name).map(|(_, hz)| *hz).expect("a known tone")
}

/// Writes the test media: the four short tones of `secs` seconds, a long
/// 440 Hz tone, the steps track, and a tone whose file name is a mention.
fn write_media(dir: &Path, secs: f64) {
    for (name, hz) in TONES {
        write_tone_wav(dir.join(format!("{name}.wav")), hz, secs).unwrap();
    }
    write_tone_wav(dir.join("long.wav"), 440.0, 30.0).unwrap();
    let steps: Vec<(f64, f64)> = STEPS.iter().map(|hz| (*hz, 1.0)).collect();
    write_steps_wav(dir.join("steps.wav"), &steps).unwrap();
    write_tone_wav(dir.join("@everyone <@123>.wav"), 300.0, 20.0).unwrap();
}

/// Runs `test` against a sandbox on SQLite whose media holds the test
/// tracks (`secs` long), with the players shuffling with [`SEED`].
fn with_sandbox<F, Fut>(secs: f64, options: impl FnOnce(SandboxOptions) -> SandboxOptions, test: F)
where
    F: FnOnce(Sandbox, std::path::PathBuf) -> Fut,
    Fut: std::future::Future<Output = Sandbox>,
{
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    write_media(media.path(), secs);
    runtime_with_logs().block_on(async {
        let mut base = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()));
        base.players.shuffle_seed = Some(SEED);
        let sandbox = Sandbox::start(&ca, options(base)).await.expect("sandbox starts");
        let sandbox = test(sandbox, data.path().to_path_buf()).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

/// Sends `line` as `user` and returns the reply the member sees.
async fn say_as(sandbox: &Sandbox, user: u64, line: &str) -> String {
    let sent = sandbox.send_as(user, line, Route::Http).await.expect("sent");
    reply_of(sandbox, &sent).await
}

async fn say(sandbox: &Sandbox, line: &str) -> String {
    say_as(sandbox, MEMBER_ID, line).await
}

async fn reply_of(sandbox: &Sandbox, sent: &SentCommand) -> String {
    assert_eq!(sent.status, 200, "{}", sent.line);
    sandbox.wait_for_reply(sent, REPLY).await.unwrap_or_else(|| panic!("no reply to {}", sent.line))
}

/// Asserts `sent` was answered only to the member who sent it.
fn assert_ephemeral(sent: &SentCommand) {
    let response = sent.response.as_ref().expect("a response");
    assert!(matches!(response["type"].as_u64(), Some(4 | 5)), "unexpected response {response}");
    assert_eq!(response["data"]["flags"].as_u64(), Some(64), "{} answered for everyone: {response}", sent.line);
}

/// The dominant frequency of the last `secs` of decoded audio.
fn recent_hz(sandbox: &Sandbox, secs: f64) -> Option<f64> {
    let audio = sandbox.voice.audio(GUILD_ID);
    let take = (secs * f64::from(SAMPLE_RATE)) as usize;
    if audio.len() < take {
        return None;
    }
    let recent = &audio[audio.len() - take..];
    (timmybot_test_support::audio::rms(recent) > 1e-3).then(|| dominant_frequency(recent, SAMPLE_RATE))
}

/// Waits until the channel's last half second is the tone `hz`.
async fn hears(sandbox: &Sandbox, hz: f64, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if recent_hz(sandbox, 0.5).is_some_and(|found| (found - hz).abs() <= HZ_TOLERANCE) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn assert_hears(sandbox: &Sandbox, hz: f64, what: &str) {
    assert!(
        hears(sandbox, hz, Duration::from_secs(15)).await,
        "did not hear {what} ({hz} Hz); last: {:?}",
        recent_hz(sandbox, 0.5)
    );
}

/// The tones heard from now on, each once in order, until `count` were
/// heard (or 40 s pass).
async fn heard_in_order(sandbox: &Sandbox, count: usize) -> Vec<&'static str> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut order: Vec<&'static str> = Vec::new();
    while order.len() < count && tokio::time::Instant::now() < deadline {
        if let Some(found) = recent_hz(sandbox, 0.3)
            && let Some((name, _)) = TONES.iter().find(|(_, hz)| (found - hz).abs() <= HZ_TOLERANCE)
            && order.last() != Some(name)
        {
            order.push(name);
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    order
}

/// Which second of the steps track is playing now.
fn step_now(sandbox: &Sandbox) -> Option<usize> {
    let found = recent_hz(sandbox, 0.25)?;
    STEPS.iter().position(|hz| (found - hz).abs() <= 30.0)
}

async fn wait_step(sandbox: &Sandbox, at_least: usize) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(step) = step_now(sandbox).filter(|s| *s >= at_least) {
            return step;
        }
        assert!(tokio::time::Instant::now() < deadline, "the steps track never reached second {at_least}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// Packets arriving now, over `over`.
async fn packets_during(sandbox: &Sandbox, over: Duration) -> u64 {
    let before = sandbox.heard().packets;
    tokio::time::sleep(over).await;
    sandbox.heard().packets - before
}

/// The guild's settings, changed by `change`, stored as `/settings` would.
async fn set_settings(data: &Path, change: impl FnOnce(&mut GuildSettings)) {
    let store = timmybot_embedded::SqliteStore::open(data.join("timmybot.db")).unwrap();
    let guild = GuildId::new(GUILD_ID).unwrap();
    let mut settings = store.load_settings(guild).await.unwrap().unwrap_or_else(|| GuildSettings::defaults(guild));
    change(&mut settings);
    store.save_settings(&settings).await.unwrap();
}

#[test]
fn a_second_track_queues_and_skip_plays_it_with_views_and_no_mentions() {
    with_sandbox(
        6.0,
        |o| o,
        |sandbox, _| async move {
            let reply = say(&sandbox, "/play @everyone <@123>.wav").await;
            assert!(reply.starts_with("Now playing **\\@everyone \\<\\@123\\>**"), "{reply}");
            assert_hears(&sandbox, 300.0, "the first track").await;
            let queued = sandbox.send("/play b.wav").await.unwrap();
            assert_ephemeral(&queued);
            assert!(reply_of(&sandbox, &queued).await.starts_with("Queued **b** (0:06)"));
            let reply = say(&sandbox, "/play c.wav").await;
            assert!(reply.contains("at #2"), "{reply}");

            // The views come straight from the store, for everyone to see.
            let queue = sandbox.send("/queue").await.unwrap();
            let response = queue.response.clone().unwrap();
            assert_eq!(response["type"], 4);
            assert!(response["data"].get("flags").is_none(), "the queue is public");
            let text = response["data"]["content"].as_str().unwrap();
            assert!(text.contains("`#1` **b** (0:06)") && text.contains("`#2` **c**"), "{text}");
            assert!(text.contains("2 tracks waiting · total 0:12"), "{text}");
            let now = sandbox.send("/nowplaying").await.unwrap();
            let text = now.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
            assert!(
                text.contains("▶ Now playing **\\@everyone \\<\\@123\\>**") && text.contains("Next: **b**"),
                "{text}"
            );

            let reply = say(&sandbox, "/skip").await;
            assert!(reply.contains("now playing **b**"), "{reply}");
            assert_hears(&sandbox, 500.0, "b after the skip").await;

            // The controller shows the new track: edited, not posted again.
            let controller =
                sandbox.wait_for_controller(REPLY, |c| c.content.contains("**b**")).await.expect("controller shows b");
            let controllers: Vec<_> = sandbox
                .discord
                .channel_messages(TEXT_CHANNEL_ID)
                .into_iter()
                .filter(|m| m.body["components"].as_array().is_some_and(|r| !r.is_empty()))
                .collect();
            assert_eq!(controllers.len(), 1, "one controller, edited in place");
            assert!(controller.content.contains("Requested by <@800000000000000004>"));

            // Nothing the bot sent or edited could ping: every request said so.
            let calls = sandbox.discord.rest_calls();
            let message_calls: Vec<_> = calls
                .iter()
                .filter(|c| c.method != "GET" && (c.path.contains("/messages") || c.path.contains("/callback")))
                .filter(|c| c.body.as_ref().is_some_and(|b| b.get("content").is_some() || b.get("data").is_some()))
                .collect();
            assert!(message_calls.len() >= 4, "{message_calls:?}");
            for call in message_calls {
                let body = call.body.as_ref().unwrap();
                let mentions = body.get("allowed_mentions").or_else(|| body["data"].get("allowed_mentions"));
                if body.get("type").is_some_and(|t| t == 5) {
                    continue; // a bare "thinking…" carries no text
                }
                assert_eq!(mentions, Some(&serde_json::json!({"parse": []})), "{} {}: {body}", call.method, call.path);
                let text =
                    body.get("content").or_else(|| body["data"].get("content")).and_then(Value::as_str).unwrap_or("");
                assert!(!text.contains("<@123>"), "an unescaped mention went out: {text}");
            }
            sandbox
        },
    );
}

#[test]
fn previous_skipto_move_shuffle_and_loop_are_heard_in_order() {
    with_sandbox(
        3.0,
        |o| o,
        |sandbox, _| async move {
            for name in ["a", "b", "c", "d"] {
                say(&sandbox, &format!("/play {name}.wav")).await;
            }
            assert_hears(&sandbox, hz_of("a"), "a").await;
            // skipto 2 passes b and plays c; previous brings back what was passed.
            assert!(say(&sandbox, "/skipto 2").await.starts_with("Skipped 1 track ahead to **c**"));
            assert_hears(&sandbox, hz_of("c"), "c after /skipto 2").await;
            assert!(say(&sandbox, "/previous").await.starts_with("Back to **b**"));
            assert_hears(&sandbox, hz_of("b"), "b after /previous").await;
            // The queue is c, d: /move 2 1 makes it d, c.
            assert!(say(&sandbox, "/move 2 1").await.starts_with("Moved **d** from #2 to #1"));
            say(&sandbox, "/skip").await;
            assert_hears(&sandbox, hz_of("d"), "d after /move and /skip").await;
            // d plays; queue c a b, shuffled with the sandbox's seed.
            say(&sandbox, "/play a.wav").await;
            say(&sandbox, "/play b.wav").await;
            assert_eq!(say(&sandbox, "/shuffle").await, "Shuffled 3 tracks.");
            let mut expected = vec!["c", "a", "b"];
            shuffle_seeded(&mut expected, SEED);
            // Loop the queue, then skip d: d goes to the back and the queue cycles.
            assert_eq!(say(&sandbox, "/loop queue").await, "Looping the whole queue.");
            say(&sandbox, "/skip").await;
            // Let the skip reach the audio before listening.
            tokio::time::sleep(Duration::from_millis(400)).await;
            let heard = heard_in_order(&sandbox, 5).await;
            let mut cycle = expected.clone();
            cycle.push("d");
            cycle.push(expected[0]);
            assert_eq!(heard, cycle, "shuffled order then the loop back to the start");
            sandbox
        },
    );
}

#[test]
fn seek_pause_and_resume_move_through_the_track_as_asked() {
    with_sandbox(
        3.0,
        |o| o,
        |sandbox, _| async move {
            say(&sandbox, "/play steps.wav").await;
            // A relative seek counts from where the track is heard.
            let at = wait_step(&sandbox, 2).await;
            let reply = say(&sandbox, "/seek +2").await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            let landed = step_now(&sandbox).expect("audio after +2");
            assert!((at + 2..=at + 3).contains(&landed), "+2 from second {at} heard at second {landed} ({reply})");
            assert!(say(&sandbox, "/seek 6").await.starts_with("Jumped to 0:06"));
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(step_now(&sandbox), Some(6), "a seek to 0:06 is heard at the seventh tone");
            say(&sandbox, "/seek +3").await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            let forward = step_now(&sandbox).expect("audio after +3");
            assert!((9..=10).contains(&forward), "+3 from 0:06 lands at 0:09, heard second {forward}");
            say(&sandbox, "/seek -5").await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            let back = step_now(&sandbox).expect("audio after -5");
            assert!((4..=5).contains(&back), "-5 lands around 0:04, heard second {back}");

            // Past the end: refused, only to the member, and the music goes on.
            let past = sandbox.send("/seek 99").await.unwrap();
            assert_ephemeral(&past);
            assert_eq!(reply_of(&sandbox, &past).await, "That is past the end: the track is 0:12 long.");

            let paused_at = step_now(&sandbox).expect("audio before pause");
            assert!(say(&sandbox, "/pause").await.starts_with("Paused **steps**"));
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(packets_during(&sandbox, Duration::from_secs(2)).await <= 5, "audio stops while paused");
            assert_eq!(say(&sandbox, "/pause").await, "Already paused; `/resume` to continue.");
            assert!(say(&sandbox, "/resume").await.starts_with("Resumed **steps**"));
            tokio::time::sleep(Duration::from_millis(400)).await;
            let resumed_at = step_now(&sandbox).expect("audio after resume");
            assert!(
                resumed_at == paused_at || resumed_at == paused_at + 1,
                "resume continues where it was (second {paused_at}), heard second {resumed_at}"
            );
            sandbox
        },
    );
}

#[test]
fn volume_zero_is_silence_and_two_hundred_is_louder() {
    with_sandbox(
        3.0,
        |mut o| {
            // A fast refresh, to see the progress bar move on its own.
            o.players.controller_refresh = Duration::from_secs(1);
            o
        },
        |sandbox, _| async move {
            let moved = say(&sandbox, &format!("/settings announce_channel:{ANNOUNCE_CHANNEL_ID}")).await;
            assert!(moved.contains(&format!("Now-playing message: <#{ANNOUNCE_CHANNEL_ID}>")), "{moved}");
            say(&sandbox, "/play long.wav").await;
            assert_hears(&sandbox, 440.0, "the long tone").await;
            // The controller goes to the announce channel, and nothing is
            // posted where /play was used.
            let announced = || sandbox.discord.channel_messages(ANNOUNCE_CHANNEL_ID);
            sandbox
                .discord
                .wait_for_message(|m| m.channel_id == ANNOUNCE_CHANNEL_ID && m.content.contains("**long**"), REPLY)
                .await
                .expect("the controller in the announce channel");
            assert_eq!(announced().len(), 1, "one controller in the announce channel");
            assert!(sandbox.discord.channel_messages(TEXT_CHANNEL_ID).is_empty());
            // With nothing else happening, it is refreshed as the track plays
            // (every second here; every 15 s by default) and never reposted.
            let before = announced()[0].content.clone();
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let after = announced()[0].content.clone();
            assert_ne!(before, after, "the progress moved: {after}");
            let edits = sandbox
                .discord
                .rest_calls()
                .iter()
                .filter(|c| c.method == "PATCH" && c.path.contains(&format!("/channels/{ANNOUNCE_CHANNEL_ID}/")))
                .count();
            assert!((1..=5).contains(&edits), "{edits} edits in about 3 s of refreshes at most once a second");
            assert_eq!(announced().len(), 1);
            tokio::time::sleep(Duration::from_millis(1200)).await;
            let normal = sandbox.heard().level_dbfs.expect("a level");
            assert!((-12.0..=-6.0).contains(&normal), "a half-scale sine reads about -9 dBFS, got {normal}");

            assert_eq!(say(&sandbox, "/volume 0").await, "Volume set to 0%.");
            tokio::time::sleep(Duration::from_millis(1300)).await;
            let silent = sandbox.heard();
            assert!(silent.level_dbfs.unwrap_or(-120.0) < -50.0, "volume 0 is silence: {silent:?}");
            assert_eq!(silent.dominant_hz, None);

            say(&sandbox, "/volume 200").await;
            tokio::time::sleep(Duration::from_millis(1300)).await;
            let loud = sandbox.heard().level_dbfs.expect("a level");
            assert!(loud > normal + 4.0, "200% is louder than 100%: {loud} vs {normal}");

            // 999 is refused at once, only to the member, and changes nothing.
            let refused = sandbox.send("/volume 999").await.unwrap();
            assert_ephemeral(&refused);
            assert_eq!(reply_of(&sandbox, &refused).await, "Volume goes from 0 to 200%.");
            tokio::time::sleep(Duration::from_millis(600)).await;
            let still = sandbox.heard().level_dbfs.expect("a level");
            assert!((still - loud).abs() < 2.0, "the volume stayed at 200%: {still} vs {loud}");
            sandbox
        },
    );
}

#[test]
fn controller_buttons_do_what_the_commands_do_and_history_queues_again() {
    with_sandbox(
        4.0,
        |o| o,
        |sandbox, _| async move {
            say(&sandbox, "/play long.wav").await;
            say(&sandbox, "/play b.wav").await;
            assert_hears(&sandbox, 440.0, "the long tone").await;
            let controller = sandbox.wait_for_controller(REPLY, |c| c.content.contains("**long**")).await.unwrap();
            let labels: Vec<&str> = controller.body["components"][0]["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["custom_id"].as_str().unwrap())
                .collect();
            assert_eq!(labels, controls::ALL);

            let pause = sandbox.press(MEMBER_ID, controller.id, controls::PAUSE).await.unwrap();
            assert_ephemeral(&pause);
            assert!(reply_of(&sandbox, &pause).await.starts_with("Paused **long**"));
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(packets_during(&sandbox, Duration::from_secs(1)).await <= 5, "paused by the button");
            sandbox.wait_for_controller(REPLY, |c| c.body.to_string().contains("▶ Resume")).await.expect("label flips");

            // Someone in no voice channel may not press.
            let stranger = sandbox.press(OTHER_MEMBER_ID, controller.id, controls::PAUSE).await.unwrap();
            assert_eq!(reply_of(&sandbox, &stranger).await, "Join a voice channel first.");
            assert!(packets_during(&sandbox, Duration::from_millis(500)).await <= 5, "still paused");

            let resume = sandbox.press(MEMBER_ID, controller.id, controls::PAUSE).await.unwrap();
            assert!(reply_of(&sandbox, &resume).await.starts_with("Resumed"));
            assert!(packets_during(&sandbox, Duration::from_secs(1)).await >= 40, "playing again");

            let looped = sandbox.press(MEMBER_ID, controller.id, controls::LOOP).await.unwrap();
            assert_eq!(reply_of(&sandbox, &looped).await, "Looping the current track.");
            sandbox
                .wait_for_controller(REPLY, |c| c.content.contains("Loop: track"))
                .await
                .expect("controller shows loop");
            let back_off = sandbox.press(MEMBER_ID, controller.id, controls::LOOP).await.unwrap();
            reply_of(&sandbox, &back_off).await; // queue
            let off = sandbox.press(MEMBER_ID, controller.id, controls::LOOP).await.unwrap();
            assert_eq!(reply_of(&sandbox, &off).await, "Loop is off.");

            let shuffle = sandbox.press(MEMBER_ID, controller.id, controls::SHUFFLE).await.unwrap();
            assert_eq!(reply_of(&sandbox, &shuffle).await, "Shuffled 1 track.");
            let skip = sandbox.press(MEMBER_ID, controller.id, controls::SKIP).await.unwrap();
            assert!(reply_of(&sandbox, &skip).await.contains("now playing **b**"));
            assert_hears(&sandbox, hz_of("b"), "b after the skip button").await;

            let stop = sandbox.press(MEMBER_ID, controller.id, controls::STOP).await.unwrap();
            assert_eq!(reply_of(&sandbox, &stop).await, "Stopped, cleared the queue and left the voice channel.");
            let left = sandbox.voice.wait_until(Duration::from_secs(10), |v| !v.is_connected(GUILD_ID)).await;
            assert!(left, "the stop button leaves voice");
            sandbox
                .wait_for_controller(REPLY, |c| c.content.contains("Stopped."))
                .await
                .expect("the controller says so");

            // /history lists what played, newest first; a button queues it again.
            let history = sandbox.send("/history").await.unwrap();
            let data = history.response.clone().unwrap()["data"].clone();
            let text = data["content"].as_str().unwrap();
            assert!(text.find("**b**").unwrap() < text.find("**long**").unwrap(), "newest first: {text}");
            let first = data["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_owned();
            let requeue = sandbox.press_on_original(MEMBER_ID, &history.token, &first).await.unwrap();
            assert!(
                reply_of(&sandbox, &requeue).await.starts_with("Now playing **b**"),
                "the newest entry plays again"
            );
            assert_hears(&sandbox, hz_of("b"), "b queued again from the history").await;
            sandbox
        },
    );
}

#[test]
fn a_vote_of_the_majority_skips_and_a_dj_role_is_named_in_refusals() {
    with_sandbox(
        8.0,
        |o| o,
        |sandbox, data| async move {
            set_settings(&data, |s| s.dj_role = timmybot_core::RoleId::new(999)).await;
            for listener in LISTENER_IDS {
                sandbox.discord.move_member(GUILD_ID, listener, Some(VOICE_CHANNEL_ID)).await.unwrap();
            }
            say(&sandbox, "/play a.wav").await;
            say(&sandbox, "/play b.wav").await;
            assert_hears(&sandbox, hz_of("a"), "a").await;

            let refused = say_as(&sandbox, LISTENER_IDS[0], "/skip").await;
            assert_eq!(
                refused,
                "Only members with the <@&999> role (or Manage Server) can skip other members' tracks. Use `/voteskip` to ask the others."
            );
            // Three listeners: two votes are a majority.
            assert_eq!(say_as(&sandbox, LISTENER_IDS[0], "/voteskip").await, "Vote counted: 1/2 to skip.");
            assert_eq!(say_as(&sandbox, LISTENER_IDS[0], "/voteskip").await, "You already voted: 1/2 to skip.");
            assert!(packets_during(&sandbox, Duration::from_millis(300)).await > 0);
            assert_hears(&sandbox, hz_of("a"), "a still plays after one vote").await;
            let skipped = say_as(&sandbox, LISTENER_IDS[1], "/voteskip").await;
            assert!(skipped.starts_with("2 votes skipped **a**; now playing **b**"), "{skipped}");
            assert_hears(&sandbox, hz_of("b"), "b after the vote").await;
            sandbox
        },
    );
}

#[test]
fn the_player_follows_a_move_and_a_kick_keeps_the_queue_for_the_next_play() {
    with_sandbox(
        4.0,
        |o| o,
        |sandbox, _| async move {
            say(&sandbox, "/play long.wav").await;
            assert_hears(&sandbox, 440.0, "the long tone").await;
            let sessions = sandbox.voice.sessions_opened(GUILD_ID);

            // Moved by an admin: the bot follows and keeps playing.
            sandbox.discord.move_bot(GUILD_ID, OTHER_VOICE_CHANNEL_ID).await.unwrap();
            let reconnected =
                sandbox.voice.wait_until(Duration::from_secs(10), |v| v.sessions_opened(GUILD_ID) > sessions).await;
            assert!(reconnected, "songbird reconnects to the voice server after the move");
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(packets_during(&sandbox, Duration::from_secs(1)).await >= 40, "audio goes on in the new channel");
            let elsewhere = say(&sandbox, "/pause").await;
            assert_eq!(elsewhere, format!("I'm playing in <#{OTHER_VOICE_CHANNEL_ID}>: join it to control the music."));
            sandbox.discord.move_member(GUILD_ID, MEMBER_ID, Some(OTHER_VOICE_CHANNEL_ID)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(say(&sandbox, "/pause").await.starts_with("Paused"));
            say(&sandbox, "/resume").await;

            // Kicked: the player stops and keeps the queue.
            sandbox.discord.disconnect_bot(GUILD_ID).await.unwrap();
            sandbox.voice.close_sessions(GUILD_ID, 4014).unwrap();
            let gone = sandbox.voice.wait_until(Duration::from_secs(10), |v| !v.is_connected(GUILD_ID)).await;
            assert!(gone, "no voice session after the kick");
            let kicked_at = sandbox.voice.sessions_opened(GUILD_ID);
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(packets_during(&sandbox, Duration::from_millis(800)).await, 0, "nothing plays after a kick");
            // 4014 is final for the player too: it does not rejoin by itself.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert_eq!(sandbox.voice.sessions_opened(GUILD_ID), kicked_at, "no rejoin after a kick");
            let now = sandbox.send("/nowplaying").await.unwrap();
            let text = now.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
            assert!(text.starts_with("⏏ Left the channel with **long**"), "{text}");
            // What the fake heard before the kick must not count as the resume.
            sandbox.voice.reset_heard(GUILD_ID);

            // The next /play rejoins, resumes the kept track and queues the new one.
            let reply = say(&sandbox, "/play b.wav").await;
            assert!(reply.contains("Back in the channel: resuming **long**"), "{reply}");
            assert!(reply.starts_with("Queued **b**"), "{reply}");
            assert_hears(&sandbox, 440.0, "the kept track, resumed").await;
            assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), Some(OTHER_VOICE_CHANNEL_ID));

            // Its channel deleted: out of voice again, queue kept; /resume from
            // a member in a channel brings it back.
            sandbox.discord.delete_channel(GUILD_ID, OTHER_VOICE_CHANNEL_ID).await.unwrap();
            sandbox.voice.close_sessions(GUILD_ID, 4014).unwrap();
            assert!(sandbox.voice.wait_until(Duration::from_secs(10), |v| !v.is_connected(GUILD_ID)).await);
            sandbox.voice.reset_heard(GUILD_ID);
            assert_eq!(say(&sandbox, "/resume").await, "Join a voice channel first.");
            sandbox.discord.move_member(GUILD_ID, MEMBER_ID, Some(VOICE_CHANNEL_ID)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(say(&sandbox, "/resume").await.starts_with("Back in the channel: resuming **long**"));
            assert_hears(&sandbox, 440.0, "the kept track after the channel was deleted").await;
            assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), Some(VOICE_CHANNEL_ID));
            sandbox
        },
    );
}

#[test]
fn bad_input_gets_its_own_ephemeral_message_and_changes_nothing() {
    with_sandbox(
        20.0,
        |o| o,
        |sandbox, _| async move {
            say(&sandbox, "/play a.wav").await;
            say(&sandbox, "/play b.wav").await;
            assert_hears(&sandbox, hz_of("a"), "a").await;
            let cases = [
                (MEMBER_ID, "/remove 5", "There is no #5: the queue has 1 track (#1 to #1)."),
                (MEMBER_ID, "/skipto 3", "There is no #3: the queue has 1 track (#1 to #1)."),
                (MEMBER_ID, "/seek 25", "That is past the end: the track is 0:20 long."),
                (MEMBER_ID, "/volume 999", "Volume goes from 0 to 200%."),
                (MEMBER_ID, "/remove 0", "Positions start at 1, as `/queue` shows them."),
                (
                    MEMBER_ID,
                    "/seek soon",
                    "Give a time like `1:23`, or seconds to jump from here: `+30` forward, `-10` back.",
                ),
                (MEMBER_ID, "/loop forever", "Loop can be `off`, `track` or `queue`."),
                (OTHER_MEMBER_ID, "/skip", "Join a voice channel first."),
                (OTHER_MEMBER_ID, "/play c.wav", "Join a voice channel first."),
            ];
            for (user, line, expected) in cases {
                let sent = sandbox.send_as(user, line, Route::Http).await.unwrap();
                assert_ephemeral(&sent);
                assert_eq!(reply_of(&sandbox, &sent).await, expected, "{line}");
            }
            sandbox.discord.move_member(GUILD_ID, OTHER_MEMBER_ID, Some(OTHER_VOICE_CHANNEL_ID)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            let elsewhere = say_as(&sandbox, OTHER_MEMBER_ID, "/pause").await;
            assert_eq!(elsewhere, format!("I'm playing in <#{VOICE_CHANNEL_ID}>: join it to control the music."));

            // Nothing changed: a still plays, b still waits at #1.
            assert_hears(&sandbox, hz_of("a"), "a plays on").await;
            let queue = sandbox.send("/queue").await.unwrap();
            let text = queue.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
            assert!(text.contains("`#1` **b**") && text.contains("1 track waiting"), "{text}");
            assert!(!text.contains("**c**"));

            // /leave keeps both tracks for the next /play or /resume.
            assert_eq!(
                say(&sandbox, "/leave").await,
                "Left the voice channel; 2 tracks kept. `/play` or `/resume` brings me back."
            );
            assert!(sandbox.voice.wait_until(Duration::from_secs(10), |v| !v.is_connected(GUILD_ID)).await);
            assert!(say(&sandbox, "/resume").await.starts_with("Back in the channel: resuming **a**"));
            assert_hears(&sandbox, hz_of("a"), "a after /leave and /resume").await;
            sandbox
        },
    );
}

#[test]
fn settings_leave_when_idle_or_alone_unless_always_on_and_the_fair_queue_takes_turns() {
    with_sandbox(
        1.5,
        |o| o,
        |sandbox, data| async move {
            // Only Manage Server may change settings; bounds are checked.
            assert_eq!(
                say_as(&sandbox, OTHER_MEMBER_ID, "/settings fair_queue:true").await,
                "Only members with the Manage Server permission can do that."
            );
            assert_eq!(
                say(&sandbox, "/settings default_volume:999").await,
                "`default_volume` must be between 0 and 200. Nothing was changed."
            );
            let saved = say(&sandbox, "/settings fair_queue:true vote_skip_percent:75").await;
            assert!(saved.starts_with("Settings saved.") && saved.contains("Fair queue: on"), "{saved}");
            assert!(saved.contains("more than 75%"), "{saved}");

            // The fair queue: a listener's track goes before the member's second.
            sandbox.discord.move_member(GUILD_ID, LISTENER_IDS[0], Some(VOICE_CHANNEL_ID)).await.unwrap();
            say(&sandbox, "/play long.wav").await;
            say(&sandbox, "/play a.wav").await;
            say(&sandbox, "/play b.wav").await;
            say_as(&sandbox, LISTENER_IDS[0], "/play c.wav").await;
            let queue = sandbox.send("/queue").await.unwrap();
            let text = queue.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
            let order: Vec<usize> = ["**a**", "**c**", "**b**"].iter().map(|t| text.find(t).expect(t)).collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "a, c, b: {text}");
            say(&sandbox, "/stop").await;
            assert!(sandbox.voice.wait_until(Duration::from_secs(10), |v| !v.is_connected(GUILD_ID)).await);

            // Idle: with nothing left to play, the bot leaves after the wait.
            set_settings(&data, |s| s.idle_leave_secs = 2).await;
            say(&sandbox, "/play a.wav").await;
            assert_hears(&sandbox, hz_of("a"), "a").await;
            let left = sandbox.voice.wait_until(Duration::from_secs(12), |v| !v.is_connected(GUILD_ID)).await;
            assert!(left, "left when idle");
            sandbox
                .discord
                .wait_for_message(|m| m.content == "Left the voice channel: nothing was playing.", REPLY)
                .await
                .expect("said why");

            // 24/7 keeps it in.
            set_settings(&data, |s| s.always_on = true).await;
            say(&sandbox, "/play a.wav").await;
            assert_hears(&sandbox, hz_of("a"), "a").await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            assert!(sandbox.voice.is_connected(GUILD_ID), "24/7 stays when idle");

            // Alone: everyone leaves the channel; the bot follows, keeping the queue.
            set_settings(&data, |s| {
                s.always_on = false;
                s.idle_leave_secs = 0;
                s.alone_leave_secs = 2;
            })
            .await;
            say(&sandbox, "/play long.wav").await;
            sandbox.discord.move_member(GUILD_ID, LISTENER_IDS[0], None).await.unwrap();
            sandbox.discord.move_member(GUILD_ID, MEMBER_ID, None).await.unwrap();
            let left = sandbox.voice.wait_until(Duration::from_secs(12), |v| !v.is_connected(GUILD_ID)).await;
            assert!(left, "left when alone");
            let now = sandbox.send("/nowplaying").await.unwrap();
            let text = now.response.unwrap()["data"]["content"].as_str().unwrap().to_owned();
            assert!(text.starts_with("⏏ Left the channel with **long**"), "the queue is kept: {text}");
            sandbox
        },
    );
}
