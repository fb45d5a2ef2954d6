//! The Spotify client against the fake accounts service and Web API, over
//! real HTTP on loopback.

use std::time::Duration;

use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_sources::links::{MAX_COLLECTION_TRACKS, SpotifyClient, SpotifyCredentials};
use timmybot_sources::{ApiClient, LookupError, Origin};
use timmybot_test_support::fake_apis::spotify::{
    FakeSpotify, PlaylistShape, entry, episode_entry, item_entry, local_entry, null_entry, track_json,
};
use url::Url;

const CLIENT_ID: &str = "fake-client-id";
const CLIENT_SECRET: &str = "fake-client-secret-9f2c";

fn api() -> ApiClient {
    let policy = OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() };
    ApiClient::new(SafeHttpClient::new(policy))
}

fn client(fake: &FakeSpotify, secret: &str) -> SpotifyClient {
    let base = Url::parse(&fake.base_url()).unwrap();
    SpotifyClient::new(api(), SpotifyCredentials::new(CLIENT_ID, secret)).with_base_urls(base.clone(), base)
}

/// A 22-character base62 id ending in `n`.
fn id(prefix: char, n: usize) -> String {
    format!("{prefix}{n:0>21}")
}

fn numbered_track(n: usize) -> serde_json::Value {
    track_json(&id('t', n), &format!("Song {n}"), &["Band"], 180_000 + n as u64, &format!("USRC1{n:07}"))
}

#[tokio::test]
async fn a_track_reads_its_metadata_and_the_token_is_reused_until_it_expires() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    fake.set_expires_in(1);
    let track_id = "4uLU6hMCjMI75M1A2tKUQC";
    fake.add_track(track_json(
        track_id,
        "Never Gonna Give You Up",
        &["Rick Astley", "Somebody Else"],
        213_573,
        "gbarl9300135",
    ));
    let spotify = client(&fake, CLIENT_SECRET);

    let track = spotify.track(track_id).await.unwrap();
    assert_eq!(track.origin, Origin::Spotify);
    assert_eq!(track.id, track_id);
    assert_eq!(track.title, "Never Gonna Give You Up");
    assert_eq!(track.artist.as_deref(), Some("Rick Astley, Somebody Else"));
    assert_eq!(track.duration_ms, Some(213_573));
    assert_eq!(track.isrc.as_deref(), Some("GBARL9300135"));
    assert_eq!(track.artwork_url, Some(format!("https://i.scdn.co/image/{track_id}-640")));
    assert_eq!(track.locator, None, "Spotify gives metadata, never audio");

    spotify.track(track_id).await.unwrap();
    assert_eq!(fake.token_requests(), 1, "a fresh token is reused");

    // The token said it lasts 1 s: past that a new one is fetched before
    // the API has to refuse the old one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    spotify.track(track_id).await.unwrap();
    assert_eq!(fake.token_requests(), 2);
    assert_eq!(fake.unauthorized_answers(), 0);
    let token_posts = fake.seen().with_prefix("/api/token");
    assert!(token_posts.iter().all(|s| s.method == "POST"));
    assert!(fake.seen().all().iter().all(|s| s.user_agent.as_deref().is_some_and(|ua| ua.starts_with("timmybot/"))));
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_request_retried() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    let track_id = "4uLU6hMCjMI75M1A2tKUQC";
    fake.add_track(track_json(track_id, "Song", &["Band"], 200_000, "USRC17607839"));
    let spotify = client(&fake, CLIENT_SECRET);
    spotify.track(track_id).await.unwrap();

    fake.revoke_tokens();
    let track = spotify.track(track_id).await.unwrap();
    assert_eq!(track.title, "Song");
    assert_eq!(fake.unauthorized_answers(), 1);
    assert_eq!(fake.token_requests(), 2);
    // The new token is cached too.
    spotify.track(track_id).await.unwrap();
    assert_eq!(fake.token_requests(), 2);
}

#[tokio::test]
async fn wrong_credentials_are_reported_without_the_secret() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    let spotify = client(&fake, "not-the-secret-51d0");
    let error = spotify.track("4uLU6hMCjMI75M1A2tKUQC").await.unwrap_err();
    assert!(matches!(error, LookupError::NotConfigured("Spotify")), "{error:?}");
    for shown in [format!("{error}"), format!("{error:?}"), error.user_message(), format!("{spotify:?}")] {
        assert!(!shown.contains("not-the-secret"), "{shown}");
    }
    assert_eq!(fake.token_requests(), 0);
    assert!(fake.seen().with_prefix("/v1/").is_empty(), "no API call without a token");
}

