//! A linked member's Spotify library read over real HTTP from the fake
//! Web API with a token the fake's own PKCE flow issued: every page
//! followed, entries under `item` or `track`, the rest counted; a burst's
//! 429 waited out; a quota refusal and a foreign token told apart.

use std::collections::HashMap;

use serde_json::Value;
use timmybot_accounts::oauth::{Pkce, new_state};
use timmybot_core::Secret;
use timmybot_linking::{LibraryError, SpotifyAuth, SpotifyLibrary};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_test_support::fake_apis::spotify::{episode_entry, item_entry, local_entry, null_entry, track_json};
use timmybot_test_support::fake_apis::spotify_accounts::FakeSpotifyAccounts;
use url::Url;

const CLIENT_ID: &str = "fake-spotify-app";
const CALLBACK: &str = "https://bot.example/oauth/spotify/callback";

fn http() -> SafeHttpClient {
    SafeHttpClient::new(OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() })
}

fn library(spotify: &FakeSpotifyAccounts) -> SpotifyLibrary {
    SpotifyLibrary::new(http()).with_api_base(Url::parse(&format!("{}/v1/", spotify.base_url())).unwrap())
}

/// A token for the fake member, through the fake's authorize and exchange.
async fn member_token(spotify: &FakeSpotifyAccounts) -> Secret {
    let auth = SpotifyAuth::new(http(), CLIENT_ID, Url::parse(CALLBACK).unwrap())
        .with_accounts_base(Url::parse(&format!("{}/", spotify.base_url())).unwrap());
    let (state, pkce) = (new_state(), Pkce::generate());
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = browser.get(auth.authorize_url(&state, &pkce)).send().await.unwrap();
    let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    Secret::new(auth.exchange(&query["code"], pkce.verifier()).await.unwrap().access_token)
}

fn id(n: usize) -> String {
    format!("{n:0>22}")
}

fn track(n: usize) -> Value {
    track_json(&id(n), &format!("Song {n}"), &["Artist A", "Artist B"], 180_000 + n as u64, &format!("USRC1700{n:04}"))
}

#[tokio::test]
async fn every_page_is_read_and_entries_that_are_not_tracks_are_counted() {
    let spotify = FakeSpotifyAccounts::start(CLIENT_ID).await.unwrap();
    spotify.set_display_name("Alice");
    // 120 entries: three pages of 50; `item` and `track` shapes mixed.
    let mut long: Vec<Value> =
        (0..117)
            .map(|n| {
                if n % 2 == 0 {
                    item_entry(track(n))
                } else {
                    timmybot_test_support::fake_apis::spotify::entry(track(n))
                }
            })
            .collect();
    long.extend([null_entry(), local_entry("a home recording"), episode_entry(&id(999))]);
    spotify.add_playlist("37i9dQZF1DXcBWIGoYBM5M", "Road trip", long);
    spotify.add_playlist("1111111111111111111111", "Empty one", vec![]);
    for n in 500..503 {
        spotify.add_liked(track(n));
    }
    let token = member_token(&spotify).await;

    let read = library(&spotify).read(&token).await.unwrap();

    assert_eq!(read.display_name.as_deref(), Some("Alice"));
    let names: Vec<&str> = read.playlists.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Road trip", "Empty one", "Liked songs"]);
    let road_trip = &read.playlists[0];
    assert_eq!(road_trip.tracks.len(), 117, "all three pages");
    assert_eq!(road_trip.skipped, 3, "the removed track, the local file and the episode");
    let last = &road_trip.tracks[116];
    assert_eq!((last.title.as_str(), last.artist.as_str()), ("Song 116", "Artist A, Artist B"));
    assert_eq!(last.duration_ms, Some(180_116));
    assert_eq!(last.isrc.as_deref(), Some("USRC17000116"));
    assert_eq!(last.spotify_uri, Some(format!("spotify:track:{}", id(116))));
    let liked: Vec<&str> = read.playlists[2].tracks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(liked, ["Song 500", "Song 501", "Song 502"]);
    // me, playlists (1 page), road trip (3), empty (1), liked (1).
    assert_eq!(spotify.api_requests(), 7);
}

#[tokio::test]
async fn a_burst_is_waited_out_but_a_quota_refusal_stops_at_once() {
    let spotify = FakeSpotifyAccounts::start(CLIENT_ID).await.unwrap();
    spotify.add_liked(track(1));
    let token = member_token(&spotify).await;
    let library = library(&spotify);

    spotify.set_api_burst(2, 1);
    let read = library.read(&token).await.unwrap();
    assert_eq!(read.playlists.len(), 1);
    assert_eq!(spotify.api_requests(), 2 + 3, "two 429s retried, then me, playlists, liked");

    spotify.set_quota_exceeded(true);
    let before = spotify.api_requests();
    assert_eq!(library.read(&token).await.unwrap_err(), LibraryError::QuotaExceeded);
    assert_eq!(spotify.api_requests(), before + 1, "a quota refusal is not retried");
}

#[tokio::test]
async fn a_long_retry_after_and_a_foreign_token_stop_the_read() {
    let spotify = FakeSpotifyAccounts::start(CLIENT_ID).await.unwrap();
    let token = member_token(&spotify).await;
    spotify.set_api_burst(1, 3600);
    assert_eq!(
        library(&spotify).read(&token).await.unwrap_err(),
        LibraryError::RateLimited { retry_after: Some(std::time::Duration::from_secs(3600)) }
    );
    assert_eq!(
        library(&spotify).read(&Secret::new("BQ-not-issued-here")).await.unwrap_err(),
        LibraryError::Unauthorized
    );
}
