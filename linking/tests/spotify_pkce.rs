//! Spotify's authorization code flow with PKCE against the fake accounts
//! service over real HTTP: the link carries the app, callback, scopes,
//! state and S256 challenge; the member's approval comes back to the
//! callback with the same state; the code is exchanged with the right
//! verifier only, once; refresh keeps a rotated refresh token; 429 waits.

use std::collections::HashMap;
use std::time::Duration;

use timmybot_accounts::oauth::{OAuthError, Pkce, new_state};
use timmybot_linking::{SPOTIFY_SCOPES, SpotifyAuth};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_test_support::fake_apis::spotify_accounts::FakeSpotifyAccounts;
use url::Url;

const CLIENT_ID: &str = "fake-spotify-app";
const CALLBACK: &str = "https://bot.example/oauth/spotify/callback";

fn auth(spotify: &FakeSpotifyAccounts) -> SpotifyAuth {
    let policy = OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() };
    SpotifyAuth::new(SafeHttpClient::new(policy), CLIENT_ID, Url::parse(CALLBACK).unwrap())
        .with_accounts_base(Url::parse(&format!("{}/", spotify.base_url())).unwrap())
}

/// What the member's browser does: opens the link, is sent to the callback;
/// the callback's query.
async fn approve(link: &Url) -> HashMap<String, String> {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = browser.get(link.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 302, "{}", answer.text().await.unwrap_or_default());
    let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(CALLBACK), "{location}");
    location.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn the_link_names_the_app_and_the_code_is_exchanged_once_with_the_verifier() {
    let spotify = FakeSpotifyAccounts::start(CLIENT_ID).await.unwrap();
    let auth = auth(&spotify);
    let (state, pkce) = (new_state(), Pkce::generate());
    let link = auth.authorize_url(&state, &pkce);
    let query: HashMap<String, String> = link.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["redirect_uri"], CALLBACK);
    assert_eq!(query["scope"], SPOTIFY_SCOPES);
    assert_eq!((query["code_challenge_method"].as_str(), query["code_challenge"].as_str()), ("S256", pkce.challenge()));
    assert!(!link.as_str().contains(pkce.verifier()), "the verifier never leaves the bot before the exchange");

    let callback = approve(&link).await;
    assert_eq!(callback["state"], state, "the state comes back as sent");
    let grant = auth.exchange(&callback["code"], pkce.verifier()).await.unwrap();
    assert_eq!(grant.access_token, "BQ-fake-access-1");
    assert_eq!(grant.refresh_token.as_deref(), Some("AQ-fake-refresh-1"));
    assert_eq!(grant.expires_in, Duration::from_secs(3600));
    assert_eq!(
        auth.exchange(&callback["code"], pkce.verifier()).await.unwrap_err(),
        OAuthError::InvalidGrant,
        "a replayed code links nothing"
    );
}

#[tokio::test]
async fn a_wrong_verifier_gets_no_tokens() {
    let spotify = FakeSpotifyAccounts::start(CLIENT_ID).await.unwrap();
    let auth = auth(&spotify);
    let pkce = Pkce::generate();
    let callback = approve(&auth.authorize_url(&new_state(), &pkce)).await;
    let other = Pkce::generate();
    assert_eq!(auth.exchange(&callback["code"], other.verifier()).await.unwrap_err(), OAuthError::InvalidGrant);
    assert_eq!(spotify.issued(), 0);
}

#[tokio::test]
async fn refresh_returns_a_rotated_refresh_token_and_the_old_one_dies() {
    let spotify = FakeSpotifyAccounts::start(CLIENT_ID).await.unwrap();
    let auth = auth(&spotify);
    let pkce = Pkce::generate();
    let callback = approve(&auth.authorize_url(&new_state(), &pkce)).await;
    let first = auth.exchange(&callback["code"], pkce.verifier()).await.unwrap();
    let first_refresh = first.refresh_token.unwrap();

    let kept = auth.refresh(&first_refresh).await.unwrap();
    assert_eq!(kept.refresh_token, None, "no rotation: the old refresh token stays");
    spotify.set_rotate_refresh_tokens(true);
    let rotated = auth.refresh(&first_refresh).await.unwrap();
    let second_refresh = rotated.refresh_token.expect("a rotated refresh token");
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(auth.refresh(&first_refresh).await.unwrap_err(), OAuthError::InvalidGrant, "the old one is dead");
    assert!(auth.refresh(&second_refresh).await.is_ok(), "the kept one works");

    spotify.set_rate_limited(Some(7));
    assert_eq!(
        auth.refresh(&second_refresh).await.unwrap_err(),
        OAuthError::RateLimited { retry_after: Some(Duration::from_secs(7)) }
    );
}
