//! End to end, the sources as members use them, against the sandbox's fake
//! Radio Browser directory, fake Audius catalog and stream server: `/radio`
//! with its ICY titles on the controller, search and suggestions, Audius
//! playlist links, uploads, and sources that are off.
//!
//! Each test is a plain `#[test]` in its own process (cargo-nextest): the
//! test CA is trusted through a process-wide variable.

mod common;

use std::time::Duration;

use common::{assert_hears, heard_in_order, hears, reply_of, say, with_sandbox};
use timmybot::sandbox::{MEMBER_ID, Sandbox, TEXT_CHANNEL_ID};
use timmybot::sandbox_sources::{ARTIST, JAZZ_TITLES, PLAYLIST_ID, STATIONS, TRACKS};
use timmybot_test_support::audio::write_tone_wav;

fn sources(sandbox: &Sandbox) -> &timmybot::sandbox_sources::SandboxSources {
    sandbox.sources.as_ref().expect("the sandbox runs its fake sources")
}

/// Waits until the controller's text contains `words`.
async fn controller_says(sandbox: &Sandbox, words: &str, within: Duration) -> String {
    let found = sandbox.wait_for_controller(within, |m| m.content.contains(words)).await;
    found.map(|m| m.content).unwrap_or_else(|| {
        panic!("the controller never said {words:?}; last: {:?}", sandbox.controller().map(|m| m.content))
    })
}

#[test]
fn radio_plays_a_station_counts_the_click_and_the_controller_follows_its_icy_title() {
    with_sandbox(
        None,
        |o| o,
        |sandbox| async move {
            let (uuid, name, _, _, hz) = STATIONS[0];
            let reply = say(&sandbox, "/radio jazz").await;
            assert!(reply.starts_with(&format!("Now playing **{name}** (live)")), "{reply}");
            assert_hears(&sandbox, hz, "the jazz station").await;
            let text = controller_says(&sandbox, JAZZ_TITLES[0], Duration::from_secs(10)).await;
            assert!(text.contains(&format!("📻 **{name}**")), "the station under its song: {text}");
            assert!(text.contains("Station from the Radio Browser directory"), "{text}");
            assert!(text.contains("live ·"), "{text}");
            // The station's title changes after 6 s of audio; the controller follows.
            let text = controller_says(&sandbox, JAZZ_TITLES[1], Duration::from_secs(20)).await;
            assert!(!text.contains(JAZZ_TITLES[0]), "{text}");
            assert!(hears(&sandbox, hz, Duration::from_secs(2)).await, "the stream plays on");

            let fakes = sources(&sandbox);
            assert_eq!(fakes.radio.clicks(uuid), 1, "one play, one click: {:?}", fakes.radio.seen().all());
            let seen = fakes.radio.seen().all();
            assert!(seen.iter().any(|s| s.path_and_query.starts_with("/json/stations/search")), "{seen:?}");
            assert!(
                seen.iter().all(|s| s.user_agent.as_deref().is_some_and(|ua| ua.starts_with("timmybot/"))),
                "a descriptive User-Agent on every call: {seen:?}"
            );
            assert!(fakes.streams.icy_requests().iter().any(|r| r.contains("jazz")), "ICY metadata was asked for");
            // The chosen station by its uuid (what a suggestion sends) plays too.
            let reply = say(&sandbox, &format!("/radio radio:{}", STATIONS[1].0)).await;
            assert!(reply.starts_with(&format!("Queued **{}** (live)", STATIONS[1].1)), "{reply}");
            sandbox
        },
    );
}

#[test]
fn words_search_audius_and_an_audius_playlist_link_queues_its_tracks_in_order() {
    with_sandbox(
        None,
        |o| o,
        |sandbox| async move {
            let reply = say(&sandbox, "/play morning walk").await;
            assert!(reply.starts_with(&format!("Now playing **{ARTIST} – Morning Walk** (0:04)")), "{reply}");
            assert_hears(&sandbox, TRACKS[1].2, "the Audius track found").await;
            let text = controller_says(&sandbox, "Streamed from Audius", Duration::from_secs(5)).await;
            assert!(text.contains("Morning Walk"), "{text}");

            let link = sources(&sandbox).audius.playlist_link(PLAYLIST_ID);
            let reply = say(&sandbox, &format!("/play {link}")).await;
            assert!(reply.contains("Queued 3 tracks from #1"), "{reply}");
            let tones: Vec<f64> = TRACKS.iter().map(|t| t.2).collect();
            let order = heard_in_order(&sandbox, &tones, 4, Duration::from_secs(30)).await;
            assert_eq!(order, [tones[1], tones[0], tones[1], tones[2]], "the search hit, then the playlist in order");
            let seen = sources(&sandbox).audius.seen().all();
            assert!(seen.iter().all(|s| s.path_and_query.contains("app_name=timmybot-sandbox")), "{seen:?}");
            sandbox
        },
    );
}

