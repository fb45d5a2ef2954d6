//! A fake of Spotify's accounts service (client-credentials tokens) and of
//! the Web API's track, album and playlist endpoints, in the shapes of
//! Spotify's Web API reference: paging objects with `href`, `items`,
//! `limit`, `next`, `offset`, `previous` and `total`; error objects
//! `{"error": {"status", "message"}}`; OAuth errors `{"error",
//! "error_description"}`.
//!
//! Tokens expire after the configured `expires_in` (the fake answers 401
//! past it, like Spotify), and can be revoked to force a 401.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{SeenLog, Served};

/// How a playlist object carries its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaylistShape {
    /// `tracks`: a paging object holding the first 100 entries (Spotify's
    /// long-standing shape).
    #[default]
    Embedded,
    /// `items`: only a `{href, total}` stub pointing at
    /// `/v1/playlists/{id}/tracks`, as newer API versions answer.
    Stub,
}

#[derive(Debug)]
struct FakeAlbum {
    object: Value,
    tracks: Vec<Value>,
}

#[derive(Debug)]
struct FakePlaylist {
    name: String,
    entries: Vec<Value>,
}

#[derive(Debug)]
struct Inner {
    client_id: String,
    client_secret: String,
    base_url: OnceLock<String>,
    expires_in: AtomicU64,
    token_requests: AtomicUsize,
    unauthorized: AtomicUsize,
    issued: Mutex<HashMap<String, Instant>>,
    next_token: AtomicUsize,
    tracks: Mutex<HashMap<String, Value>>,
    albums: Mutex<HashMap<String, FakeAlbum>>,
    playlists: Mutex<HashMap<String, FakePlaylist>>,
    forbidden: Mutex<Vec<String>>,
    rate_limited: Mutex<Option<u64>>,
    shape: Mutex<PlaylistShape>,
    seen: SeenLog,
}

/// Spotify's accounts service and Web API on loopback; one base URL serves
/// both (`/api/token` and `/v1/…`).
#[derive(Debug)]
pub struct FakeSpotify {
    inner: Arc<Inner>,
    served: Served,
}

impl FakeSpotify {
    /// Starts a fake accepting the app `client_id` / `client_secret`.
    /// Tokens last an hour until [`FakeSpotify::set_expires_in`].
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(client_id: &str, client_secret: &str) -> anyhow::Result<Self> {
        Self::start_on(super::LOOPBACK, client_id, client_secret).await
    }

