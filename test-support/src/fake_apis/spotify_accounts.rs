//! A fake of Spotify's accounts service for the authorization code flow
//! with PKCE, as Spotify's authorization guide describes it: `GET
//! /authorize` (the member approves at once: a 302 to the app's
//! `redirect_uri` with `code` and the same `state`), `POST /api/token` with
//! `grant_type=authorization_code` (the code single-use, bound to its
//! `redirect_uri`, `client_id` and S256 challenge; a wrong verifier is
//! `invalid_grant`) or `grant_type=refresh_token` (a new access token, and
//! a new refresh token when rotation is on, the old one then dead). Errors
//! are `{"error", "error_description"}`; 429s carry `Retry-After`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Served;

#[derive(Debug)]
struct Grant {
    challenge: String,
    redirect_uri: String,
}

#[derive(Debug, Default)]
struct Inner {
    client_id: String,
    codes: Mutex<HashMap<String, Grant>>,
    refresh_tokens: Mutex<Vec<String>>,
    issued: AtomicUsize,
    rotate: AtomicBool,
    rate_limited: Mutex<Option<u64>>,
}

/// Spotify's accounts service (`/authorize`, `/api/token`) on loopback.
#[derive(Debug)]
pub struct FakeSpotifyAccounts {
    inner: Arc<Inner>,
    served: Served,
}

impl FakeSpotifyAccounts {
    /// Starts a fake for the app `client_id`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(client_id: &str) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner { client_id: client_id.to_owned(), ..Inner::default() });
        let router = Router::new()
            .route("/authorize", get(authorize))
            .route("/api/token", post(token))
            .with_state(inner.clone());
        let served = Served::start("spotify-accounts", router).await?;
        Ok(Self { inner, served })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// Whether a refresh answers a new refresh token (and kills the old).
    pub fn set_rotate_refresh_tokens(&self, on: bool) {
        self.inner.rotate.store(on, Ordering::SeqCst);
    }

    /// Answers token requests 429 with `Retry-After: seconds`, or stops.
    pub fn set_rate_limited(&self, retry_after: Option<u64>) {
        *self.inner.rate_limited.lock().expect("rate limit") = retry_after;
    }

    /// How many access tokens were issued.
    pub fn issued(&self) -> usize {
        self.inner.issued.load(Ordering::SeqCst)
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({"error": error, "error_description": format!("fake spotify: {error}")}))).into_response()
}

async fn authorize(State(inner): State<Arc<Inner>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let field = |name: &str| query.get(name).cloned().unwrap_or_default();
    if field("client_id") != inner.client_id || field("response_type") != "code" {
        return (StatusCode::BAD_REQUEST, "INVALID_CLIENT").into_response();
    }
    if field("code_challenge_method") != "S256" || field("code_challenge").len() != 43 {
        return (StatusCode::BAD_REQUEST, "code_challenge required").into_response();
    }
    let redirect_uri = field("redirect_uri");
    let Ok(mut location) = url::Url::parse(&redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "INVALID_REDIRECT_URI").into_response();
    };
    let mut codes = inner.codes.lock().expect("codes");
    let code = format!("AQ-fake-code-{}", codes.len() + 1);
    codes.insert(code.clone(), Grant { challenge: field("code_challenge"), redirect_uri });
    location.query_pairs_mut().append_pair("code", &code).append_pair("state", &field("state"));
    (StatusCode::FOUND, [(header::LOCATION, location.to_string())]).into_response()
}

async fn token(State(inner): State<Arc<Inner>>, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Some(seconds) = *inner.rate_limited.lock().expect("rate limit") {
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, seconds.to_string())]).into_response();
    }
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    if field("client_id") != inner.client_id {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    match field("grant_type").as_str() {
        "authorization_code" => {
            // Single-use: taken whatever comes of it, as Spotify does.
            let Some(grant) = inner.codes.lock().expect("codes").remove(&field("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(field("code_verifier").as_bytes()));
            if challenge != grant.challenge || field("redirect_uri") != grant.redirect_uri {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            issue(&inner, true)
        }
        "refresh_token" => {
            let mut tokens = inner.refresh_tokens.lock().expect("refresh");
            let Some(at) = tokens.iter().position(|t| *t == field("refresh_token")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let rotate = inner.rotate.load(Ordering::SeqCst);
            if rotate {
                tokens.remove(at);
            }
            drop(tokens);
            issue(&inner, rotate)
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

fn issue(inner: &Inner, with_refresh: bool) -> Response {
    let n = inner.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let mut body = json!({"access_token": format!("BQ-fake-access-{n}"), "token_type": "Bearer",
        "expires_in": 3600, "scope": "playlist-read-private playlist-read-collaborative user-library-read"});
    if with_refresh {
        let refresh = format!("AQ-fake-refresh-{n}");
        inner.refresh_tokens.lock().expect("refresh").push(refresh.clone());
        body["refresh_token"] = json!(refresh);
    }
    axum::Json(body).into_response()
}
