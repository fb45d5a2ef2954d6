//! The Deezer, Apple Music (iTunes lookup) and YouTube oEmbed clients, and
//! the resolver bundling them, against their fakes over real HTTP.

use std::sync::Mutex;

use async_trait::async_trait;
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_sources::links::{
    AppleClient, DeezerClient, LinkKind, LinkResolver, ServiceLink, YouTubeOembed, parse_link,
};
use timmybot_sources::matching::{MatchRules, match_collection};
use timmybot_sources::{ApiClient, Catalog, LookupError, Origin, TrackMeta};
use timmybot_test_support::fake_apis::apple::{FakeApple, collection_json, song_json};
use timmybot_test_support::fake_apis::deezer::{FakeDeezer, track_json};
use timmybot_test_support::fake_apis::youtube_oembed::FakeYouTubeOembed;
use url::Url;

fn api() -> ApiClient {
    let policy = OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() };
    ApiClient::new(SafeHttpClient::new(policy))
}

fn url(base: &str) -> Url {
    Url::parse(base).unwrap()
}

fn numbered(n: u64) -> serde_json::Value {
    track_json(1000 + n, &format!("Track {n}"), "Band", 200 + n, &format!("FR6V8{n:07}"))
}

#[tokio::test]
async fn a_deezer_track_has_its_isrc_seconds_and_cover() {
    let fake = FakeDeezer::start().await.unwrap();
    fake.add_track(track_json(3_135_556, "Harder, Better, Faster, Stronger", "Daft Punk", 224, "gbdUW0000059"));
    let deezer = DeezerClient::new(api()).with_base_url(url(&fake.base_url()));
    let track = deezer.track("3135556").await.unwrap();
    assert_eq!(track.origin, Origin::Deezer);
    assert_eq!(track.id, "3135556");
    assert_eq!(track.title, "Harder, Better, Faster, Stronger");
    assert_eq!(track.artist.as_deref(), Some("Daft Punk"));
    assert_eq!(track.duration_ms, Some(224_000));
    assert_eq!(track.isrc.as_deref(), Some("GBDUW0000059"));
    assert!(track.artwork_url.as_deref().is_some_and(|u| u.contains("1000x1000")));
    assert_eq!(track.locator, None);
}

#[tokio::test]
async fn a_deezer_album_reads_past_its_embedded_tracks() {
    let fake = FakeDeezer::start().await.unwrap();
    fake.add_album(302_127, "Discovery", "Daft Punk", (0..120).map(numbered).collect());
    let deezer = DeezerClient::new(api()).with_base_url(url(&fake.base_url()));
    let album = deezer.album("302127").await.unwrap();
    assert_eq!(album.title, "Discovery");
    assert_eq!((album.total, album.tracks.len(), album.truncated), (120, 120, false));
    let titles: Vec<String> = album.tracks.iter().map(|t| t.title.clone()).collect();
    assert_eq!(titles, (0..120).map(|n| format!("Track {n}")).collect::<Vec<_>>());
    assert_eq!(album.tracks[119].isrc.as_deref(), Some("FR6V80000119"));
    let pages = fake.seen().with_prefix("/album/302127/tracks");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].path_and_query, "/album/302127/tracks?index=25&limit=100");
}

#[tokio::test]
async fn a_deezer_playlist_follows_next_links() {
    let fake = FakeDeezer::start().await.unwrap();
    fake.set_embedded_limit(10);
    fake.add_playlist(908_622_995, "Hits", (0..250).map(numbered).collect());
    let deezer = DeezerClient::new(api()).with_base_url(url(&fake.base_url()));
    let playlist = deezer.playlist("908622995").await.unwrap();
    assert_eq!((playlist.total, playlist.tracks.len()), (250, 250));
    assert_eq!(playlist.tracks[249].title, "Track 249");
    let pages: Vec<String> =
        fake.seen().with_prefix("/playlist/908622995/tracks").into_iter().map(|s| s.path_and_query).collect();
    assert_eq!(
        pages,
        vec![
            "/playlist/908622995/tracks?index=10&limit=100",
            "/playlist/908622995/tracks?limit=100&index=110",
            "/playlist/908622995/tracks?limit=100&index=210"
        ]
    );
}

#[tokio::test]
async fn deezer_errors_answered_with_200_are_read() {
    let fake = FakeDeezer::start().await.unwrap();
    let deezer = DeezerClient::new(api()).with_base_url(url(&fake.base_url()));
    assert!(matches!(deezer.track("999999999").await, Err(LookupError::NotFound)));
    assert!(matches!(deezer.album("1").await, Err(LookupError::NotFound)));
    fake.set_quota_exceeded(true);
    let error = deezer.track("3135556").await.unwrap_err();
    assert!(matches!(error, LookupError::RateLimited { retry_after: None }), "{error:?}");
}

