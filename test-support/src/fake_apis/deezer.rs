//! A fake of Deezer's public API (`api.deezer.com`): `/track/{id}`,
//! `/album/{id}`, `/album/{id}/tracks`, `/playlist/{id}`,
//! `/playlist/{id}/tracks`, in Deezer's shapes: lists as `{data, total,
//! next}` paged with `index` and `limit`, and errors answered with HTTP 200
//! and `{"error": {"type", "message", "code"}}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{SeenLog, Served};

#[derive(Debug)]
struct FakeList {
    object: Value,
    tracks: Vec<Value>,
}

#[derive(Debug, Default)]
struct Inner {
    base_url: OnceLock<String>,
    tracks: Mutex<HashMap<String, Value>>,
    albums: Mutex<HashMap<String, FakeList>>,
    playlists: Mutex<HashMap<String, FakeList>>,
    quota_exceeded: Mutex<bool>,
    embedded_limit: Mutex<usize>,
    seen: SeenLog,
}

/// Deezer's API on loopback.
#[derive(Debug)]
pub struct FakeDeezer {
    inner: Arc<Inner>,
    served: Served,
}

impl FakeDeezer {
    /// Starts the fake. Album and playlist objects embed their first 25
    /// tracks until [`FakeDeezer::set_embedded_limit`].
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(super::LOOPBACK).await
    }

    /// The same fake on `ip` (the sandbox puts its fakes on `127.0.0.2`).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: std::net::IpAddr) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner { embedded_limit: Mutex::new(25), ..Inner::default() });
        let router = Router::new()
            .route("/track/{id}", get(track))
            .route("/album/{id}", get(album))
            .route("/album/{id}/tracks", get(album_tracks))
            .route("/playlist/{id}", get(playlist))
            .route("/playlist/{id}/tracks", get(playlist_tracks))
            .layer(middleware::from_fn_with_state(inner.clone(), record))
            .with_state(inner.clone());
        let served = Served::start_on(ip, "deezer", router).await?;
        inner.base_url.set(served.base_url()).expect("set once");
        Ok(Self { inner, served })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The requests seen so far.
    pub fn seen(&self) -> &SeenLog {
        &self.inner.seen
    }

    /// Answers every request with Deezer's quota error (code 4), or stops.
    pub fn set_quota_exceeded(&self, exceeded: bool) {
        *self.inner.quota_exceeded.lock().expect("quota") = exceeded;
    }

    /// How many tracks album and playlist objects embed.
    pub fn set_embedded_limit(&self, limit: usize) {
        *self.inner.embedded_limit.lock().expect("limit") = limit;
    }

    /// Adds a track object (see [`track_json`]).
    pub fn add_track(&self, track: Value) {
        let id = track["id"].to_string();
        self.inner.tracks.lock().expect("tracks").insert(id, track);
    }

    /// Adds an album of `tracks` (track objects).
    pub fn add_album(&self, id: u64, title: &str, artist: &str, tracks: Vec<Value>) {
        let object = json!({
            "id": id,
            "title": title,
            "upc": "724384960650",
            "link": format!("https://www.deezer.com/album/{id}"),
            "cover_xl": format!("https://cdn-images.dzcdn.net/images/cover/{id}/1000x1000-000000-80-0-0.jpg"),
            "nb_tracks": tracks.len(),
            "record_type": "album",
            "artist": {"id": 27, "name": artist, "type": "artist"},
            "type": "album",
        });
        self.inner.albums.lock().expect("albums").insert(id.to_string(), FakeList { object, tracks });
    }

    /// Adds a public playlist of `tracks` (track objects).
    pub fn add_playlist(&self, id: u64, title: &str, tracks: Vec<Value>) {
        let object = json!({
            "id": id,
            "title": title,
            "public": true,
            "nb_tracks": tracks.len(),
            "link": format!("https://www.deezer.com/playlist/{id}"),
            "picture_xl": format!("https://cdn-images.dzcdn.net/images/playlist/{id}/1000x1000.jpg"),
            "creator": {"id": 5, "name": "someone", "type": "user"},
            "type": "playlist",
        });
        self.inner.playlists.lock().expect("playlists").insert(id.to_string(), FakeList { object, tracks });
    }
}

