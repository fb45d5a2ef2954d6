//! End to end, members' own playlists: a queue saved with `/playlist save`
//! played back with `/play playlist:` (heard in order, after a restart of
//! the platform too), nobody else's playlist reachable by its name, and an
//! imported playlist of metadata only matched to the fake Audius catalog,
//! its missing track named in the reply; an Exportify file uploaded with
//! `/playlist import`, saved and heard from the catalog.
//!
//! Each test is a plain `#[test]` in its own process (cargo-nextest), as in
//! `e2e.rs`: the test CA is trusted through a process-wide variable.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{reply_of, say};
use timmybot::sandbox::{MEMBER_ID, OTHER_MEMBER_ID, Route, Sandbox, SandboxOptions, trust_sandbox_ca};
use timmybot::sandbox_sources::{ARTIST, MISSING_TITLE, TRACK_SECS, TRACKS};
use timmybot_core::{MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, PlaylistStore, UserId};
use timmybot_test_support::audio::write_tone_wav;
use timmybot_test_support::runtime::runtime_with_logs;

/// The media folder's tones, by file name.
const TONES: [(&str, f64); 2] = [("a", 300.0), ("b", 500.0)];

/// The names of the tones of `known` heard from now on, in order (see
/// [`common::heard_in_order`]).
async fn heard_in_order(sandbox: &Sandbox, known: &[(&'static str, f64)], count: usize) -> Vec<&'static str> {
    let tones: Vec<f64> = known.iter().map(|(_, hz)| *hz).collect();
    let heard = common::heard_in_order(sandbox, &tones, count, Duration::from_secs(40)).await;
    heard.iter().filter_map(|hz| known.iter().find(|(_, k)| k == hz).map(|(name, _)| *name)).collect()
}

fn with_sandbox<F, Fut>(test: F)
where
    F: FnOnce(Sandbox, PathBuf) -> Fut,
    Fut: std::future::Future<Output = Sandbox>,
{
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    for (name, hz) in TONES {
        write_tone_wav(media.path().join(format!("{name}.wav")), hz, 4.0).unwrap();
    }
    runtime_with_logs().block_on(async {
        let options = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()));
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        let sandbox = test(sandbox, data.path().to_path_buf()).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

async fn say_as(sandbox: &Sandbox, user: u64, line: &str) -> String {
    let sent = sandbox.send_as(user, line, Route::Http).await.expect("sent");
    reply_of(sandbox, &sent).await
}

/// Waits until nothing is heard for a second (the bot stopped).
async fn silence(sandbox: &Sandbox) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut last = sandbox.heard().packets;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = sandbox.heard().packets;
        if now == last {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the bot kept sending audio after /stop");
        last = now;
    }
}

#[test]
fn a_saved_queue_plays_back_in_order_for_its_owner_only_and_survives_a_restart() {
    with_sandbox(|mut sandbox, _| async move {
        assert!(say(&sandbox, "/play a.wav").await.starts_with("Now playing **a**"));
        assert!(say(&sandbox, "/play b.wav").await.starts_with("Queued **b**"));
        let saved = say(&sandbox, "/playlist save Mixtape").await;
        assert_eq!(saved, "Saved your playlist **Mixtape** (2 tracks). Play it in any server with `/play playlist:`.");
        assert!(say(&sandbox, "/stop").await.contains("Stopped"), "the queue is cleared");
        silence(&sandbox).await;

        let refused = say_as(&sandbox, OTHER_MEMBER_ID, "/play playlist:Mixtape").await;
        assert_eq!(refused, "You have no playlist called **Mixtape**. `/playlist list` shows yours.");

        let played = say(&sandbox, "/play playlist:mixtape").await;
        assert!(played.starts_with("Your playlist **mixtape**: Now playing **a**"), "{played}");
        assert_eq!(heard_in_order(&sandbox, &TONES, 2).await, ["a", "b"], "the saved queue, in its order");
        let queue = say(&sandbox, "/queue").await;
        assert!(queue.contains("**b**"), "{queue}");

        // The playlist is in the store, not in the process.
        say(&sandbox, "/stop").await;
        sandbox.stop_platform().await.expect("platform stops");
        sandbox.start_platform().await.expect("platform starts again");
        let listed = say(&sandbox, "/playlist list").await;
        assert!(listed.contains("• **Mixtape** · 2 tracks · saved from a queue"), "{listed}");
        let shown = say(&sandbox, "/playlist show Mixtape").await;
        assert!(shown.contains("`1` a · 0:04\n`2` b · 0:04"), "{shown}");
        assert_eq!(say(&sandbox, "/playlist delete Mixtape").await, "Deleted your playlist **Mixtape**.");
        sandbox
    });
}

/// Stores `entries` as the member's imported playlist `name`, as the file
/// import will.
async fn store_import(data: &Path, name: &str, entries: Vec<PlaylistEntry>) {
    let store = timmybot_embedded::SqliteStore::open(data.join("timmybot.db")).unwrap();
    let playlist = MemberPlaylist {
        owner: UserId::new(MEMBER_ID).unwrap(),
        name: PlaylistName::parse(name).unwrap(),
        origin: PlaylistOrigin::File,
        entries,
        updated_at_ms: 1,
    };
    store.save_playlist(&playlist).await.unwrap();
}

#[test]
fn an_imported_playlist_is_matched_to_the_catalog_heard_in_order_and_its_missing_track_named() {
    with_sandbox(|sandbox, data| async move {
        let length = Some((TRACK_SECS * 1000.0) as u64);
        store_import(
            &data,
            "Imports",
            vec![
                PlaylistEntry::metadata(TRACKS[2].1, ARTIST, length, None),
                PlaylistEntry::metadata(MISSING_TITLE, ARTIST, length, None),
                PlaylistEntry::metadata(TRACKS[0].1, ARTIST, length, None),
            ],
        )
        .await;
        let played = say(&sandbox, "/play playlist:Imports").await;
        assert!(
            played.starts_with(&format!("Your playlist **Imports**: Now playing **{ARTIST} – {}**", TRACKS[2].1)),
            "{played}"
        );
        let missing = format!("Not found on the playable sources (1): **{ARTIST} – {MISSING_TITLE}**.");
        assert!(played.contains(&missing), "{played}");
        let catalog: Vec<(&'static str, f64)> = TRACKS.iter().map(|(_, title, hz)| (*title, *hz)).collect();
        assert_eq!(heard_in_order(&sandbox, &catalog, 2).await, [TRACKS[2].1, TRACKS[0].1]);
        sandbox
    });
}

#[test]
fn an_uploaded_exportify_file_is_imported_and_played_from_the_catalog() {
    with_sandbox(|sandbox, _| async move {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("SandboxMix.csv");
        let rows = [TRACKS[1].1, TRACKS[0].1]
            .iter()
            .map(|title| format!("spotify:track:abc,{title},{ARTIST},Album,{}\n", (TRACK_SECS * 1000.0) as u64))
            .collect::<String>();
        std::fs::write(&csv, format!("Track URI,Track Name,Artist Name(s),Album Name,Duration (ms)\n{rows}")).unwrap();
        let imported = say(&sandbox, &format!("/playlist import file:{}", csv.display())).await;
        assert_eq!(imported, "Imported **SandboxMix** (2 tracks). Play it with `/play playlist:`.");
        let listed = say(&sandbox, "/myplaylists").await;
        assert!(listed.contains("• **SandboxMix** · 2 tracks · imported from a file"), "{listed}");

        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a playlist").unwrap();
        let refused = say(&sandbox, &format!("/playlist import file:{}", text.display())).await;
        assert!(refused.starts_with("I import Spotify's data export"), "{refused}");

        say(&sandbox, "/play playlist:sandboxmix").await;
        let catalog: Vec<(&'static str, f64)> = TRACKS.iter().map(|(_, title, hz)| (*title, *hz)).collect();
        assert_eq!(heard_in_order(&sandbox, &catalog, 2).await, [TRACKS[1].1, TRACKS[0].1]);
        sandbox
    });
}

#[test]
fn likes_plays_the_liked_songs_of_an_uploaded_spotify_export() {
    with_sandbox(|sandbox, _| async move {
        let none = say(&sandbox, "/likes").await;
        assert!(none.starts_with("You have no liked songs here yet"), "{none}");
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("YourLibrary.json");
        let tracks: Vec<serde_json::Value> = [TRACKS[2].1, TRACKS[1].1]
            .iter()
            .map(|title| serde_json::json!({"artist": ARTIST, "album": "A", "track": title, "uri": "spotify:track:x"}))
            .collect();
        std::fs::write(&library, serde_json::json!({"tracks": tracks}).to_string()).unwrap();
        let imported = say(&sandbox, &format!("/playlist import file:{}", library.display())).await;
        assert_eq!(imported, "Imported **Liked songs** (2 tracks). Play it with `/play playlist:`.");
        let played = say(&sandbox, "/likes").await;
        assert!(played.starts_with("Your playlist **Liked songs**: Now playing"), "{played}");
        let catalog: Vec<(&'static str, f64)> = TRACKS.iter().map(|(_, title, hz)| (*title, *hz)).collect();
        assert_eq!(heard_in_order(&sandbox, &catalog, 2).await, [TRACKS[2].1, TRACKS[1].1]);
        sandbox
    });
}