fn apple_album(fake: &FakeApple) {
    let album = 1_440_857_781;
    // Listed out of order: the client sorts by disc and track number.
    let songs = vec![
        song_json(1_440_857_790, album, "Lose Yourself to Dance", "Daft Punk", 353_893, 1, 6),
        song_json(1_440_857_785, album, "Give Life Back to Music", "Daft Punk", 274_240, 1, 1),
        song_json(1_440_857_786, album, "The Game of Love", "Daft Punk", 321_866, 1, 2),
    ];
    fake.add_album("gb", collection_json(album, "Random Access Memories", "Daft Punk", 13), songs);
}

#[tokio::test]
async fn an_apple_music_album_lists_its_songs_in_order() {
    let fake = FakeApple::start().await.unwrap();
    apple_album(&fake);
    let apple = AppleClient::new(api()).with_base_url(url(&fake.base_url()));
    let album = apple.album("1440857781", "gb").await.unwrap();
    assert_eq!(album.title, "Random Access Memories");
    assert_eq!(album.total, 13, "the store's track count");
    let titles: Vec<&str> = album.tracks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["Give Life Back to Music", "The Game of Love", "Lose Yourself to Dance"]);
    let first = &album.tracks[0];
    assert_eq!(first.origin, Origin::AppleMusic);
    assert_eq!(first.id, "1440857785");
    assert_eq!(first.artist.as_deref(), Some("Daft Punk"));
    assert_eq!(first.duration_ms, Some(274_240));
    assert_eq!(first.isrc, None);
    assert!(first.artwork_url.as_deref().is_some_and(|u| u.ends_with("100x100bb.jpg")));
    let lookup = &fake.seen().with_prefix("/lookup")[0].path_and_query;
    assert!(lookup.contains("id=1440857781") && lookup.contains("entity=song") && lookup.contains("country=gb"));

    // The same album is not in the US store of the fake.
    assert!(matches!(apple.album("1440857781", "us").await, Err(LookupError::NotFound)));
}

#[tokio::test]
async fn an_apple_music_song_link_and_an_album_link_with_i_resolve_to_one_song() {
    let apple_fake = FakeApple::start().await.unwrap();
    apple_album(&apple_fake);
    let resolver = resolver(None, Some(&apple_fake), None);

    let song_link = parse_link(&url("https://music.apple.com/gb/song/the-game-of-love/1440857786")).unwrap();
    let song = resolver.resolve(&song_link).await.unwrap();
    assert_eq!(song.tracks.len(), 1);
    assert_eq!(song.tracks[0].title, "The Game of Love");
    assert_eq!(song.title, "Daft Punk – The Game of Love");

    let in_album =
        parse_link(&url("https://music.apple.com/gb/album/random-access-memories/1440857781?i=1440857790")).unwrap();
    let picked = resolver.resolve(&in_album).await.unwrap();
    assert_eq!(picked.tracks.len(), 1);
    assert_eq!(picked.tracks[0].id, "1440857790");

    let playlist =
        parse_link(&url("https://music.apple.com/us/playlist/todays-hits/pl.f4d106fed2bd41149aaacabb233eb5eb"))
            .unwrap();
    let error = resolver.resolve(&playlist).await.unwrap_err();
    assert!(matches!(error, LookupError::Unsupported(_)));
    assert!(error.user_message().contains("developer token"), "{}", error.user_message());
}

#[tokio::test]
async fn a_youtube_video_is_read_through_oembed() {
    let fake = FakeYouTubeOembed::start().await.unwrap();
    fake.add_video("dQw4w9WgXcQ", "Rick Astley - Never Gonna Give You Up (Official Music Video)", "Rick Astley");
    fake.add_video("5NV6Rdv1a3I", "Get Lucky", "Daft Punk - Topic");
    let youtube = YouTubeOembed::new(api()).with_base_url(url(&fake.base_url()));

    let video = youtube.video("dQw4w9WgXcQ").await.unwrap();
    assert_eq!(video.origin, Origin::YouTube);
    assert_eq!(video.artist.as_deref(), Some("Rick Astley"));
    assert_eq!(video.title, "Never Gonna Give You Up (Official Music Video)");
    assert_eq!(video.artwork_url.as_deref(), Some("https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"));
    assert_eq!((video.duration_ms, video.locator.as_deref()), (None, None));
    let asked = &fake.seen().with_prefix("/oembed")[0].path_and_query;
    assert!(asked.contains("url=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3DdQw4w9WgXcQ"), "{asked}");
    assert!(asked.contains("format=json"));

    let topic = youtube.video("5NV6Rdv1a3I").await.unwrap();
    assert_eq!((topic.artist.as_deref(), topic.title.as_str()), (Some("Daft Punk"), "Get Lucky"));
}