#[tokio::test]
async fn a_250_entry_playlist_is_read_over_three_pages_skipping_what_is_no_track() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    let playlist_id = "37i9dQZF1DXcBWIGoYBM5M";
    let entries: Vec<serde_json::Value> = (0..250)
        .map(|n| match n {
            10 => null_entry(),
            150 => item_entry(numbered_track(n)),
            _ => entry(numbered_track(n)),
        })
        .collect();
    fake.add_playlist(playlist_id, "Today's Top Hits", entries);
    let spotify = client(&fake, CLIENT_SECRET);

    let playlist = spotify.playlist(playlist_id).await.unwrap();
    assert_eq!(playlist.title, "Today's Top Hits");
    assert_eq!(playlist.total, 250);
    assert!(!playlist.truncated);
    assert_eq!(playlist.tracks.len(), 249, "the removed (null) entry is left out");
    let expected: Vec<String> = (0..250).filter(|n| *n != 10).map(|n| format!("Song {n}")).collect();
    let titles: Vec<&str> = playlist.tracks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, expected);
    let from_item = &playlist.tracks[149];
    assert_eq!(from_item.id, id('t', 150));
    assert_eq!(from_item.isrc.as_deref(), Some("USRC10000150"));

    // The playlist object held the first 100; two more pages follow `next`.
    assert_eq!(fake.seen().with_prefix(&format!("/v1/playlists/{playlist_id}")).len(), 3);
    let pages = fake.seen().with_prefix(&format!("/v1/playlists/{playlist_id}/tracks"));
    let pages: Vec<&str> = pages.iter().map(|s| s.path_and_query.as_str()).collect();
    assert_eq!(
        pages,
        vec![
            format!("/v1/playlists/{playlist_id}/tracks?offset=100&limit=100"),
            format!("/v1/playlists/{playlist_id}/tracks?offset=200&limit=100")
        ]
    );
}

#[tokio::test]
async fn a_playlist_object_without_entries_is_read_from_its_items_link() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    fake.set_playlist_shape(PlaylistShape::Stub);
    let playlist_id = "3cEYpjA9oz9GiPac4AsH4n";
    let mut entries: Vec<serde_json::Value> = (0..120).map(|n| item_entry(numbered_track(n))).collect();
    entries.insert(5, local_entry("my demo.mp3"));
    entries.insert(6, episode_entry(&id('e', 1)));
    fake.add_playlist(playlist_id, "Mixed", entries);
    let spotify = client(&fake, CLIENT_SECRET);

    let playlist = spotify.playlist(playlist_id).await.unwrap();
    assert_eq!(playlist.total, 122);
    assert_eq!(playlist.tracks.len(), 120, "local files and episodes are left out");
    assert_eq!(playlist.tracks[119].title, "Song 119");
    let pages = fake.seen().with_prefix(&format!("/v1/playlists/{playlist_id}/tracks"));
    assert_eq!(pages.len(), 3, "122 entries in pages of 50");
    assert!(pages[0].path_and_query.ends_with("?limit=50&offset=0"), "{pages:?}");
}

#[tokio::test]
async fn a_long_playlist_is_cut_at_the_cap() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    let playlist_id = "1aaaaaaaaaaaaaaaaaaaaa";
    fake.add_playlist(playlist_id, "Huge", (0..1005).map(|n| entry(numbered_track(n))).collect());
    let spotify = client(&fake, CLIENT_SECRET);
    let playlist = spotify.playlist(playlist_id).await.unwrap();
    assert_eq!(playlist.tracks.len(), MAX_COLLECTION_TRACKS);
    assert_eq!(playlist.total, 1005);
    assert!(playlist.truncated);
    assert_eq!(playlist.tracks.last().unwrap().title, "Song 999");
    // 10 pages of 100 are enough: the 11th is not asked for.
    assert_eq!(fake.seen().with_prefix(&format!("/v1/playlists/{playlist_id}/tracks")).len(), 9);
}

#[tokio::test]
async fn an_album_pages_its_simplified_tracks_with_the_album_cover() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    let album_id = "4aawyAB9vmqN3uQ7FjRGTy";
    fake.add_album(album_id, "Global Warming", "Pitbull", (0..60).map(numbered_track).collect());
    let spotify = client(&fake, CLIENT_SECRET);

    let album = spotify.album(album_id).await.unwrap();
    assert_eq!(album.title, "Global Warming");
    assert_eq!(album.total, 60);
    assert_eq!(album.tracks.len(), 60);
    assert_eq!(album.tracks[59].title, "Song 59");
    let first = &album.tracks[0];
    assert_eq!(first.artwork_url, Some(format!("https://i.scdn.co/image/{album_id}-640")));
    assert_eq!(first.isrc, None, "album pages carry no ISRC");
    assert_eq!(first.duration_ms, Some(180_000));
    let pages = fake.seen().with_prefix(&format!("/v1/albums/{album_id}/tracks"));
    assert_eq!(pages.len(), 1);
    assert!(pages[0].path_and_query.ends_with("offset=50&limit=50"));
}

#[tokio::test]
async fn missing_forbidden_and_rate_limited_answers_are_told_apart() {
    let fake = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
    let spotify = client(&fake, CLIENT_SECRET);
    let missing = spotify.track("0000000000000000000000").await.unwrap_err();
    assert!(matches!(missing, LookupError::NotFound), "{missing:?}");
    assert!(matches!(spotify.playlist("0000000000000000000000").await, Err(LookupError::NotFound)));

    let private_id = "5bbbbbbbbbbbbbbbbbbbbb";
    fake.add_playlist(private_id, "Mine", Vec::new());
    fake.forbid(private_id);
    assert!(matches!(spotify.playlist(private_id).await, Err(LookupError::Private)));

    fake.set_rate_limited(Some(7));
    let limited = spotify.track("4uLU6hMCjMI75M1A2tKUQC").await.unwrap_err();
    assert!(
        matches!(limited, LookupError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{limited:?}"
    );

    // Malformed ids never reach the API.
    let before = fake.seen().all().len();
    assert!(matches!(spotify.track("../../v1/me").await, Err(LookupError::NotFound)));
    assert_eq!(fake.seen().all().len(), before);
}