#[test]
fn suggestions_and_search_results_come_from_the_catalog_and_a_result_plays_when_pressed() {
    with_sandbox(
        None,
        |o| o,
        |sandbox| async move {
            let suggested = sandbox.autocomplete("play", "query", "night").await.unwrap();
            let answer = suggested.response.expect("answered");
            assert_eq!(answer["type"], 8, "{answer}");
            assert_eq!(answer["data"]["choices"][0]["value"], format!("audius:{}", TRACKS[0].0), "{answer}");
            let stations = sandbox.autocomplete("radio", "station", "rock").await.unwrap().response.unwrap();
            assert_eq!(stations["data"]["choices"][0]["value"], format!("radio:{}", STATIONS[1].0), "{stations}");

            let sent = sandbox.send("/search evening").await.unwrap();
            let results = sent.response.clone().expect("answered at once");
            assert_eq!(results["data"]["flags"], 64, "{results}");
            assert!(results["data"]["content"].as_str().unwrap().contains("Evening Swim"), "{results}");
            let button = results["data"]["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_owned();
            let pressed = sandbox.press_on_original(MEMBER_ID, &sent.token, &button).await.unwrap();
            let reply = reply_of(&sandbox, &pressed).await;
            assert!(reply.starts_with(&format!("Now playing **{ARTIST} – Evening Swim**")), "{reply}");
            assert_hears(&sandbox, TRACKS[2].2, "the pressed result").await;
            sandbox
        },
    );
}

#[test]
fn an_uploaded_audio_file_plays_and_other_uploads_are_refused() {
    let uploads = tempfile::tempdir().unwrap();
    let song = uploads.path().join("my_upload.wav");
    write_tone_wav(&song, 784.0, 4.0).unwrap();
    let notes = uploads.path().join("notes.txt");
    std::fs::write(&notes, "not audio").unwrap();
    with_sandbox(
        None,
        |o| o,
        move |sandbox| async move {
            let reply = say(&sandbox, &format!("/play file:{}", song.display())).await;
            assert!(reply.starts_with("Now playing **my\\_upload** (0:04)"), "{reply}");
            assert_hears(&sandbox, 784.0, "the upload").await;
            let sent = sandbox.send(&format!("/play file:{}", notes.display())).await.unwrap();
            let answer = sent.response.expect("answered at once");
            assert_eq!(answer["data"]["flags"], 64);
            assert!(answer["data"]["content"].as_str().unwrap().starts_with("That file is not audio"), "{answer}");
            assert!(
                sandbox.discord.channel_messages(TEXT_CHANNEL_ID).iter().all(|m| !m.content.contains("notes")),
                "nothing was posted about it"
            );
            sandbox
        },
    );
}

#[test]
fn sources_that_are_off_are_refused_with_their_own_message() {
    with_sandbox(
        None,
        |o| o.with_fake_sources(false),
        |sandbox| async move {
            assert_eq!(say(&sandbox, "/radio jazz").await, "Radio is turned off on this bot.");
            assert_eq!(say(&sandbox, "/play night drive").await, "Search is turned off on this bot.");
            let search = sandbox.send("/search night").await.unwrap().response.unwrap();
            assert_eq!(search["data"]["content"], "Search is turned off on this bot.", "{search}");
            let suggested = sandbox.autocomplete("play", "query", "night").await.unwrap().response.unwrap();
            assert_eq!(suggested["data"]["choices"], serde_json::json!([]));
            assert_eq!(sandbox.discord.bot_voice_channel(timmybot::sandbox::GUILD_ID), None, "never joined");
            sandbox
        },
    );
}

#[test]
fn a_station_plays_its_longest_session_then_the_queue_moves_on() {
    let shorter = |mut o: timmybot::sandbox::SandboxOptions| {
        o.players.max_live_session = Duration::from_secs(3);
        o
    };
    with_sandbox(None, shorter, |sandbox| async move {
        let (_, _, _, _, station_hz) = STATIONS[1];
        say(&sandbox, "/radio rock").await;
        assert_hears(&sandbox, station_hz, "the station").await;
        let reply = say(&sandbox, "/play evening swim").await;
        assert!(reply.starts_with(&format!("Queued **{ARTIST} – Evening Swim**")), "{reply}");
        // The station would play for ever; after 3 s of it the queue goes on.
        let order = heard_in_order(&sandbox, &[station_hz, TRACKS[2].2], 2, Duration::from_secs(15)).await;
        assert_eq!(order, [station_hz, TRACKS[2].2], "the station, then the queued track");
        let history = sandbox.send("/history").await.unwrap().response.unwrap();
        assert!(history["data"]["content"].as_str().unwrap().contains(STATIONS[1].1), "{history}");
        sandbox
    });
}
