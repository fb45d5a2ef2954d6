//! Music-service links through the registry, over real HTTP: Spotify,
//! Deezer, Apple Music and YouTube (oEmbed) fakes for the metadata, a fake
//! Audius catalog for the playable tracks, and the track cache on SQLite.

use std::sync::Arc;

use async_trait::async_trait;
use timmybot_core::{StoreError, StoreErrorKind, TrackCache};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_sources::audius::Audius;
use timmybot_sources::links::{
    AppleClient, DeezerClient, LinkResolver, SpotifyClient, SpotifyCredentials, YouTubeOembed,
};
use timmybot_sources::{ApiClient, Catalog};
use timmybot_test_support::audio::tone_wav;
use timmybot_test_support::fake_apis::apple::{FakeApple, collection_json, song_json};
use timmybot_test_support::fake_apis::audius::{
    FakeAudius, FakeAudiusCatalog, FakeAudiusTrack, FakeAudiusUser, FakeStream,
};
use timmybot_test_support::fake_apis::deezer::{self, FakeDeezer};
use timmybot_test_support::fake_apis::spotify::{self, FakeSpotify};
use timmybot_test_support::fake_apis::youtube_oembed::FakeYouTubeOembed;
use timmybot_voice::{AudiusSource, ServiceLinkSource, SourceError, SourceResolver};
use url::Url;

const ARTIST: &str = "Test Band";
const CLIENT_ID: &str = "test-client-id";
const CLIENT_SECRET: &str = "test-client-secret";
const PLAYLIST: &str = "4aBcDeFgHiJkLmNoPqRsTu";
/// An ISRC only the Audius track "Delta" carries.
const DELTA_ISRC: &str = "QZTST2400004";

/// Every fake, and the clients pointed at them.
struct World {
    spotify: FakeSpotify,
    deezer: FakeDeezer,
    apple: FakeApple,
    youtube: FakeYouTubeOembed,
    audius: FakeAudius,
}

fn policy() -> OutboundPolicy {
    OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() }
}