#[tokio::test]
async fn private_and_missing_youtube_videos_and_playlists_are_refused_clearly() {
    let fake = FakeYouTubeOembed::start().await.unwrap();
    fake.add_private("aaaaaaaaaaa");
    let resolver = resolver(None, None, Some(&fake));
    let private = parse_link(&url("https://youtu.be/aaaaaaaaaaa")).unwrap();
    let error = resolver.resolve(&private).await.unwrap_err();
    assert!(matches!(error, LookupError::Private), "{error:?}");
    let missing = parse_link(&url("https://www.youtube.com/watch?v=bbbbbbbbbbb")).unwrap();
    assert!(matches!(resolver.resolve(&missing).await, Err(LookupError::NotFound)));
    let playlist =
        parse_link(&url("https://www.youtube.com/playlist?list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf")).unwrap();
    let error = resolver.resolve(&playlist).await.unwrap_err();
    assert!(matches!(error, LookupError::Unsupported(_)));
    assert!(error.user_message().contains("video link"));
}

#[tokio::test]
async fn spotify_links_need_credentials() {
    let resolver = resolver(None, None, None);
    let link = ServiceLink::Spotify { kind: LinkKind::Track, id: "4uLU6hMCjMI75M1A2tKUQC".into() };
    let error = resolver.resolve(&link).await.unwrap_err();
    assert!(matches!(error, LookupError::NotConfigured("Spotify")));
    assert_eq!(error.user_message(), "Spotify links are not set up on this bot.");
}

/// A catalog of fixed playable tracks (our own trait, not a network edge),
/// recording the queries it was asked.
struct ListCatalog {
    tracks: Vec<TrackMeta>,
    queries: Mutex<Vec<String>>,
}

#[async_trait]
impl Catalog for ListCatalog {
    fn name(&self) -> &'static str {
        "list"
    }
    async fn search(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
        self.queries.lock().unwrap().push(query.to_owned());
        Ok(self.tracks.iter().take(limit).cloned().collect())
    }
}

#[tokio::test]
async fn a_resolved_deezer_album_is_matched_to_playable_tracks_in_order() {
    let fake = FakeDeezer::start().await.unwrap();
    fake.add_album(
        7,
        "Album",
        "Band",
        vec![
            track_json(1, "First (feat. Guest)", "Band", 200, "FR6V80000001"),
            track_json(2, "Second - Remastered 2011", "Band", 180, "FR6V80000002"),
            track_json(3, "Third", "Band", 240, "FR6V80000003"),
        ],
    );
    let resolver = resolver(Some(&fake), None, None);
    let album = resolver.resolve(&parse_link(&url("https://www.deezer.com/fr/album/7")).unwrap()).await.unwrap();

    let playable = |id: &str, title: &str, secs: u64, isrc: Option<&str>| {
        let mut t = TrackMeta::new(Origin::Audius, id, title);
        t.artist = Some("Band".into());
        t.duration_ms = Some(secs * 1000);
        t.isrc = isrc.map(str::to_owned);
        t.locator = Some(format!("audius:{id}"));
        t
    };
    let catalog = ListCatalog {
        tracks: vec![
            playable("p-second", "Second", 181, None),
            playable("p-first", "Totally different name", 200, Some("FR6V80000001")),
            playable("p-third-live", "Third (Live)", 300, None),
        ],
        queries: Mutex::default(),
    };
    let report = match_collection(&album.tracks, &[&catalog], &MatchRules::default(), 2).await;
    let matched: Vec<(usize, &str)> = report.matched.iter().map(|(i, t)| (*i, t.id.as_str())).collect();
    assert_eq!(matched, vec![(0, "p-first"), (1, "p-second")]);
    assert_eq!(report.unmatched.len(), 1);
    assert_eq!(report.unmatched[0].title, "Third");
    let mut queries = catalog.queries.lock().unwrap().clone();
    queries.sort();
    assert_eq!(queries, ["band first", "band second", "band third"]);
}

fn resolver(
    deezer: Option<&FakeDeezer>,
    apple: Option<&FakeApple>,
    youtube: Option<&FakeYouTubeOembed>,
) -> LinkResolver {
    // A service without a fake points at a closed port: a test that
    // reaches it by mistake fails instead of going to the internet.
    let nowhere = url("http://127.0.0.1:9");
    let base = |fake: Option<String>| fake.map_or_else(|| nowhere.clone(), |b| url(&b));
    LinkResolver::from_clients(
        None,
        DeezerClient::new(api()).with_base_url(base(deezer.map(FakeDeezer::base_url))),
        AppleClient::new(api()).with_base_url(base(apple.map(FakeApple::base_url))),
        YouTubeOembed::new(api()).with_base_url(base(youtube.map(FakeYouTubeOembed::base_url))),
    )
}
