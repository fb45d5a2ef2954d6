//! The Radio Browser client against the fake directory, over real HTTP on
//! loopback.

use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_sources::radio_browser::{self, RadioBrowser};
use timmybot_sources::{ApiClient, LookupError, Origin};
use timmybot_test_support::fake_apis::radio_browser::{FakeRadioBrowser, FakeStation};
use url::Url;

const USER_AGENT: &str = "timmybot-tests/1.0 (radio browser suite)";

fn api() -> ApiClient {
    let policy = OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() };
    ApiClient::new(SafeHttpClient::new(policy)).with_user_agent(USER_AGENT)
}

fn uuid(n: u32) -> String {
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

fn station(n: u32, name: &str) -> FakeStation {
    FakeStation::new(uuid(n), name, format!("https://streams.example/{n}.mp3"))
}

/// A loopback base URL nothing listens on.
async fn closed_server() -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{addr}/")).unwrap()
}

fn client_of(fake: &FakeRadioBrowser) -> RadioBrowser {
    RadioBrowser::with_servers(api(), vec![Url::parse(&fake.base_url()).unwrap()])
}

fn names(stations: &[radio_browser::Station]) -> Vec<&str> {
    stations.iter().map(|s| s.name.as_str()).collect()
}

fn directory() -> Vec<FakeStation> {
    vec![
        FakeStation { clickcount: 50, tags: vec!["jazz".into()], ..station(1, "Jazz FM") },
        FakeStation { clickcount: 100, tags: vec!["smooth jazz".into()], ..station(2, "Smooth Jazz Radio") },
        FakeStation { last_check_ok: false, clickcount: 1000, ..station(3, "Broken Jazz") },
        FakeStation { clickcount: 10, tags: vec!["jazz".into(), "bebop".into()], ..station(4, "Blue Note") },
        FakeStation {
            tags: vec!["ambient".into(), "chill".into()],
            country_code: "DE".into(),
            country: "Germany".into(),
            ..station(5, "Drone Zone")
        },
        FakeStation { country_code: "FR".into(), country: "France".into(), ..station(6, "Radio Paris") },
        FakeStation { url: "javascript:alert(1)".into(), url_resolved: String::new(), ..station(7, "Jazz Evil") },
    ]
}

#[tokio::test]
async fn a_name_search_lists_working_stations_most_played_first_then_fills_up_from_tags() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let found = client_of(&fake).search("jazz", 10).await.unwrap();

    // Names first by clicks (the broken station is hidden, the one without a
    // usable link skipped), then a tag match not already listed.
    assert_eq!(names(&found), ["Smooth Jazz Radio", "Jazz FM", "Blue Note"]);
    let searches = fake.seen().with_prefix("/json/stations/search");
    assert_eq!(searches.len(), 3, "name, tag, then country: {searches:?}");
    assert!(searches[0].path_and_query.contains("name=jazz"));
    assert!(searches[1].path_and_query.contains("tag=jazz"));
    assert!(searches[2].path_and_query.contains("country=jazz"));
    for seen in &searches {
        assert!(seen.path_and_query.contains("hidebroken=true"), "{seen:?}");
        assert!(seen.path_and_query.contains("order=clickcount"), "{seen:?}");
        assert!(seen.path_and_query.contains("reverse=true"), "{seen:?}");
    }
}

#[tokio::test]
async fn every_request_names_the_software_in_its_user_agent() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let client = client_of(&fake);
    client.search("jazz", 5).await.unwrap();
    client.station(&uuid(1)).await.unwrap();
    client.count_click(&uuid(1)).await.unwrap();

    let seen = fake.seen().all();
    assert!(seen.len() >= 3);
    assert!(seen.iter().all(|s| s.user_agent.as_deref() == Some(USER_AGENT)), "{seen:?}");
}

#[tokio::test]
async fn enough_name_matches_ask_nothing_more() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let found = client_of(&fake).search("jazz", 2).await.unwrap();
    assert_eq!(names(&found), ["Smooth Jazz Radio", "Jazz FM"]);
    assert_eq!(fake.seen().with_prefix("/json/stations/search").len(), 1);
}

