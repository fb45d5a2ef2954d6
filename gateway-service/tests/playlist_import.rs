//! `/playlist import`'s gateway half against a real HTTP server (the fake
//! CDN) and a real SQLite store: a Spotify data export of several
//! playlists saved apart, the liked songs among them; an M3U list saved as
//! playable links; a file over the
//! limit, a missing upload and a member at the cap told so, nothing of the
//! file echoed.

use std::sync::Arc;

use timmybot_core::{
    MAX_PLAYLISTS_PER_MEMBER, ManualClock, MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, PlaylistStore,
    UserId,
};
use timmybot_embedded::SqliteStore;
use timmybot_gateway::playlist_import::PlaylistImporter;
use timmybot_outbound::OutboundPolicy;
use timmybot_test_support::fake_apis::streams::FakeStreams;

fn member() -> UserId {
    UserId::new(77).unwrap()
}

fn importer(store: &SqliteStore) -> PlaylistImporter {
    let policy = OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() };
    PlaylistImporter::new(&policy, Arc::new(store.clone()), Arc::new(ManualClock::at(1_800_000_000)))
}

const EXPORT: &str = r#"{"playlists": [
    {"name": "Road Trip", "items": [
        {"track": {"trackName": "Alpha", "artistName": "Band", "albumName": "A", "trackUri": "spotify:track:1"}},
        {"episode": {"episodeName": "A podcast"}}
    ]},
    {"name": "road trip", "items": [
        {"track": {"trackName": "Beta", "artistName": "Band", "albumName": "B", "trackUri": "spotify:track:2"}}
    ]},
    {"name": "Nothing here", "items": []}
], "tracks": [{"artist": "Band", "album": "C", "track": "Gamma", "uri": "spotify:track:3"}]}"#;

#[tokio::test]
async fn a_spotify_export_saves_each_playlist_apart_and_the_liked_songs() {
    let cdn = FakeStreams::start().await.unwrap();
    cdn.serve("/attachments/1/2/Playlist1.json", "application/json", EXPORT.as_bytes().to_vec());
    let store = SqliteStore::in_memory().unwrap();
    let url = cdn.url("/attachments/1/2/Playlist1.json");
    let (reply, failed) = importer(&store).import(member(), &url, "Playlist1.json", None).await;
    assert!(!failed);
    assert_eq!(
        reply,
        "Imported 3 playlists: **Road Trip** (1 track), **road trip (2)** (1 track), **Liked songs** (1 track). Play \
         one with `/play playlist:`."
    );
    let saved = store.load_playlist(member(), &PlaylistName::parse("Road Trip").unwrap()).await.unwrap().unwrap();
    assert_eq!(saved.entries, [PlaylistEntry::metadata("Alpha", "Band", None, None)]);
    assert_eq!(saved.origin, PlaylistOrigin::File);
    assert_eq!(saved.updated_at_ms, 1_800_000_000_000);
    let names: Vec<String> = store.playlists(member()).await.unwrap().into_iter().map(|p| p.name.into()).collect();
    assert_eq!(names, ["Liked songs", "Road Trip", "road trip (2)"]);

    // The member's own name only applies to a file of one playlist.
    let mine = PlaylistName::parse("Mine").unwrap();
    let (reply, _) = importer(&store).import(member(), &url, "Playlist1.json", Some(&mine)).await;
    assert!(reply.starts_with("Imported 3 playlists"), "{reply}");
}

#[tokio::test]
async fn oversize_missing_and_malformed_files_are_refused_without_echoing_them() {
    let cdn = FakeStreams::start().await.unwrap();
    cdn.serve("/big.csv", "text/csv", vec![b'a'; timmybot_accounts::MAX_IMPORT_BYTES + 1]);
    cdn.serve("/secret.json", "application/json", b"{\"playlists\": [ SECRET-TOKEN-LIKE-TEXT".to_vec());
    let store = SqliteStore::in_memory().unwrap();
    let import = importer(&store);
    let (reply, failed) = import.import(member(), &cdn.url("/big.csv"), "big.csv", None).await;
    assert_eq!((reply.as_str(), failed), ("That file is too large: I import files of up to 5 MB.", false));
    let (reply, failed) = import.import(member(), &cdn.url("/gone.csv"), "gone.csv", None).await;
    assert_eq!(reply, "I could not download that file from Discord; try uploading it again.");
    assert!(failed, "a download that failed is ours to look at");
    let (reply, _) = import.import(member(), &cdn.url("/secret.json"), "secret.json", None).await;
    assert_eq!(reply, "That file is not valid JSON.");
    assert!(!reply.contains("SECRET"));
    let (reply, _) = import.import(member(), &cdn.url("/big.csv"), "notes.txt", None).await;
    assert!(reply.starts_with("I import Spotify's data export"), "{reply}");
    assert_eq!(store.playlists(member()).await.unwrap(), []);
}

#[tokio::test]
async fn a_member_at_the_cap_is_told_what_was_not_saved() {
    let cdn = FakeStreams::start().await.unwrap();
    cdn.serve("/p.json", "application/json", EXPORT.as_bytes().to_vec());
    let store = SqliteStore::in_memory().unwrap();
    for i in 0..MAX_PLAYLISTS_PER_MEMBER - 1 {
        let playlist = MemberPlaylist {
            owner: member(),
            name: PlaylistName::parse(&format!("old {i}")).unwrap(),
            origin: PlaylistOrigin::Saved,
            entries: vec![],
            updated_at_ms: 0,
        };
        store.save_playlist(&playlist).await.unwrap();
    }
    let (reply, failed) = importer(&store).import(member(), &cdn.url("/p.json"), "p.json", None).await;
    assert!(!failed);
    assert!(reply.starts_with("Imported **Road Trip** (1 track"), "{reply}");
    assert!(reply.ends_with("2 more not saved: you have 200 playlists, the most one member keeps."), "{reply}");
    assert_eq!(store.playlists(member()).await.unwrap().len(), MAX_PLAYLISTS_PER_MEMBER);
}

#[tokio::test]
async fn an_m3u_list_becomes_a_playlist_of_its_links() {
    let cdn = FakeStreams::start().await.unwrap();
    let list =
        "#EXTM3U\n#EXTINF:4,Tone A\nhttps://media.example/a.ogg\nC:\\Music\\local.mp3\nhttps://media.example/b.ogg\n";
    cdn.serve("/Night.m3u", "audio/x-mpegurl", list.as_bytes().to_vec());
    let store = SqliteStore::in_memory().unwrap();
    let (reply, failed) = importer(&store).import(member(), &cdn.url("/Night.m3u"), "Night.m3u", None).await;
    assert!(!failed);
    assert_eq!(
        reply,
        "Imported **Night** (2 tracks; 1 left out: episodes, local files or untitled rows). Play it with `/play playlist:`."
    );
    let saved = store.load_playlist(member(), &PlaylistName::parse("night").unwrap()).await.unwrap().unwrap();
    let entries: Vec<(&str, Option<&str>, Option<u64>)> =
        saved.entries.iter().map(|e| (e.title.as_str(), e.source.as_deref(), e.duration_ms)).collect();
    assert_eq!(
        entries,
        [
            ("Tone A", Some("https://media.example/a.ogg"), Some(4_000)),
            ("b.ogg", Some("https://media.example/b.ogg"), None)
        ]
    );
}
