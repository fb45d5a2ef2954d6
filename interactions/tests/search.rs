//! Suggestions as members type (`/play`, `/radio`) and `/search`, answered
//! by the handler itself from the real clients against the fake Audius and
//! the fake Radio Browser over HTTP.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use timmybot_core::player::Placement;
use timmybot_core::{CommandOrigin, VoiceCommand};
use timmybot_outbound::{AllowList, OutboundPolicy, SafeHttpClient};
use timmybot_sources::audius::Audius;
use timmybot_sources::radio_browser::RadioBrowser;
use timmybot_sources::{ApiClient, SourceSearch};
use timmybot_test_support::fake_apis::audius::{FakeAudius, FakeAudiusCatalog, FakeAudiusTrack, FakeAudiusUser};
use timmybot_test_support::fake_apis::radio_browser::{FakeRadioBrowser, FakeStation};
use timmybot_test_support::signer::{SlashCommand, slash_command};

use common::{Harness, json_of};

const JAZZ_UUID: &str = "960e57c5-0601-11e8-ae97-52543be04c81";

fn api() -> ApiClient {
    let allow = AllowList::parse(["127.0.0.1/32"]).unwrap();
    ApiClient::new(SafeHttpClient::new(OutboundPolicy { allow, ..OutboundPolicy::default() }))
}

fn url(base: &str) -> url::Url {
    url::Url::parse(base).unwrap()
}

async fn fakes() -> (FakeAudius, FakeRadioBrowser) {
    let mut tracks: Vec<FakeAudiusTrack> = (1..=12)
        .map(|n| FakeAudiusTrack {
            duration_secs: 200 + n,
            ..FakeAudiusTrack::new(format!("T{n}"), format!("Night Drive {n}"), "u1")
        })
        .collect();
    tracks.push(FakeAudiusTrack::new("Z9", "Something else", "u1"));
    let audius = FakeAudius::start(FakeAudiusCatalog {
        users: vec![FakeAudiusUser::new("u1", "synth", "Synth *Band*")],
        tracks,
        playlists: vec![],
    })
    .await
    .unwrap();
    let radio = FakeRadioBrowser::start(vec![
        FakeStation {
            tags: vec!["jazz".into()],
            country_code: "DE".into(),
            ..FakeStation::new(JAZZ_UUID, "Jazz Radio", "http://127.0.0.1:9/jazz")
        },
        FakeStation::new("11111111-2222-3333-4444-555555555555", "Rock FM", "http://127.0.0.1:9/rock"),
    ])
    .await
    .unwrap();
    (audius, radio)
}

fn harness(audius: &FakeAudius, radio: &FakeRadioBrowser) -> Harness {
    let search = SourceSearch::new()
        .with_audius(Audius::with_hosts(api(), "timmybot-test", vec![url(&audius.base_url())]))
        .with_radio(RadioBrowser::with_servers(api(), vec![url(&radio.base_url())]));
    let mut harness = Harness::new();
    harness.handler = harness.handler.with_search(search);
    harness
}

/// An autocomplete (type 4) of string option `option` on `/name`.
fn autocomplete(name: &str, option: &str, typed: &str) -> Value {
    let mut interaction = slash_command(SlashCommand { name: name.into(), ..SlashCommand::default() });
    interaction["type"] = json!(4);
    interaction["data"]["options"] = json!([{"name": option, "type": 3, "value": typed, "focused": true}]);
    interaction
}