    /// The same fake on `ip` (the sandbox puts its fakes on `127.0.0.2`).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: std::net::IpAddr, client_id: &str, client_secret: &str) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            base_url: OnceLock::new(),
            expires_in: AtomicU64::new(3600),
            token_requests: AtomicUsize::new(0),
            unauthorized: AtomicUsize::new(0),
            issued: Mutex::default(),
            next_token: AtomicUsize::new(1),
            tracks: Mutex::default(),
            albums: Mutex::default(),
            playlists: Mutex::default(),
            forbidden: Mutex::default(),
            rate_limited: Mutex::default(),
            shape: Mutex::default(),
            seen: SeenLog::default(),
        });
        let router = Router::new()
            .route("/api/token", post(token))
            .route("/v1/tracks/{id}", get(track))
            .route("/v1/albums/{id}", get(album))
            .route("/v1/albums/{id}/tracks", get(album_tracks))
            .route("/v1/playlists/{id}", get(playlist))
            .route("/v1/playlists/{id}/tracks", get(playlist_tracks))
            .layer(middleware::from_fn_with_state(inner.clone(), record))
            .with_state(inner.clone());
        let served = Served::start_on(ip, "spotify", router).await?;
        inner.base_url.set(served.base_url()).expect("set once");
        Ok(Self { inner, served })
    }

    /// `http://127.0.0.1:<port>`: both the API and the accounts base.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The requests seen so far.
    pub fn seen(&self) -> &SeenLog {
        &self.inner.seen
    }

    /// Tokens issued from now on last `seconds`.
    pub fn set_expires_in(&self, seconds: u64) {
        self.inner.expires_in.store(seconds, Ordering::SeqCst);
    }

    /// How many token requests were answered with a token.
    pub fn token_requests(&self) -> usize {
        self.inner.token_requests.load(Ordering::SeqCst)
    }

    /// How many API requests were answered 401 (no, expired or revoked token).
    pub fn unauthorized_answers(&self) -> usize {
        self.inner.unauthorized.load(Ordering::SeqCst)
    }

    /// Makes every token issued so far invalid, as if Spotify had revoked it.
    pub fn revoke_tokens(&self) {
        self.inner.issued.lock().expect("issued").clear();
    }

    /// Answers every API request 429 with `Retry-After: seconds`, or stops
    /// doing so (`None`).
    pub fn set_rate_limited(&self, retry_after: Option<u64>) {
        *self.inner.rate_limited.lock().expect("rate limit") = retry_after;
    }

    /// Answers 403 for the item of `id` (any kind).
    pub fn forbid(&self, id: &str) {
        self.inner.forbidden.lock().expect("forbidden").push(id.to_owned());
    }

    /// How playlist objects carry their entries.
    pub fn set_playlist_shape(&self, shape: PlaylistShape) {
        *self.inner.shape.lock().expect("shape") = shape;
    }

    /// Adds a full track object (see [`track_json`]), served at
    /// `/v1/tracks/{id}`.
    pub fn add_track(&self, track: Value) {
        let id = track["id"].as_str().expect("track id").to_owned();
        self.inner.tracks.lock().expect("tracks").insert(id, track);
    }

    /// Adds an album with its tracks (full track objects; the album pages
    /// serve them simplified, without `album` and `external_ids`, as
    /// Spotify does).
    pub fn add_album(&self, id: &str, name: &str, artist: &str, tracks: Vec<Value>) {
        let object = json!({
            "album_type": "album",
            "id": id,
            "name": name,
            "type": "album",
            "uri": format!("spotify:album:{id}"),
            "artists": [{"name": artist, "type": "artist"}],
            "images": [{"url": format!("https://i.scdn.co/image/{id}-640"), "height": 640, "width": 640}],
            "release_date": "2001-03-12",
            "total_tracks": tracks.len(),
        });
        let tracks = tracks.into_iter().map(simplified).collect();
        self.inner.albums.lock().expect("albums").insert(id.to_owned(), FakeAlbum { object, tracks });
    }

    /// Adds a playlist of `entries` (playlist track objects: see
    /// [`entry`], [`item_entry`], [`null_entry`], [`local_entry`],
    /// [`episode_entry`]).
    pub fn add_playlist(&self, id: &str, name: &str, entries: Vec<Value>) {
        self.inner
            .playlists
            .lock()
            .expect("playlists")
            .insert(id.to_owned(), FakePlaylist { name: name.to_owned(), entries });
    }
}

/// A full track object as `/v1/tracks/{id}` answers it.
pub fn track_json(id: &str, name: &str, artists: &[&str], duration_ms: u64, isrc: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "type": "track",
        "uri": format!("spotify:track:{id}"),
        "duration_ms": duration_ms,
        "explicit": false,
        "is_local": false,
        "disc_number": 1,
        "track_number": 1,
        "artists": artists.iter().map(|a| json!({"name": a, "type": "artist"})).collect::<Vec<_>>(),
        "album": {
            "name": format!("{name} (album)"),
            "type": "album",
            "images": [
                {"url": format!("https://i.scdn.co/image/{id}-640"), "height": 640, "width": 640},
                {"url": format!("https://i.scdn.co/image/{id}-300"), "height": 300, "width": 300}
            ]
        },
        "external_ids": {"isrc": isrc},
        "external_urls": {"spotify": format!("https://open.spotify.com/track/{id}")},
    })
}