#[tokio::test]
async fn a_tag_finds_stations_whose_names_do_not_match() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let found = client_of(&fake).search("Ambient", 5).await.unwrap();
    assert_eq!(names(&found), ["Drone Zone"]);
    assert_eq!(found[0].tags, ["ambient", "chill"]);
}

#[tokio::test]
async fn a_two_letter_query_is_a_country_code_and_a_longer_one_a_country_name() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let client = client_of(&fake);

    let by_code = client.search("fr", 5).await.unwrap();
    assert_eq!(names(&by_code), ["Radio Paris"]);
    assert!(
        fake.seen().with_prefix("/json/stations/search").iter().any(|s| s.path_and_query.contains("countrycode=FR"))
    );

    let by_name = client.search("germany", 5).await.unwrap();
    assert_eq!(names(&by_name), ["Drone Zone"]);
    assert_eq!(by_name[0].country_code.as_deref(), Some("DE"));
}

#[tokio::test]
async fn the_limit_is_capped_and_each_station_listed_once() {
    let stations: Vec<FakeStation> =
        (100..140).map(|n| FakeStation { tags: vec!["talk".into()], ..station(n, &format!("Talk {n}")) }).collect();
    let fake = FakeRadioBrowser::start(stations).await.unwrap();
    let found = client_of(&fake).search("talk", 500).await.unwrap();

    assert_eq!(found.len(), radio_browser::MAX_RESULTS);
    let mut uuids: Vec<&str> = found.iter().map(|s| s.uuid.as_str()).collect();
    uuids.sort_unstable();
    uuids.dedup();
    assert_eq!(uuids.len(), radio_browser::MAX_RESULTS);
    let searches = fake.seen().with_prefix("/json/stations/search");
    assert!(searches.iter().all(|s| s.path_and_query.contains("limit=25")), "{searches:?}");
}

#[tokio::test]
async fn an_empty_query_finds_nothing_without_asking() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    assert!(client_of(&fake).search("   ", 5).await.unwrap().is_empty());
    assert!(fake.seen().all().is_empty());
}

#[tokio::test]
async fn a_station_is_looked_up_by_uuid_and_becomes_a_live_track() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let found = client_of(&fake).station(&uuid(5).to_uppercase()).await.unwrap();

    assert_eq!(found.name, "Drone Zone");
    assert_eq!(found.url_resolved.as_str(), "https://streams.example/5.mp3");
    assert_eq!(found.bitrate_kbps, Some(128));
    assert_eq!(found.codec.as_deref(), Some("MP3"));
    let meta = found.to_meta();
    assert_eq!(meta.origin, Origin::RadioBrowser);
    assert!(meta.live);
    assert_eq!(meta.artist.as_deref(), Some("DE · ambient · chill"));
    assert_eq!(radio_browser::parse_locator(meta.locator.as_deref().unwrap()), Some(uuid(5).as_str()));
    assert_eq!(fake.seen().with_prefix("/json/stations/byuuid/").len(), 1);
}

#[tokio::test]
async fn an_unknown_or_malformed_uuid_is_not_found_and_a_malformed_one_is_never_sent() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let client = client_of(&fake);

    assert!(matches!(client.station(&uuid(999)).await, Err(LookupError::NotFound)));
    assert_eq!(fake.seen().all().len(), 1);

    assert!(matches!(client.station("../../json/servers").await, Err(LookupError::NotFound)));
    assert!(matches!(client.count_click("not-a-uuid").await, Err(LookupError::NotFound)));
    assert_eq!(fake.seen().all().len(), 1, "malformed uuids must not reach the server");
}

#[tokio::test]
async fn a_play_counts_one_click_and_gives_the_stream_link() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let client = client_of(&fake);

    let url = client.count_click(&uuid(1)).await.unwrap();
    assert_eq!(url.unwrap().as_str(), "https://streams.example/1.mp3");
    assert_eq!(fake.clicks(&uuid(1)), 1);
    client.count_click(&uuid(1)).await.unwrap();
    assert_eq!(fake.clicks(&uuid(1)), 2);
    assert_eq!(fake.clicks(&uuid(2)), 0);

    assert!(matches!(client.count_click(&uuid(999)).await, Err(LookupError::NotFound)));
}