/// A track object as `/track/{id}` answers it (duration in seconds).
pub fn track_json(id: u64, title: &str, artist: &str, duration_s: u64, isrc: &str) -> Value {
    json!({
        "id": id,
        "readable": true,
        "title": title,
        "title_short": title,
        "isrc": isrc,
        "link": format!("https://www.deezer.com/track/{id}"),
        "duration": duration_s,
        "track_position": 1,
        "disk_number": 1,
        "rank": 700_000,
        "explicit_lyrics": false,
        "preview": format!("https://cdnt-preview.dzcdn.net/{id}.mp3"),
        "artist": {"id": 27, "name": artist, "type": "artist"},
        "album": {
            "id": 302_127,
            "title": format!("{title} (album)"),
            "cover_xl": format!("https://cdn-images.dzcdn.net/images/cover/{id}/1000x1000-000000-80-0-0.jpg"),
            "type": "album"
        },
        "type": "track",
    })
}

fn error(kind: &str, message: &str, code: u32) -> Response {
    // Deezer answers its errors with 200.
    axum::Json(json!({"error": {"type": kind, "message": message, "code": code}})).into_response()
}

fn no_data() -> Response {
    error("DataException", "no data", 800)
}

async fn record(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    inner.seen.push(request.method(), request.uri(), request.headers());
    if *inner.quota_exceeded.lock().expect("quota") {
        return error("Exception", "Quota limit exceeded", 4);
    }
    next.run(request).await
}

async fn track(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    match inner.tracks.lock().expect("tracks").get(&id) {
        Some(track) => axum::Json(track.clone()).into_response(),
        None => no_data(),
    }
}

/// `{data, total, next}` over `all` from `index`, `limit` long, at `path`.
fn list(inner: &Inner, path: &str, all: &[Value], index: usize, limit: usize) -> Value {
    let base = inner.base_url.get().map_or("", String::as_str);
    let data: Vec<Value> = all.iter().skip(index).take(limit).cloned().collect();
    let mut page = json!({"data": data, "total": all.len()});
    if index + limit < all.len() {
        page["next"] = json!(format!("{base}{path}?limit={limit}&index={}", index + limit));
    }
    if index > 0 {
        page["prev"] = json!(format!("{base}{path}?limit={limit}&index={}", index.saturating_sub(limit)));
    }
    page
}

fn object_with_tracks(inner: &Inner, list_of: &FakeList) -> Value {
    let limit = *inner.embedded_limit.lock().expect("limit");
    let mut object = list_of.object.clone();
    let embedded: Vec<Value> = list_of.tracks.iter().take(limit).cloned().collect();
    object["tracks"] = json!({"data": embedded});
    object
}

fn tracks_page(inner: &Inner, path: &str, list_of: &FakeList, query: &HashMap<String, String>) -> Response {
    let index = query.get("index").and_then(|i| i.parse().ok()).unwrap_or(0);
    let limit = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25).clamp(1, 100);
    axum::Json(list(inner, path, &list_of.tracks, index, limit)).into_response()
}

async fn album(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    match inner.albums.lock().expect("albums").get(&id) {
        Some(album) => axum::Json(object_with_tracks(&inner, album)).into_response(),
        None => no_data(),
    }
}

async fn album_tracks(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match inner.albums.lock().expect("albums").get(&id) {
        Some(album) => tracks_page(&inner, &format!("/album/{id}/tracks"), album, &query),
        None => no_data(),
    }
}

async fn playlist(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    match inner.playlists.lock().expect("playlists").get(&id) {
        Some(playlist) => axum::Json(object_with_tracks(&inner, playlist)).into_response(),
        None => no_data(),
    }
}

async fn playlist_tracks(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match inner.playlists.lock().expect("playlists").get(&id) {
        Some(playlist) => tracks_page(&inner, &format!("/playlist/{id}/tracks"), playlist, &query),
        None => no_data(),
    }
}
