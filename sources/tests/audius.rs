//! The Audius client against the fake Audius host, over real HTTP on
//! loopback.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_sources::audius::{self, Audius, AudiusItem};
use timmybot_sources::{ApiClient, Catalog, LookupError, Origin};
use timmybot_test_support::fake_apis::Served;
use timmybot_test_support::fake_apis::audius::{
    FakeAudius, FakeAudiusCatalog, FakeAudiusPlaylist, FakeAudiusTrack, FakeAudiusUser, FakeStream,
};
use tokio::time::Instant;
use url::Url;

const APP_NAME: &str = "timmybot-tests";
const USER_AGENT: &str = "timmybot-tests/1.0 (audius suite)";

fn api() -> ApiClient {
    let policy = OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() };
    ApiClient::new(SafeHttpClient::new(policy)).with_user_agent(USER_AGENT)
}

async fn closed_host() -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{addr}/")).unwrap()
}

fn catalog() -> FakeAudiusCatalog {
    FakeAudiusCatalog {
        users: vec![FakeAudiusUser::new("u1", "camouflybeats", "Camoufly"), FakeAudiusUser::new("u2", "nyx", "Nyx")],
        tracks: vec![
            FakeAudiusTrack {
                duration_secs: 215,
                isrc: Some("us-s1z-99-00001".into()),
                artwork_480: Some("https://art.example/480x480.jpg".into()),
                ..FakeAudiusTrack::new("D7KyD", "Hypermantra", "u1")
            },
            FakeAudiusTrack { isrc: Some("not an isrc".into()), ..FakeAudiusTrack::new("Ab12", "Hyper Drive", "u2") },
            FakeAudiusTrack { is_streamable: false, ..FakeAudiusTrack::new("Gated1", "Hyper Gated", "u2") },
            FakeAudiusTrack { is_unlisted: true, ..FakeAudiusTrack::new("Hid1", "Hyper Hidden", "u2") },
            FakeAudiusTrack { is_delete: true, ..FakeAudiusTrack::new("Del1", "Hyper Deleted", "u2") },
            FakeAudiusTrack::new("Calm1", "Calm Waters", "u2"),
        ],
        playlists: vec![
            FakeAudiusPlaylist::new(
                "PL1",
                "Hyper Mix",
                "u1",
                vec!["Calm1".into(), "Gated1".into(), "D7KyD".into(), "Missing".into()],
            ),
            FakeAudiusPlaylist {
                is_album: true,
                ..FakeAudiusPlaylist::new("AL1", "Nyx LP", "u2", vec!["Ab12".into()])
            },
        ],
    }
}

async fn start() -> (FakeAudius, Audius) {
    let fake = FakeAudius::start(catalog()).await.unwrap();
    let client = Audius::with_hosts(api(), APP_NAME, vec![Url::parse(&fake.base_url()).unwrap()]);
    (fake, client)
}

fn ids(tracks: &[timmybot_sources::TrackMeta]) -> Vec<&str> {
    tracks.iter().map(|t| t.id.as_str()).collect()
}

/// Every request the fake saw named the app and the software.
fn assert_identified(fake: &FakeAudius) {
    let seen = fake.seen().all();
    assert!(!seen.is_empty());
    for s in &seen {
        assert!(s.path_and_query.contains(&format!("app_name={APP_NAME}")), "no app_name: {s:?}");
        assert_eq!(s.user_agent.as_deref(), Some(USER_AGENT), "{s:?}");
    }
}

#[tokio::test]
async fn the_fake_refuses_requests_without_an_app_name() {
    // What makes the app_name assertions below able to fail.
    let (fake, _) = start().await;
    let http = SafeHttpClient::new(OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..Default::default() });
    let url = Url::parse(&format!("{}v1/tracks/D7KyD", fake.base_url())).unwrap();
    let fetched = http.fetch(http.request(reqwest::Method::GET, url)).await.unwrap();
    assert_eq!(fetched.status, 400);
}