/// A playlist entry carrying `track` under `track` (the long-standing shape).
pub fn entry(track: Value) -> Value {
    json!({"added_at": "2024-05-01T12:00:00Z", "is_local": false, "track": track})
}

/// A playlist entry carrying `track` under `item`, as newer API versions do.
pub fn item_entry(track: Value) -> Value {
    json!({"added_at": "2024-05-01T12:00:00Z", "is_local": false, "item": track})
}

/// A playlist entry whose track was removed: `track` is null.
pub fn null_entry() -> Value {
    json!({"added_at": "2024-05-01T12:00:00Z", "is_local": false, "track": null})
}

/// A local file in a playlist: no id, `is_local` true.
pub fn local_entry(name: &str) -> Value {
    json!({
        "added_at": "2024-05-01T12:00:00Z",
        "is_local": true,
        "track": {"id": null, "name": name, "type": "track", "is_local": true, "artists": [], "duration_ms": 1000}
    })
}

/// A podcast episode in a playlist.
pub fn episode_entry(id: &str) -> Value {
    json!({
        "added_at": "2024-05-01T12:00:00Z",
        "is_local": false,
        "track": {"id": id, "name": "An episode", "type": "episode", "duration_ms": 1_800_000}
    })
}

/// A full track as album pages list it.
fn simplified(mut track: Value) -> Value {
    if let Some(object) = track.as_object_mut() {
        object.remove("album");
        object.remove("external_ids");
    }
    track
}

async fn record(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    inner.seen.push(request.method(), request.uri(), request.headers());
    next.run(request).await
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"status": status.as_u16(), "message": message}}))).into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error, "error_description": description}))).into_response()
}

async fn token(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    // axum's form extractor also insists on the form content type, as
    // Spotify does.
    let Ok(Form(form)) = form else {
        return oauth_error("invalid_request", "body must be application/x-www-form-urlencoded");
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error("unsupported_grant_type", "grant_type parameter is missing");
    }
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", inner.client_id, inner.client_secret));
    let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    if sent != Some(expected.as_str()) {
        return oauth_error("invalid_client", "Invalid client");
    }
    inner.token_requests.fetch_add(1, Ordering::SeqCst);
    let n = inner.next_token.fetch_add(1, Ordering::SeqCst);
    let access_token = format!("BQfake{n:04}token");
    let expires_in = inner.expires_in.load(Ordering::SeqCst);
    inner.issued.lock().expect("issued").insert(access_token.clone(), Instant::now() + Duration::from_secs(expires_in));
    axum::Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in})).into_response()
}

/// The 401 or 429 an API request gets before its handler runs, if any.
fn gate(inner: &Inner, headers: &HeaderMap, id: &str) -> Option<Response> {
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer.is_some_and(|token| {
        inner.issued.lock().expect("issued").get(token).is_some_and(|expires| Instant::now() < *expires)
    });
    if !valid {
        inner.unauthorized.fetch_add(1, Ordering::SeqCst);
        let message = if bearer.is_some() { "The access token expired" } else { "No token provided" };
        return Some(api_error(StatusCode::UNAUTHORIZED, message));
    }
    if let Some(retry_after) = *inner.rate_limited.lock().expect("rate limit") {
        return Some((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after.to_string())]).into_response());
    }
    if inner.forbidden.lock().expect("forbidden").iter().any(|f| f == id) {
        return Some(api_error(StatusCode::FORBIDDEN, "Forbidden"));
    }
    None
}