fn choices(reply: &Value) -> Vec<(String, String)> {
    assert_eq!(reply["type"], 8, "an autocomplete answer: {reply}");
    reply["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["value"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn play_suggests_the_top_five_tracks_as_locators_and_nothing_for_links() {
    let (audius, radio) = fakes().await;
    let h = harness(&audius, &radio);
    let reply = json_of(&h.post(&autocomplete("play", "query", "night drive")).await);
    let found = choices(&reply);
    assert_eq!(found.len(), 5, "the top five: {found:?}");
    assert_eq!(found[0], ("Synth *Band* – Night Drive 1 (3:21)".to_owned(), "audius:T1".to_owned()));
    assert!(found.iter().all(|(name, value)| name.chars().count() <= 100 && value.starts_with("audius:")));
    let searches = audius.seen().with_prefix("/v1/tracks/search");
    assert_eq!(searches.len(), 1);
    assert!(searches[0].path_and_query.contains("app_name=timmybot-test"), "{searches:?}");

    // A link, or a single letter, is played as typed: no search at all.
    for typed in ["https://example.com/a.mp3", "n", ""] {
        let reply = json_of(&h.post(&autocomplete("play", "query", typed)).await);
        assert!(choices(&reply).is_empty(), "{typed}");
    }
    assert_eq!(audius.seen().with_prefix("/v1/tracks/search").len(), 1);
    assert!(h.published().is_empty(), "suggestions never reach the player");
}

#[tokio::test]
async fn radio_suggests_stations_by_name_or_tag() {
    let (audius, radio) = fakes().await;
    let h = harness(&audius, &radio);
    let by_name = choices(&json_of(&h.post(&autocomplete("radio", "station", "jazz radio")).await));
    assert_eq!(by_name.first().map(|c| c.1.clone()), Some(format!("radio:{JAZZ_UUID}")), "{by_name:?}");
    assert!(by_name[0].0.starts_with("DE · jazz – Jazz Radio"), "{by_name:?}");
    let by_tag = choices(&json_of(&h.post(&autocomplete("radio", "station", "jazz")).await));
    assert!(by_tag.iter().any(|c| c.1 == format!("radio:{JAZZ_UUID}")), "{by_tag:?}");
    assert_eq!(radio.clicks(JAZZ_UUID), 0, "a suggestion is not a play");
}

#[tokio::test]
async fn a_search_that_does_not_answer_in_time_gives_no_suggestions_inside_discords_window() {
    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let search = SourceSearch::new()
        .with_audius(Audius::with_hosts(api(), "timmybot-test", vec![url(&format!("http://{addr}"))]))
        .with_timeout(Duration::from_millis(500));
    let mut h = Harness::new();
    h.handler = h.handler.with_search(search);
    let started = Instant::now();
    let reply = json_of(&h.post(&autocomplete("play", "query", "night drive")).await);
    let took = started.elapsed();
    assert!(choices(&reply).is_empty());
    assert!(took >= Duration::from_millis(500), "it waited for the search: {took:?}");
    assert!(took < Duration::from_millis(2_500), "answered inside Discord's 3 s: {took:?}");
}

#[tokio::test]
async fn search_shows_ten_results_and_a_button_queues_the_one_pressed() {
    let (audius, radio) = fakes().await;
    let h = harness(&audius, &radio);
    let search = slash_command(SlashCommand {
        name: "search".into(),
        options: vec![("query".into(), json!("night drive"))],
        ..SlashCommand::default()
    });
    let reply = json_of(&h.post(&search).await);
    assert_eq!(reply["type"], 4);
    assert_eq!(reply["data"]["flags"], 64, "only the member sees the results");
    assert_eq!(reply["data"]["allowed_mentions"], json!({"parse": []}));
    let content = reply["data"]["content"].as_str().unwrap();
    assert!(content.contains("`1` **Synth \\*Band\\* – Night Drive 1** · 3:21"), "{content}");
    assert!(content.contains("`10` **"), "{content}");
    assert!(!content.contains("`11`"), "at most ten: {content}");
    let buttons: Vec<String> = reply["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap().clone())
        .map(|b| b["custom_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(buttons.len(), 10);
    assert!(h.published().is_empty());

    let mut press = slash_command(SlashCommand::default());
    press["type"] = json!(3);
    press["data"] = json!({"custom_id": buttons[2], "component_type": 2});
    press["message"] = json!({"id": "1700000000000000001", "channel_id": "1400000000000000001"});
    let pressed = json_of(&h.post(&press).await);
    assert_eq!(pressed, json!({"type": 5, "data": {"flags": 64}}), "deferred, as a player command");
    let published = h.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].command, VoiceCommand::Play { query: "audius:T3".into(), placement: Placement::End });
    assert_eq!(published[0].origin, CommandOrigin::Button);

    let nothing = slash_command(SlashCommand {
        name: "search".into(),
        options: vec![("query".into(), json!("zzzz no such thing"))],
        ..SlashCommand::default()
    });
    let reply = json_of(&h.post(&nothing).await);
    assert!(reply["data"]["content"].as_str().unwrap().starts_with("Nothing found for"), "{reply}");
}

#[tokio::test]
async fn without_search_sources_there_are_no_suggestions_and_search_says_so() {
    let h = Harness::new();
    let reply = json_of(&h.post(&autocomplete("play", "query", "night drive")).await);
    assert!(choices(&reply).is_empty());
    let search = slash_command(SlashCommand {
        name: "search".into(),
        options: vec![("query".into(), json!("night drive"))],
        ..SlashCommand::default()
    });
    let reply = json_of(&h.post(&search).await);
    assert_eq!(reply["data"]["content"], "Search is turned off on this bot.", "{reply}");
}