#[tokio::test]
async fn a_search_lists_streamable_listed_tracks_with_their_metadata() {
    let (fake, client) = start().await;
    let found = client.search_tracks("hyper", 10).await.unwrap();

    assert_eq!(ids(&found), ["D7KyD", "Ab12"]);
    let first = &found[0];
    assert_eq!(first.origin, Origin::Audius);
    assert_eq!(first.title, "Hypermantra");
    assert_eq!(first.artist.as_deref(), Some("Camoufly"));
    assert_eq!(first.duration_ms, Some(215_000));
    assert_eq!(first.isrc.as_deref(), Some("USS1Z9900001"));
    assert_eq!(first.artwork_url.as_deref(), Some("https://art.example/480x480.jpg"));
    assert!(!first.live);
    assert_eq!(first.locator.as_deref(), Some("audius:D7KyD"));
    assert_eq!(found[1].isrc, None, "an invalid ISRC is dropped");

    let searches = fake.seen().with_prefix("/v1/tracks/search");
    assert_eq!(searches.len(), 1);
    assert!(searches[0].path_and_query.contains("query=hyper"));
    assert_identified(&fake);
}

#[tokio::test]
async fn the_catalog_search_is_the_track_search_with_a_capped_limit() {
    let (fake, client) = start().await;
    let catalog: &dyn Catalog = &client;
    assert_eq!(catalog.name(), "Audius");
    let found = catalog.search("hyper", 1).await.unwrap();
    assert_eq!(ids(&found), ["D7KyD"]);
    assert!(found.iter().all(|t| t.locator.is_some()));

    client.search_tracks("calm", 1000).await.unwrap();
    let searches = fake.seen().with_prefix("/v1/tracks/search");
    assert!(searches[1].path_and_query.contains("limit=25"), "{searches:?}");
}

#[tokio::test]
async fn an_empty_query_finds_nothing_without_asking() {
    let (fake, client) = start().await;
    assert!(client.search_tracks("  ", 5).await.unwrap().is_empty());
    assert!(fake.seen().all().is_empty());
}

#[tokio::test]
async fn a_track_is_looked_up_by_id() {
    let (fake, client) = start().await;
    let track = client.track("D7KyD").await.unwrap();
    assert_eq!(track.display_title(), "Camoufly – Hypermantra");
    assert_eq!(audius::parse_locator(track.locator.as_deref().unwrap()), Some("D7KyD"));
    assert_identified(&fake);
}

#[tokio::test]
async fn unknown_gated_deleted_and_unlisted_tracks_are_not_played() {
    let (fake, client) = start().await;
    assert!(matches!(client.track("Nope").await, Err(LookupError::NotFound)));
    assert!(matches!(client.track("Gated1").await, Err(LookupError::NotFound)));
    assert!(matches!(client.track("Del1").await, Err(LookupError::NotFound)));
    assert!(matches!(client.track("Hid1").await, Err(LookupError::Private)));
    assert_eq!(fake.seen().all().len(), 4);

    assert!(matches!(client.track("../users/u1").await, Err(LookupError::NotFound)));
    assert!(matches!(client.playlist_tracks("a b").await, Err(LookupError::NotFound)));
    assert_eq!(fake.seen().all().len(), 4, "malformed ids must not reach the API");
}

#[tokio::test]
async fn a_track_link_resolves_to_the_track() {
    let (fake, client) = start().await;
    let link = Url::parse(&format!("{}?utm_source=share#t=10", fake.track_link("D7KyD"))).unwrap();

    let item = client.resolve(&link).await.unwrap();
    let AudiusItem::Track(track) = item else { panic!("not a track: {item:?}") };
    assert_eq!(track.id, "D7KyD");
    assert_eq!(track.title, "Hypermantra");

    let resolves = fake.seen().with_prefix("/v1/resolve");
    assert_eq!(resolves.len(), 1);
    assert!(!resolves[0].path_and_query.contains("utm_source"), "tracking parameters are not sent: {resolves:?}");
    assert_eq!(fake.seen().with_prefix("/v1/tracks/D7KyD").len(), 1, "the redirect was followed");
    assert_identified(&fake);
}