#[tokio::test]
async fn a_server_that_is_down_is_skipped_and_the_one_that_answered_is_asked_first_next_time() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let good = Url::parse(&fake.base_url()).unwrap();
    let client = RadioBrowser::with_servers(api(), vec![closed_server().await, good.clone()]);

    let found = client.search("jazz", 2).await.unwrap();
    assert_eq!(names(&found), ["Smooth Jazz Radio", "Jazz FM"]);
    assert_eq!(client.servers()[0], good, "the server that answered is tried first from now on");
    assert_eq!(client.clone().servers()[0], good, "clones share it");
}

#[tokio::test]
async fn a_failing_server_hands_over_to_the_next() {
    let failing = FakeRadioBrowser::start(directory()).await.unwrap();
    failing.set_failing(true);
    let working = FakeRadioBrowser::start(directory()).await.unwrap();
    let client = RadioBrowser::with_servers(
        api(),
        vec![Url::parse(&failing.base_url()).unwrap(), Url::parse(&working.base_url()).unwrap()],
    );

    client.count_click(&uuid(2)).await.unwrap();
    assert_eq!(failing.seen().all().len(), 1);
    assert_eq!(failing.clicks(&uuid(2)), 0);
    assert_eq!(working.clicks(&uuid(2)), 1);
}

#[tokio::test]
async fn when_every_server_is_down_the_member_is_told_it_could_not_be_reached() {
    let client = RadioBrowser::with_servers(api(), vec![closed_server().await, closed_server().await]);
    let error = client.search("jazz", 5).await.unwrap_err();
    assert!(matches!(error, LookupError::Fetch(_)), "{error:?}");
    assert_eq!(error.user_message(), "That source could not be reached.");
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_a_bad_response() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    fake.set_malformed(true);
    let error = client_of(&fake).search("jazz", 5).await.unwrap_err();
    assert!(matches!(error, LookupError::BadResponse(_)), "{error:?}");
    assert!(matches!(client_of(&fake).station(&uuid(1)).await, Err(LookupError::BadResponse(_))));
}

#[tokio::test]
async fn discovery_uses_the_listed_servers_named_on_the_discovery_scheme_and_port() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    fake.set_server_names(vec!["127.0.0.1".into(), "127.0.0.1.".into(), "bad/name".into(), String::new()]);
    let discovery = Url::parse(&fake.servers_url()).unwrap();

    let client = RadioBrowser::discover_from(api(), &discovery).await.unwrap();
    assert_eq!(client.servers(), [Url::parse(&fake.base_url()).unwrap()]);
    assert_eq!(names(&client.search("jazz", 1).await.unwrap()), ["Smooth Jazz Radio"]);
    assert_eq!(fake.seen().with_prefix("/json/servers")[0].user_agent.as_deref(), Some(USER_AGENT));
}

#[tokio::test]
async fn a_server_list_without_usable_servers_is_a_bad_response() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    fake.set_server_names(vec!["evil.example/../x".into()]);
    let discovery = Url::parse(&fake.servers_url()).unwrap();
    assert!(matches!(RadioBrowser::discover_from(api(), &discovery).await, Err(LookupError::BadResponse(_))));

    fake.set_malformed(true);
    assert!(matches!(RadioBrowser::discover_from(api(), &discovery).await, Err(LookupError::BadResponse(_))));
}

#[tokio::test]
async fn loopback_servers_are_refused_without_an_allow_list() {
    let fake = FakeRadioBrowser::start(directory()).await.unwrap();
    let strict = ApiClient::new(SafeHttpClient::new(OutboundPolicy::default()));
    let client = RadioBrowser::with_servers(strict, vec![Url::parse(&fake.base_url()).unwrap()]);
    let error = client.search("jazz", 5).await.unwrap_err();
    assert!(matches!(error, LookupError::Fetch(timmybot_outbound::FetchError::Refused(_))), "{error:?}");
    assert!(fake.seen().all().is_empty());
}
