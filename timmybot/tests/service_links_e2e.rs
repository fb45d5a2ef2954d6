//! End to end, music-service links as members paste them: a Spotify
//! playlist read from the sandbox's fake Spotify (with the app credentials
//! the sandbox wrote to its secrets file), matched to the fake Audius
//! catalog, and heard in order as the catalog tracks' tones; the link's
//! missing track named in the reply; the switch that turns links off.
//!
//! Each test is a plain `#[test]` in its own process (cargo-nextest), as in
//! `e2e.rs`: the test CA is trusted through a process-wide variable.

use std::time::Duration;

use timmybot::sandbox::{GUILD_ID, MEMBER_ID, Route, Sandbox, SandboxOptions, SentCommand, trust_sandbox_ca};
use timmybot::sandbox_sources::{
    APPLE_ALBUM_LINK, ARTIST, DEEZER_TRACK_LINK, MISSING_TITLE, SPOTIFY_PLAYLIST_LINK, TRACKS, YOUTUBE_VIDEO_LINK,
};
use timmybot_test_support::audio::{SAMPLE_RATE, dominant_frequency, rms};
use timmybot_test_support::runtime::runtime_with_logs;

/// Within this, a measured frequency is the tone.
const HZ_TOLERANCE: f64 = 12.0;
/// How long a reply may take.
const REPLY: Duration = Duration::from_secs(20);

fn with_sandbox<F, Fut>(options: impl FnOnce(SandboxOptions) -> SandboxOptions, test: F)
where
    F: FnOnce(Sandbox) -> Fut,
    Fut: std::future::Future<Output = Sandbox>,
{
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        let base = SandboxOptions::embedded(data.path().to_path_buf(), None);
        let sandbox = Sandbox::start(&ca, options(base)).await.expect("sandbox starts");
        let sandbox = test(sandbox).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

async fn say(sandbox: &Sandbox, line: &str) -> String {
    let sent: SentCommand = sandbox.send_as(MEMBER_ID, line, Route::Http).await.expect("sent");
    assert_eq!(sent.status, 200, "{line}");
    sandbox.wait_for_reply(&sent, REPLY).await.unwrap_or_else(|| panic!("no reply to {line}"))
}

/// The dominant frequency of the last `secs` of decoded audio.
fn recent_hz(sandbox: &Sandbox, secs: f64) -> Option<f64> {
    let audio = sandbox.voice.audio(GUILD_ID);
    let take = (secs * f64::from(SAMPLE_RATE)) as usize;
    if audio.len() < take {
        return None;
    }
    let recent = &audio[audio.len() - take..];
    (rms(recent) > 1e-3).then(|| dominant_frequency(recent, SAMPLE_RATE))
}

/// The catalog tracks heard from now on, by title, each once in order,
/// until `count` were heard (or 40 s pass).
async fn heard_in_order(sandbox: &Sandbox, count: usize) -> Vec<&'static str> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut order: Vec<&'static str> = Vec::new();
    while order.len() < count && tokio::time::Instant::now() < deadline {
        if let Some(found) = recent_hz(sandbox, 0.3)
            && let Some((_, title, _)) = TRACKS.iter().find(|(_, _, hz)| (found - hz).abs() <= HZ_TOLERANCE)
            && order.last() != Some(title)
        {
            order.push(title);
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    order
}

fn spotify_api_calls(sandbox: &Sandbox) -> usize {
    sandbox.sources.as_ref().expect("the fake sources").spotify.seen().with_prefix("/v1/").len()
}

#[test]
fn a_spotify_playlist_plays_its_matched_catalog_tracks_in_order_and_names_the_missing_one() {
    with_sandbox(
        |options| options,
        |sandbox| async move {
            let reply = say(&sandbox, &format!("/play {SPOTIFY_PLAYLIST_LINK}")).await;
            let missing = format!("Not found on the playable sources (1): **{ARTIST} – {MISSING_TITLE}**.");
            assert!(reply.contains(&missing), "{reply}");
            let heard = heard_in_order(&sandbox, 3).await;
            assert_eq!(
                heard,
                [TRACKS[0].1, TRACKS[1].1, TRACKS[2].1],
                "the three matched tracks, in the playlist's order"
            );
            let calls = spotify_api_calls(&sandbox);
            assert!(calls >= 1, "the playlist was read from Spotify");

            // Pasted again: the cache answers, Spotify is not asked twice.
            let again = say(&sandbox, &format!("/play {SPOTIFY_PLAYLIST_LINK}?si=from-a-friend")).await;
            assert!(again.contains(&missing), "{again}");
            assert_eq!(spotify_api_calls(&sandbox), calls, "no second Spotify API call");
            let queue = say(&sandbox, "/queue").await;
            for (_, title, _) in TRACKS {
                assert!(queue.contains(title), "{title} is queued: {queue}");
            }
            assert!(!queue.contains(MISSING_TITLE), "{queue}");
            sandbox
        },
    );
}

#[test]
fn deezer_apple_music_and_youtube_links_queue_the_catalog_tracks_they_name() {
    with_sandbox(
        |options| options,
        |sandbox| async move {
            say(&sandbox, &format!("/play {DEEZER_TRACK_LINK}")).await;
            assert_eq!(heard_in_order(&sandbox, 1).await, [TRACKS[1].1], "the Deezer track is the catalog's, by ISRC");
            say(&sandbox, &format!("/play {APPLE_ALBUM_LINK}")).await;
            say(&sandbox, &format!("/play {YOUTUBE_VIDEO_LINK}")).await;
            let queue = say(&sandbox, "/queue").await;
            let order: Vec<usize> = [TRACKS[1].1, TRACKS[2].1, TRACKS[0].1]
                .iter()
                .map(|title| queue.find(title).unwrap_or_else(|| panic!("{title} is queued: {queue}")))
                .collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "Deezer's, then the album's in its order: {queue}");
            assert_eq!(queue.matches(TRACKS[2].1).count(), 2, "the album's first and the video: {queue}");
            sandbox
        },
    );
}

#[test]
fn service_links_turned_off_are_refused_naming_the_service() {
    with_sandbox(
        |options| SandboxOptions { service_links: false, ..options },
        |sandbox| async move {
            let reply = say(&sandbox, &format!("/play {SPOTIFY_PLAYLIST_LINK}")).await;
            assert_eq!(reply, "Spotify is turned off on this bot.");
            assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), None, "the bot never joined");
            assert_eq!(spotify_api_calls(&sandbox), 0);
            sandbox
        },
    );
}
