//! A fake of Spotify's accounts service for the authorization code flow
//! with PKCE, as Spotify's authorization guide describes it: `GET
//! /authorize` (the member approves at once: a 302 to the app's
//! `redirect_uri` with `code` and the same `state`), `POST /api/token` with
//! `grant_type=authorization_code` (the code single-use, bound to its
//! `redirect_uri`, `client_id` and S256 challenge; a wrong verifier is
//! `invalid_grant`) or `grant_type=refresh_token` (a new access token, and
//! a new refresh token when rotation is on, the old one then dead). Errors
//! are `{"error", "error_description"}`; 429s carry `Retry-After`.
//!
//! The same base URL serves the Web API a linked member's token reads
//! (`/v1/me`, `/v1/me/playlists`, `/v1/playlists/{id}/items`,
//! `/v1/me/tracks`), as the Web API reference shapes them: paging objects
//! following `next`, playlist entries under `item` (with the older `track`
//! beside it), 401 for a token this fake did not issue, 429 with
//! `Retry-After` for a burst, and a quota refusal (429, message
//! `QUOTA_EXCEEDED`, a day's `Retry-After`) for an app over its quota.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Served;

#[derive(Debug)]
struct Grant {
    challenge: String,
    redirect_uri: String,
}

#[derive(Debug, Default)]
struct Library {
    display_name: String,
    playlists: Vec<(String, String, Vec<Value>)>,
    liked: Vec<Value>,
}

#[derive(Debug, Default)]
struct Inner {
    client_id: String,
    base_url: Mutex<String>,
    codes: Mutex<HashMap<String, Grant>>,
    refresh_tokens: Mutex<Vec<String>>,
    access_tokens: Mutex<Vec<String>>,
    issued: AtomicUsize,
    rotate: AtomicBool,
    rate_limited: Mutex<Option<u64>>,
    library: Mutex<Library>,
    api_bursts: AtomicUsize,
    api_retry_after: AtomicUsize,
    quota_exceeded: AtomicBool,
    api_requests: AtomicUsize,
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
        Self::start_on(super::LOOPBACK, client_id).await
    }

    /// The same fake on `ip` (the sandbox puts its fakes on `127.0.0.2`).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: std::net::IpAddr, client_id: &str) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner { client_id: client_id.to_owned(), ..Inner::default() });
        let router = Router::new()
            .route("/authorize", get(authorize))
            .route("/api/token", post(token))
            .route("/v1/me", get(me))
            .route("/v1/me/playlists", get(my_playlists))
            .route("/v1/playlists/{id}/items", get(playlist_items))
            .route("/v1/me/tracks", get(liked_tracks))
            .with_state(inner.clone());
        let served = Served::start_on(ip, "spotify-accounts", router).await?;
        *inner.base_url.lock().expect("base url") = served.base_url();
        Ok(Self { inner, served })
    }

    /// The linked member's display name (`/v1/me`).
    pub fn set_display_name(&self, name: &str) {
        self.inner.library.lock().expect("library").display_name = name.to_owned();
    }

    /// Adds a playlist to the member's library: `entries` as
    /// [`super::spotify::item_entry`] or [`super::spotify::entry`] make them.
    pub fn add_playlist(&self, id: &str, name: &str, entries: Vec<Value>) {
        self.inner.library.lock().expect("library").playlists.push((id.to_owned(), name.to_owned(), entries));
    }

    /// Adds a track (as [`super::spotify::track_json`] makes one) to the
    /// member's liked songs.
    pub fn add_liked(&self, track: Value) {
        self.inner.library.lock().expect("library").liked.push(track);
    }

    /// Answers the next `count` Web API requests 429 with `Retry-After:
    /// seconds` (a burst that passes).
    pub fn set_api_burst(&self, count: usize, retry_after: usize) {
        self.inner.api_retry_after.store(retry_after, Ordering::SeqCst);
        self.inner.api_bursts.store(count, Ordering::SeqCst);
    }

    /// Answers every Web API request as an app over its quota.
    pub fn set_quota_exceeded(&self, on: bool) {
        self.inner.quota_exceeded.store(on, Ordering::SeqCst);
    }

    /// How many Web API requests arrived (refused ones too).
    pub fn api_requests(&self) -> usize {
        self.inner.api_requests.load(Ordering::SeqCst)
    }

    /// Revokes every refresh token (the member removed the app): the next
    /// refresh gets `invalid_grant`.
    pub fn revoke_refresh_tokens(&self) {
        self.inner.refresh_tokens.lock().expect("refresh").clear();
    }

    /// Whether `token` is a refresh token this fake would still accept.
    pub fn refresh_token_is_live(&self, token: &str) -> bool {
        self.inner.refresh_tokens.lock().expect("refresh").iter().any(|t| t == token)
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
    inner.access_tokens.lock().expect("access").push(format!("BQ-fake-access-{n}"));
    let mut body = json!({"access_token": format!("BQ-fake-access-{n}"), "token_type": "Bearer",
        "expires_in": 3600, "scope": "playlist-read-private playlist-read-collaborative user-library-read"});
    if with_refresh {
        let refresh = format!("AQ-fake-refresh-{n}");
        inner.refresh_tokens.lock().expect("refresh").push(refresh.clone());
        body["refresh_token"] = json!(refresh);
    }
    axum::Json(body).into_response()
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"status": status.as_u16(), "message": message}}))).into_response()
}