async fn track(State(inner): State<Arc<Inner>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&inner, &headers, &id) {
        return refused;
    }
    match inner.tracks.lock().expect("tracks").get(&id) {
        Some(track) => axum::Json(track.clone()).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

/// Reads `offset` and `limit` (default `default_limit`, at most `max`);
/// `None` when either is malformed or out of range (Spotify answers 400).
fn window(query: &HashMap<String, String>, default_limit: usize, max: usize) -> Option<(usize, usize)> {
    let offset = match query.get("offset") {
        Some(o) => o.parse().ok()?,
        None => 0,
    };
    let limit = match query.get("limit") {
        Some(l) => l.parse().ok()?,
        None => default_limit,
    };
    (1..=max).contains(&limit).then_some((offset, limit))
}

/// A paging object over `all` at `path` (relative to the fake's base).
fn paging(inner: &Inner, path: &str, all: &[Value], offset: usize, limit: usize) -> Value {
    let base = inner.base_url.get().map_or("", String::as_str);
    let items: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    let link = |o: usize| format!("{base}{path}?offset={o}&limit={limit}");
    json!({
        "href": link(offset),
        "items": items,
        "limit": limit,
        "next": (offset + limit < all.len()).then(|| link(offset + limit)),
        "offset": offset,
        "previous": (offset > 0).then(|| link(offset.saturating_sub(limit))),
        "total": all.len(),
    })
}

async fn album(State(inner): State<Arc<Inner>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&inner, &headers, &id) {
        return refused;
    }
    let albums = inner.albums.lock().expect("albums");
    let Some(album) = albums.get(&id) else { return api_error(StatusCode::NOT_FOUND, "Resource not found") };
    let mut object = album.object.clone();
    object["tracks"] = paging(&inner, &format!("/v1/albums/{id}/tracks"), &album.tracks, 0, 50);
    axum::Json(object).into_response()
}

async fn album_tracks(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&inner, &headers, &id) {
        return refused;
    }
    let (offset, limit) = match window(&query, 20, 50) {
        Some(w) => w,
        None => return api_error(StatusCode::BAD_REQUEST, "Invalid limit or offset"),
    };
    let albums = inner.albums.lock().expect("albums");
    let Some(album) = albums.get(&id) else { return api_error(StatusCode::NOT_FOUND, "Resource not found") };
    axum::Json(paging(&inner, &format!("/v1/albums/{id}/tracks"), &album.tracks, offset, limit)).into_response()
}

async fn playlist(State(inner): State<Arc<Inner>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&inner, &headers, &id) {
        return refused;
    }
    let playlists = inner.playlists.lock().expect("playlists");
    let Some(playlist) = playlists.get(&id) else { return api_error(StatusCode::NOT_FOUND, "Resource not found") };
    let base = inner.base_url.get().map_or("", String::as_str);
    let path = format!("/v1/playlists/{id}/tracks");
    let mut object = json!({
        "id": id,
        "name": playlist.name,
        "type": "playlist",
        "public": true,
        "collaborative": false,
        "description": "",
        "owner": {"id": "fake-owner", "display_name": "Fake Owner", "type": "user"},
        "images": [{"url": format!("https://mosaic.scdn.co/640/{id}"), "height": 640, "width": 640}],
        "snapshot_id": "c25hcHNob3Q",
        "uri": format!("spotify:playlist:{id}"),
    });
    match *inner.shape.lock().expect("shape") {
        PlaylistShape::Embedded => object["tracks"] = paging(&inner, &path, &playlist.entries, 0, 100),
        PlaylistShape::Stub => {
            object["items"] = json!({"href": format!("{base}{path}"), "total": playlist.entries.len()});
        }
    }
    axum::Json(object).into_response()
}

async fn playlist_tracks(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&inner, &headers, &id) {
        return refused;
    }
    let (offset, limit) = match window(&query, 100, 100) {
        Some(w) => w,
        None => return api_error(StatusCode::BAD_REQUEST, "Invalid limit or offset"),
    };
    let playlists = inner.playlists.lock().expect("playlists");
    let Some(playlist) = playlists.get(&id) else { return api_error(StatusCode::NOT_FOUND, "Resource not found") };
    axum::Json(paging(&inner, &format!("/v1/playlists/{id}/tracks"), &playlist.entries, offset, limit)).into_response()
}