#[tokio::test]
async fn a_playlist_link_resolves_to_its_playable_tracks_in_order() {
    let (fake, client) = start().await;
    let link = Url::parse(&fake.playlist_link("PL1")).unwrap();
    assert!(audius::is_audius_link(&link));

    let item = client.resolve(&link).await.unwrap();
    let AudiusItem::Playlist { title, tracks } = item else { panic!("not a playlist: {item:?}") };
    assert_eq!(title, "Hyper Mix");
    assert_eq!(ids(&tracks), ["Calm1", "D7KyD"], "the gated track is left out");
    assert_eq!(fake.seen().with_prefix("/v1/playlists/PL1/tracks").len(), 1);
    assert_identified(&fake);
}

#[tokio::test]
async fn an_album_link_resolves_like_a_playlist() {
    let (fake, client) = start().await;
    let link = Url::parse(&fake.playlist_link("AL1")).unwrap();
    assert!(link.path().contains("/album/"));
    let item = client.resolve(&link).await.unwrap();
    assert_eq!(
        item,
        AudiusItem::Playlist { title: "Nyx LP".into(), tracks: vec![client.track("Ab12").await.unwrap()] }
    );
}

#[tokio::test]
async fn links_that_name_no_playable_item_are_not_found() {
    let (fake, client) = start().await;
    let unknown = Url::parse("https://audius.co/camouflybeats/no-such-track").unwrap();
    assert!(matches!(client.resolve(&unknown).await, Err(LookupError::NotFound)));
    assert_eq!(fake.seen().all().len(), 1);

    // An artist's page and other sites are refused before asking.
    let artist = Url::parse("https://audius.co/camouflybeats").unwrap();
    assert!(matches!(client.resolve(&artist).await, Err(LookupError::NotFound)));
    let elsewhere = Url::parse("https://example.com/camouflybeats/track-d7kyd").unwrap();
    assert!(matches!(client.resolve(&elsewhere).await, Err(LookupError::NotFound)));
    assert_eq!(fake.seen().all().len(), 1);
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_once() {
    let (fake, client) = start().await;
    fake.rate_limit_next(1, "1");
    let started = Instant::now();

    let track = client.track("D7KyD").await.unwrap();
    assert_eq!(track.id, "D7KyD");
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited as asked");
    assert_eq!(fake.seen().all().len(), 2);
}

#[tokio::test]
async fn a_long_retry_after_is_handed_back_without_waiting() {
    let (fake, client) = start().await;
    fake.rate_limit_next(5, "30");
    let started = Instant::now();

    let error = client.search_tracks("hyper", 5).await.unwrap_err();
    assert!(
        matches!(error, LookupError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(30)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.seen().all().len(), 1, "no retry");
}

#[tokio::test]
async fn a_second_429_after_waiting_is_handed_back() {
    let (fake, client) = start().await;
    fake.rate_limit_next(3, "1");
    let error = client.track("D7KyD").await.unwrap_err();
    assert!(matches!(error, LookupError::RateLimited { .. }), "{error:?}");
    assert_eq!(fake.seen().all().len(), 2, "one wait, one retry, then give up");
}

#[tokio::test]
async fn a_host_that_is_down_is_skipped() {
    let fake = FakeAudius::start(catalog()).await.unwrap();
    let good = Url::parse(&fake.base_url()).unwrap();
    let client = Audius::with_hosts(api(), APP_NAME, vec![closed_host().await, good.clone()]);

    assert_eq!(client.track("D7KyD").await.unwrap().id, "D7KyD");
    assert_eq!(client.hosts()[0], good, "the host that answered is tried first from now on");
    assert!(client.stream_url("D7KyD").as_str().starts_with(good.as_str()));
}

#[tokio::test]
async fn when_every_host_is_down_the_member_is_told_it_could_not_be_reached() {
    let client = Audius::with_hosts(api(), APP_NAME, vec![closed_host().await]);
    let error = client.track("D7KyD").await.unwrap_err();
    assert!(matches!(error, LookupError::Fetch(_)), "{error:?}");
    assert_eq!(error.user_message(), "That source could not be reached.");
}

#[tokio::test]
async fn discovery_keeps_the_listed_hosts_and_falls_over_from_one_that_is_down() {
    let fake = FakeAudius::start(catalog()).await.unwrap();
    let own = fake.base_url().trim_end_matches('/').to_owned();
    let down = closed_host().await;
    fake.set_discovery_hosts(vec![
        down.as_str().trim_end_matches('/').to_owned(),
        own.clone(),
        "https://other-scheme.example".into(),
        "not a link".into(),
        own.clone(),
    ]);
    let discovery = Url::parse(&fake.base_url()).unwrap();

    let client = Audius::discover(api(), APP_NAME, discovery).await.unwrap();
    let mut hosts: Vec<String> = client.hosts().iter().map(ToString::to_string).collect();
    hosts.sort();
    let mut expected = vec![down.to_string(), format!("{own}/")];
    expected.sort();
    assert_eq!(hosts, expected, "same scheme only, each once");

    for _ in 0..3 {
        assert_eq!(ids(&client.search_tracks("calm", 5).await.unwrap()), ["Calm1"]);
    }
    assert_identified(&fake);
}

#[tokio::test]
async fn a_host_list_without_usable_hosts_is_a_bad_response() {
    let fake = FakeAudius::start(catalog()).await.unwrap();
    fake.set_discovery_hosts(vec!["https://elsewhere.example".into()]);
    let discovery = Url::parse(&fake.base_url()).unwrap();
    let error = Audius::discover(api(), APP_NAME, discovery).await.unwrap_err();
    assert!(matches!(error, LookupError::BadResponse(_)), "{error:?}");
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_a_bad_response() {
    let (fake, client) = start().await;
    fake.set_malformed(true);
    assert!(matches!(client.search_tracks("hyper", 5).await, Err(LookupError::BadResponse(_))));
    assert!(matches!(client.track("D7KyD").await, Err(LookupError::BadResponse(_))));
}

#[tokio::test]
async fn the_stream_link_names_the_app_and_serves_the_audio() {
    let (fake, client) = start().await;
    fake.set_stream(FakeStream::Bytes {
        content_type: "audio/mpeg".into(),
        body: bytes::Bytes::from_static(b"ID3 audio"),
    });
    let url = client.stream_url("D7KyD");
    assert_eq!(url.path(), "/v1/tracks/D7KyD/stream");
    assert_eq!(url.query(), Some("app_name=timmybot-tests"));

    let http = client_http();
    let fetched = http.fetch(http.request(reqwest::Method::GET, url)).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(&fetched.body[..], b"ID3 audio");
}

#[tokio::test]
async fn the_stream_link_redirects_to_the_audio() {
    let content =
        Served::start("content node", Router::new().route("/audio.mp3", get(|| async { "node audio" }))).await.unwrap();
    let (fake, client) = start().await;
    fake.set_stream(FakeStream::Redirect(format!("{}/audio.mp3", content.base_url())));

    let http = client_http();
    let fetched = http.fetch(http.request(reqwest::Method::GET, client.stream_url("D7KyD"))).await.unwrap();
    assert_eq!(&fetched.body[..], b"node audio");
}

fn client_http() -> SafeHttpClient {
    SafeHttpClient::new(OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() })
}

#[tokio::test]
async fn audius_tracks_are_credited_to_audius() {
    let (_fake, client) = start().await;
    let track = client.track("D7KyD").await.unwrap();
    assert_eq!(audius::attribution(&track).as_deref(), Some("Streamed from Audius"));
}