fn api() -> ApiClient {
    ApiClient::new(SafeHttpClient::new(policy()))
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// A 4-second Spotify track by the band.
fn sp_track(id: &str, title: &str, isrc: &str) -> serde_json::Value {
    spotify::track_json(id, title, &[ARTIST], 4_000, isrc)
}

impl World {
    async fn start() -> Self {
        let audius_catalog = FakeAudiusCatalog {
            users: vec![FakeAudiusUser::new("u1", "testband", ARTIST)],
            tracks: [("A1", "Alpha"), ("B2", "Beta"), ("C3", "Gamma")]
                .iter()
                .map(|(id, title)| FakeAudiusTrack { duration_secs: 4, ..FakeAudiusTrack::new(*id, *title, "u1") })
                .chain([FakeAudiusTrack {
                    duration_secs: 200,
                    isrc: Some(DELTA_ISRC.to_owned()),
                    ..FakeAudiusTrack::new("D4", "Delta", "u1")
                }])
                .collect(),
            playlists: vec![],
        };
        let audius = FakeAudius::start(audius_catalog).await.unwrap();
        audius.set_stream(FakeStream::Bytes {
            content_type: "audio/wav".into(),
            body: tone_wav(440.0, 1.0).unwrap().into(),
        });

        let spotify = FakeSpotify::start(CLIENT_ID, CLIENT_SECRET).await.unwrap();
        let entries = vec![
            spotify::entry(sp_track("1111111111111111111111", "Alpha", "QZTST2400001")),
            spotify::entry(sp_track("2222222222222222222222", "Beta", "QZTST2400002")),
            spotify::entry(sp_track("3333333333333333333333", "Nowhere To Be Found", "QZTST2400009")),
            spotify::entry(sp_track("4444444444444444444444", "Gamma (Remastered 2020)", "QZTST2400003")),
        ];
        spotify.add_playlist(PLAYLIST, "Road Trip", entries);

        let deezer = FakeDeezer::start().await.unwrap();
        // Another title and an hour long: only the ISRC can match it.
        deezer.add_track(deezer::track_json(3_135_556, "Delta", ARTIST, 3_600, DELTA_ISRC));

        let apple = FakeApple::start().await.unwrap();
        apple.add_album(
            "us",
            collection_json(1_440_857_781, "Greek Letters", ARTIST, 2),
            vec![
                song_json(1_440_857_782, 1_440_857_781, "Gamma", ARTIST, 4_100, 1, 2),
                song_json(1_440_857_783, 1_440_857_781, "Beta", ARTIST, 3_900, 1, 1),
            ],
        );

        let youtube = FakeYouTubeOembed::start().await.unwrap();
        youtube.add_video("dQw4w9WgXcQ", "Test Band - Alpha (Official Video)", "TestBandVEVO");
        Self { spotify, deezer, apple, youtube, audius }
    }

    fn links(&self, spotify: Option<SpotifyCredentials>) -> LinkResolver {
        LinkResolver::from_clients(
            spotify.map(|credentials| {
                SpotifyClient::new(api(), credentials)
                    .with_base_urls(url(&self.spotify.base_url()), url(&self.spotify.base_url()))
            }),
            DeezerClient::new(api()).with_base_url(url(&self.deezer.base_url())),
            AppleClient::new(api()).with_base_url(url(&self.apple.base_url())),
            YouTubeOembed::new(api()).with_base_url(url(&self.youtube.base_url())),
        )
    }

    fn catalog(&self) -> Audius {
        Audius::with_hosts(api(), "timmybot-test", vec![url(&self.audius.base_url())])
    }

    /// A registry of Audius and the service links, caching in `cache`.
    fn resolver(&self, cache: Option<Arc<dyn TrackCache>>) -> SourceResolver {
        self.resolver_with(self.links(Some(SpotifyCredentials::new(CLIENT_ID, CLIENT_SECRET))), cache)
    }

    fn resolver_with(&self, links: LinkResolver, cache: Option<Arc<dyn TrackCache>>) -> SourceResolver {
        let catalog = self.catalog();
        let mut service_links = ServiceLinkSource::new(links, vec![Arc::new(catalog.clone()) as Arc<dyn Catalog>]);
        if let Some(cache) = cache {
            service_links = service_links.with_cache(cache);
        }
        SourceResolver::new(SafeHttpClient::new(policy()), None)
            .with_source(Arc::new(AudiusSource::new(catalog)))
            .with_source(Arc::new(service_links))
    }

    fn spotify_api_calls(&self) -> usize {
        self.spotify.seen().with_prefix("/v1/").len()
    }

    fn audius_searches(&self) -> usize {
        self.audius.seen().with_prefix("/v1/tracks/search").len()
    }
}

fn sqlite_cache() -> Arc<dyn TrackCache> {
    Arc::new(timmybot_embedded::SqliteStore::in_memory().unwrap())
}

fn playlist_link() -> String {
    format!("https://open.spotify.com/playlist/{PLAYLIST}?si=shared-from-the-app")
}

fn locators(resolved: &timmybot_voice::ResolvedSource) -> Vec<String> {
    std::iter::once(resolved.source.clone())
        .chain(resolved.more.iter().map(|t| t.locator.clone().expect("a matched track has a locator")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spotify_playlist_becomes_its_matched_audius_tracks_in_order_with_the_unmatched_named() {
    let world = World::start().await;
    let resolver = world.resolver(Some(sqlite_cache()));
    let resolved = resolver.resolve(&playlist_link()).await.unwrap();
    assert_eq!(locators(&resolved), ["audius:A1", "audius:B2", "audius:C3"]);
    assert_eq!(resolved.notes.collection.as_deref(), Some("Road Trip"));
    assert_eq!(resolved.notes.unmatched, [format!("{ARTIST} – Nowhere To Be Found")]);
    assert_eq!(resolved.notes.skipped, 0);
    let note = resolved.notes.message().unwrap();
    assert!(note.contains("**Test Band – Nowhere To Be Found**"), "{note}");
    // The first track was opened through Audius: its stream was asked for,
    // and nothing of Spotify but its API.
    assert_eq!(world.audius.seen().with_prefix("/v1/tracks/A1/stream").len(), 1);
    assert!(
        world
            .spotify
            .seen()
            .all()
            .iter()
            .all(|s| s.path_and_query.starts_with("/v1/") || s.path_and_query == "/api/token")
    );
    assert_eq!(resolved.more[0].title, "Beta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deezer_track_is_matched_by_its_isrc_whatever_its_duration() {
    let world = World::start().await;
    let resolved = world.resolver(None).resolve("https://www.deezer.com/fr/track/3135556").await.unwrap();
    assert_eq!(resolved.source, "audius:D4");
    assert!(resolved.more.is_empty());
    assert_eq!(resolved.notes.collection, None, "a single track names no collection");
    assert!(resolved.notes.unmatched.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apple_music_album_is_matched_in_disc_and_track_order() {
    let world = World::start().await;
    let resolved =
        world.resolver(None).resolve("https://music.apple.com/us/album/greek-letters/1440857781").await.unwrap();
    assert_eq!(locators(&resolved), ["audius:B2", "audius:C3"]);
    assert_eq!(resolved.notes.collection.as_deref(), Some("Greek Letters"));
    assert_eq!(world.apple.seen().with_prefix("/lookup").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_youtube_video_is_read_through_oembed_and_matched_by_its_title() {
    let world = World::start().await;
    let resolved = world.resolver(None).resolve("https://youtu.be/dQw4w9WgXcQ?si=x").await.unwrap();
    assert_eq!(resolved.source, "audius:A1");
    assert_eq!(world.youtube.seen().with_prefix("/oembed").len(), 1);
}

#[tokio::test]
async fn spotify_without_credentials_is_refused_as_not_set_up() {
    let world = World::start().await;
    let resolver = world.resolver_with(world.links(None), None);
    let error = resolver.resolve(&playlist_link()).await.unwrap_err();
    assert!(matches!(error, SourceError::Lookup(timmybot_sources::LookupError::NotConfigured("Spotify"))), "{error:?}");
    assert_eq!(error.user_message(), "Spotify links are not set up on this bot.");
    assert!(world.spotify.seen().all().is_empty(), "nothing was asked of Spotify");
}

#[tokio::test]
async fn turned_off_service_links_are_refused_naming_the_service() {
    let world = World::start().await;
    let resolver = SourceResolver::new(SafeHttpClient::new(policy()), None)
        .with_source(Arc::new(AudiusSource::new(world.catalog())))
        .with_source(Arc::new(ServiceLinkSource::disabled()));
    let error = resolver.resolve(&playlist_link()).await.unwrap_err();
    assert_eq!(error.user_message(), "Spotify is turned off on this bot.");
    let error = resolver.resolve("https://www.deezer.com/track/3135556").await.unwrap_err();
    assert_eq!(error.user_message(), "Deezer is turned off on this bot.");
    assert!(world.spotify.seen().all().is_empty() && world.deezer.seen().all().is_empty());
}

#[tokio::test]
async fn a_link_whose_tracks_match_nothing_says_how_many_were_looked_for() {
    let world = World::start().await;
    let lost: Vec<serde_json::Value> = (0..3)
        .map(|n| spotify::entry(sp_track(&format!("{n}{}", "9".repeat(21)), &format!("Lost {n}"), "QZTST2400099")))
        .collect();
    world.spotify.add_playlist("5aBcDeFgHiJkLmNoPqRsTu", "Lost", lost);
    let error =
        world.resolver(None).resolve("https://open.spotify.com/playlist/5aBcDeFgHiJkLmNoPqRsTu").await.unwrap_err();
    assert!(matches!(error, SourceError::NotMatched { looked_for: 3, what: "playlist" }), "{error:?}");
    assert_eq!(error.user_message(), "None of the 3 tracks of that playlist were found on the playable sources.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_resolve_of_a_link_comes_from_the_cache() {
    let world = World::start().await;
    let cache = sqlite_cache();
    let resolver = world.resolver(Some(cache.clone()));
    let first = resolver.resolve(&playlist_link()).await.unwrap();
    let (api_calls, searches) = (world.spotify_api_calls(), world.audius_searches());
    assert!(api_calls >= 1 && searches >= 4, "{api_calls} spotify calls, {searches} searches");
    // Another form of the same link, and another registry on the same cache
    // (another process): no second Spotify call, no second search.
    let again = world.resolver(Some(cache.clone()));
    let second = again.resolve(&format!("https://open.spotify.com/intl-de/playlist/{PLAYLIST}")).await.unwrap();
    assert_eq!(world.spotify_api_calls(), api_calls, "no second Spotify API call");
    assert_eq!(world.audius_searches(), searches, "the matches (and the miss) came from the cache");
    assert_eq!(locators(&second), locators(&first));
    assert_eq!(second.notes, first.notes);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let key = format!("link:v1:spotify:playlist:{PLAYLIST}");
    let stored = cache.get(&key, now).await.unwrap().expect("the collection is cached");
    assert!(stored.contains("Nowhere To Be Found"), "{stored}");
    let hour = 3_600_000;
    assert!(cache.get(&key, now + 5 * hour).await.unwrap().is_some(), "kept for hours");
    assert!(cache.get(&key, now + 7 * hour).await.unwrap().is_none(), "but not much more than six");
}

/// A track cache whose every call fails, as a store that is down does.
struct BrokenCache;

#[async_trait]
impl TrackCache for BrokenCache {
    async fn get(&self, _key: &str, _now_ms: u64) -> Result<Option<String>, StoreError> {
        Err(StoreError::new(StoreErrorKind::Unavailable))
    }
    async fn put(&self, _key: &str, _value: &str, _expires_at_ms: u64) -> Result<(), StoreError> {
        Err(StoreError::new(StoreErrorKind::Unavailable))
    }
    async fn remove(&self, _key: &str) -> Result<(), StoreError> {
        Err(StoreError::new(StoreErrorKind::Unavailable))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_cache_is_passed_over_and_the_link_still_plays() {
    let world = World::start().await;
    let resolver = world.resolver(Some(Arc::new(BrokenCache)));
    let resolved = resolver.resolve(&playlist_link()).await.unwrap();
    assert_eq!(locators(&resolved), ["audius:A1", "audius:B2", "audius:C3"]);
    let calls = world.spotify_api_calls();
    resolver.resolve(&playlist_link()).await.unwrap();
    assert!(world.spotify_api_calls() > calls, "without a cache the link is read again");
}

// --- members' playlists (`SourceResolver::open_playlist`) ------------------

fn member() -> timmybot_core::UserId {
    timmybot_core::UserId::new(42).unwrap()
}

fn member_playlist(entries: Vec<timmybot_core::PlaylistEntry>) -> timmybot_core::MemberPlaylist {
    timmybot_core::MemberPlaylist {
        owner: member(),
        name: timmybot_core::PlaylistName::parse("Mine").unwrap(),
        origin: timmybot_core::PlaylistOrigin::File,
        entries,
        updated_at_ms: 0,
    }
}

fn imported(title: &str) -> timmybot_core::PlaylistEntry {
    timmybot_core::PlaylistEntry::metadata(title, ARTIST, Some(4_000), None)
}

fn playable(source: &str) -> timmybot_core::PlaylistEntry {
    timmybot_core::PlaylistEntry { source: Some(source.into()), ..imported(source) }
}

/// A dead address on this machine (allowed by the test policy): nothing
/// listens on the port once the listener is dropped.
fn dead_link() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/gone.ogg", listener.local_addr().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_playlist_matches_its_imports_skips_a_dead_first_entry_and_keeps_the_order() {
    let world = World::start().await;
    let resolver = world
        .resolver(None)
        .with_matcher(timmybot_voice::TrackMatcher::new(vec![Arc::new(world.catalog()) as Arc<dyn Catalog>]));
    let playlist = member_playlist(vec![
        playable(&dead_link()),
        imported("Gamma"),
        imported("Nowhere To Be Found"),
        playable("audius:A1"),
        imported("Beta"),
    ]);
    let opened = resolver.open_playlist(&playlist, member(), 1000).await.unwrap();
    let sources: Vec<&str> = opened.tracks.iter().map(|t| t.source.as_str()).collect();
    assert_eq!(sources, ["audius:C3", "audius:A1", "audius:B2"], "the dead entry left out, the rest in order");
    assert_eq!(opened.tracks[0].title, format!("{ARTIST} – Gamma"));
    assert!(opened.tracks.iter().all(|t| t.requested_by == member()));
    assert_eq!(opened.first.source, "audius:C3", "the first playable entry was opened");
    assert_eq!(opened.notes.unmatched, [format!("{ARTIST} – Nowhere To Be Found")]);
    assert_eq!(opened.notes.skipped, 1, "the entry that did not open");
    assert!(!opened.notes.truncated);
    assert_eq!(opened.notes.collection.as_deref(), Some("Mine"));

    let cut = resolver.open_playlist(&playlist, member(), 2).await.unwrap();
    assert_eq!(cut.tracks.len(), 1, "the dead entry and one more fit the room");
    assert!(cut.notes.truncated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_catalog_imports_are_left_out_and_an_all_import_playlist_is_refused() {
    let world = World::start().await;
    // No matcher: the registry opens Audius locators, but nothing matches.
    let resolver = world.resolver(None);
    let mixed = member_playlist(vec![imported("Alpha"), playable("audius:B2")]);
    let opened = resolver.open_playlist(&mixed, member(), 1000).await.unwrap();
    assert_eq!(opened.tracks.len(), 1);
    assert_eq!(opened.notes.skipped, 1);
    assert!(opened.notes.unmatched.is_empty(), "nothing was looked for");
    assert_eq!(world.audius_searches(), 0);
    let Err(error) = resolver.open_playlist(&member_playlist(vec![imported("Alpha")]), member(), 1000).await else {
        panic!("nothing playable")
    };
    assert!(matches!(error, SourceError::NotMatched { looked_for: 1, what: "playlist" }), "{error:?}");
}