/// The 401 or 429 a Web API request gets before its handler runs, if any.
fn api_gate(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    inner.api_requests.fetch_add(1, Ordering::SeqCst);
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|token| inner.access_tokens.lock().expect("access").iter().any(|t| t == token)) {
        return Some(api_error(StatusCode::UNAUTHORIZED, "Invalid access token"));
    }
    if inner.quota_exceeded.load(Ordering::SeqCst) {
        let mut refused = api_error(StatusCode::TOO_MANY_REQUESTS, "QUOTA_EXCEEDED");
        refused.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("86400"));
        return Some(refused);
    }
    let burst = inner.api_bursts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if burst {
        let seconds = inner.api_retry_after.load(Ordering::SeqCst).to_string();
        return Some((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, seconds)]).into_response());
    }
    None
}

/// A paging object over `all` at `path`, `limit` (default and cap `max`) a
/// page, `None` for a malformed window (Spotify answers 400).
fn paging(inner: &Inner, path: &str, all: &[Value], query: &HashMap<String, String>, max: usize) -> Option<Value> {
    let offset: usize = query.get("offset").map_or(Some(0), |o| o.parse().ok())?;
    let limit: usize = query.get("limit").map_or(Some(20.min(max)), |l| l.parse().ok())?;
    if !(1..=max).contains(&limit) {
        return None;
    }
    let base = inner.base_url.lock().expect("base url").clone();
    let link = |o: usize| format!("{base}{path}?offset={o}&limit={limit}");
    Some(json!({
        "href": link(offset),
        "items": all.iter().skip(offset).take(limit).cloned().collect::<Vec<_>>(),
        "limit": limit,
        "next": (offset + limit < all.len()).then(|| link(offset + limit)),
        "offset": offset,
        "previous": (offset > 0).then(|| link(offset.saturating_sub(limit))),
        "total": all.len(),
    }))
}

fn paged(page: Option<Value>) -> Response {
    match page {
        Some(page) => axum::Json(page).into_response(),
        None => api_error(StatusCode::BAD_REQUEST, "Invalid limit or offset"),
    }
}

async fn me(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if let Some(refused) = api_gate(&inner, &headers) {
        return refused;
    }
    let name = inner.library.lock().expect("library").display_name.clone();
    axum::Json(json!({"id": "fake-member", "display_name": name, "type": "user", "uri": "spotify:user:fake-member"}))
        .into_response()
}

async fn my_playlists(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = api_gate(&inner, &headers) {
        return refused;
    }
    let base = inner.base_url.lock().expect("base url").clone();
    let simplified: Vec<Value> = inner
        .library
        .lock()
        .expect("library")
        .playlists
        .iter()
        .map(|(id, name, entries)| {
            let items = json!({"href": format!("{base}/v1/playlists/{id}/items"), "total": entries.len()});
            json!({"id": id, "name": name, "type": "playlist", "collaborative": false, "public": false,
                "owner": {"id": "fake-member", "display_name": "Fake Member"},
                "items": items, "tracks": items, "uri": format!("spotify:playlist:{id}")})
        })
        .collect();
    paged(paging(&inner, "/v1/me/playlists", &simplified, &query, 50))
}

async fn playlist_items(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = api_gate(&inner, &headers) {
        return refused;
    }
    let library = inner.library.lock().expect("library");
    let Some((_, _, entries)) = library.playlists.iter().find(|(pid, _, _)| *pid == id) else {
        return api_error(StatusCode::NOT_FOUND, "Resource not found");
    };
    paged(paging(&inner, &format!("/v1/playlists/{id}/items"), entries, &query, 50))
}

async fn liked_tracks(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = api_gate(&inner, &headers) {
        return refused;
    }
    let saved: Vec<Value> = inner
        .library
        .lock()
        .expect("library")
        .liked
        .iter()
        .map(|track| json!({"added_at": "2026-01-01T00:00:00Z", "track": track}))
        .collect();
    paged(paging(&inner, "/v1/me/tracks", &saved, &query, 50))
}
