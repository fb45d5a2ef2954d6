//! A fake Audius API host (<https://docs.audius.org>), with the endpoints the
//! bot uses, every answer wrapped in `{"data": …}` as Audius does:
//!
//! - `GET /`: host discovery, `{"data": ["http://127.0.0.1:<port>"]}` (see
//!   [`FakeAudius::set_discovery_hosts`]);
//! - `GET /v1/tracks/search?query=&limit=`: title or artist name contains the
//!   query (any case), or every word of the query is one of theirs. Every
//!   matching track is returned, not-streamable and unlisted ones included,
//!   so what a test sees filtered is the client's doing;
//! - `GET /v1/tracks/{id}`, `GET /v1/users/{id}`, `GET /v1/playlists/{id}`
//!   (a list of one, as Audius answers), `GET /v1/playlists/{id}/tracks`;
//! - `GET /v1/tracks/{id}/stream`: a 302 to a test-given link, or test-given
//!   bytes ([`FakeAudius::set_stream`]);
//! - `GET /v1/resolve?url=`: a 302 to the track, playlist or user an
//!   audius.co link names.
//!
//! Like the API asks, a request without `app_name` gets a 400; and
//! [`FakeAudius::rate_limit_next`] answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{SeenLog, Served};

/// An Audius artist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAudiusUser {
    /// `id`.
    pub id: String,
    /// `handle`, the first part of their links.
    pub handle: String,
    /// `name`, shown as the artist.
    pub name: String,
}

impl FakeAudiusUser {
    /// An artist.
    pub fn new(id: impl Into<String>, handle: impl Into<String>, name: impl Into<String>) -> Self {
        Self { id: id.into(), handle: handle.into(), name: name.into() }
    }
}

/// An Audius track. Build one with [`FakeAudiusTrack::new`] and change fields
/// with struct update syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAudiusTrack {
    /// `id`.
    pub id: String,
    /// `title`.
    pub title: String,
    /// The uploader's [`FakeAudiusUser::id`].
    pub user_id: String,
    /// `duration`, in seconds.
    pub duration_secs: u64,
    /// `isrc`, sent only when set.
    pub isrc: Option<String>,
    /// `artwork["480x480"]` (the artwork object is `null` without it).
    pub artwork_480: Option<String>,
    /// `is_streamable`.
    pub is_streamable: bool,
    /// `is_delete`.
    pub is_delete: bool,
    /// `is_unlisted`.
    pub is_unlisted: bool,
    /// The last part of its link: `https://audius.co/<handle>/<slug>`.
    pub slug: String,
}

impl FakeAudiusTrack {
    /// A streamable three-minute track by `user_id`, its slug its id.
    pub fn new(id: impl Into<String>, title: impl Into<String>, user_id: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            slug: format!("track-{}", id.to_lowercase()),
            id,
            title: title.into(),
            user_id: user_id.into(),
            duration_secs: 180,
            isrc: None,
            artwork_480: None,
            is_streamable: true,
            is_delete: false,
            is_unlisted: false,
        }
    }
}

/// An Audius playlist or album.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAudiusPlaylist {
    /// `id`.
    pub id: String,
    /// `playlist_name`.
    pub name: String,
    /// The owner's [`FakeAudiusUser::id`].
    pub user_id: String,
    /// Its tracks, in order ([`FakeAudiusTrack::id`]s).
    pub track_ids: Vec<String>,
    /// `is_album`: its link says `album` rather than `playlist`.
    pub is_album: bool,
    /// The last part of its link: `https://audius.co/<handle>/playlist/<slug>`.
    pub slug: String,
}

impl FakeAudiusPlaylist {
    /// A playlist of `track_ids` by `user_id`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        user_id: impl Into<String>,
        track_ids: Vec<String>,
    ) -> Self {
        let id = id.into();
        Self {
            slug: format!("list-{}", id.to_lowercase()),
            id,
            name: name.into(),
            user_id: user_id.into(),
            track_ids,
            is_album: false,
        }
    }
}

/// What the fake serves.
#[derive(Debug, Clone, Default)]
pub struct FakeAudiusCatalog {
    /// The artists.
    pub users: Vec<FakeAudiusUser>,
    /// The tracks.
    pub tracks: Vec<FakeAudiusTrack>,
    /// The playlists and albums.
    pub playlists: Vec<FakeAudiusPlaylist>,
}

/// What `/v1/tracks/{id}/stream` answers for a known track.
#[derive(Debug, Clone)]
pub enum FakeStream {
    /// A 302 to this link (as Audius redirects to a content node).
    Redirect(String),
    /// A 302 to this link with `{id}` replaced by the track's id: each
    /// track its own audio.
    RedirectEach(String),
    /// A 200 with these bytes.
    Bytes {
        /// Its `Content-Type`.
        content_type: String,
        /// The audio.
        body: Bytes,
    },
}

#[derive(Debug)]
struct Host {
    catalog: FakeAudiusCatalog,
    discovery_hosts: Vec<String>,
    stream: Option<FakeStream>,
    rate_limited: u32,
    retry_after: String,
    malformed: bool,
}

type Shared = Arc<Mutex<Host>>;

/// The fake Audius host, served on loopback until dropped.
#[derive(Debug)]
pub struct FakeAudius {
    served: Served,
    state: Shared,
    seen: SeenLog,
}

impl FakeAudius {
    /// Serves `catalog`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(catalog: FakeAudiusCatalog) -> anyhow::Result<Self> {
        Self::start_on(super::LOOPBACK, catalog).await
    }

    /// [`FakeAudius::start`] on `ip`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: std::net::IpAddr, catalog: FakeAudiusCatalog) -> anyhow::Result<Self> {
        let state = Arc::new(Mutex::new(Host {
            catalog,
            discovery_hosts: Vec::new(),
            stream: None,
            rate_limited: 0,
            retry_after: "1".to_owned(),
            malformed: false,
        }));
        let seen = SeenLog::default();
        let router = Router::new()
            .route("/", get(discovery))
            .route("/v1/tracks/search", get(search))
            .route("/v1/tracks/{id}", get(track))
            .route("/v1/tracks/{id}/stream", get(stream))
            .route("/v1/users/{id}", get(user))
            .route("/v1/playlists/{id}", get(playlist))
            .route("/v1/playlists/{id}/tracks", get(playlist_tracks))
            .route("/v1/resolve", get(resolve))
            .layer(middleware::from_fn_with_state(state.clone(), malformed))
            .layer(middleware::from_fn(require_app_name))
            .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
            .layer(middleware::from_fn_with_state(seen.clone(), record))
            .with_state(state.clone());
        let served = Served::start_on(ip, "audius", router).await?;
        state.lock().expect("fake audius state").discovery_hosts = vec![served.base_url()];
        Ok(Self { served, state, seen })
    }

    /// `http://127.0.0.1:<port>/`, a host for the client (and its discovery
    /// link: discovery is a GET of the root).
    pub fn base_url(&self) -> String {
        format!("{}/", self.served.base_url())
    }

    /// The requests seen so far.
    pub fn seen(&self) -> &SeenLog {
        &self.seen
    }

    /// The audius.co link of track `id` (`https://audius.co/<handle>/<slug>`).
    ///
    /// # Panics
    /// When the catalog has no such track.
    pub fn track_link(&self, id: &str) -> String {
        let state = self.lock();
        let track = state.catalog.tracks.iter().find(|t| t.id == id).expect("a track of the catalog");
        format!("https://audius.co{}", track_permalink(&state.catalog, track))
    }

    /// The audius.co link of playlist or album `id`.
    ///
    /// # Panics
    /// When the catalog has no such playlist.
    pub fn playlist_link(&self, id: &str) -> String {
        let state = self.lock();
        let playlist = state.catalog.playlists.iter().find(|p| p.id == id).expect("a playlist of the catalog");
        format!("https://audius.co{}", playlist_permalink(&state.catalog, playlist))
    }

    /// The hosts discovery lists (default: this fake's own base, without the
    /// trailing slash, as Audius lists them).
    pub fn set_discovery_hosts(&self, hosts: Vec<String>) {
        self.lock().discovery_hosts = hosts;
    }

    /// What the stream endpoint answers (default: 404).
    pub fn set_stream(&self, stream: FakeStream) {
        self.lock().stream = Some(stream);
    }

    /// Answers the next `requests` requests with 429 and `Retry-After:
    /// <retry_after>` (seconds, or any text).
    pub fn rate_limit_next(&self, requests: u32, retry_after: impl Into<String>) {
        let mut state = self.lock();
        state.rate_limited = requests;
        state.retry_after = retry_after.into();
    }

    /// Whether API answers are a 200 whose body is not JSON.
    pub fn set_malformed(&self, malformed: bool) {
        self.lock().malformed = malformed;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Host> {
        self.state.lock().expect("fake audius state")
    }
}

async fn record(State(seen): State<SeenLog>, request: Request, next: Next) -> Response {
    seen.push(request.method(), request.uri(), request.headers());
    next.run(request).await
}

async fn rate_limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let limited = {
        let mut state = state.lock().expect("fake audius state");
        if state.rate_limited > 0 {
            state.rate_limited -= 1;
            Some(state.retry_after.clone())
        } else {
            None
        }
    };
    match limited {
        Some(retry_after) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after)],
            axum::Json(json!({"error": "Too many requests"})),
        )
            .into_response(),
        None => next.run(request).await,
    }
}

/// The raw `app_name=…` pair of a query, when its value is not empty.
fn app_name_pair(uri: &Uri) -> Option<&str> {
    uri.query()?.split('&').find(|pair| pair.strip_prefix("app_name=").is_some_and(|v| !v.is_empty()))
}

async fn require_app_name(request: Request, next: Next) -> Response {
    if app_name_pair(request.uri()).is_none() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "app_name is required"}))).into_response();
    }
    next.run(request).await
}

async fn malformed(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let malformed = state.lock().expect("fake audius state").malformed;
    if malformed && request.uri().path() != "/" {
        return ([(header::CONTENT_TYPE, "application/json")], "{\"data\": [{\"id\": ").into_response();
    }
    next.run(request).await
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"error": "Not found"}))).into_response()
}

fn data(value: Value) -> Response {
    axum::Json(json!({ "data": value })).into_response()
}

fn user_of<'a>(catalog: &'a FakeAudiusCatalog, id: &str) -> Option<&'a FakeAudiusUser> {
    catalog.users.iter().find(|u| u.id == id)
}

fn handle_of<'a>(catalog: &'a FakeAudiusCatalog, user_id: &str) -> &'a str {
    user_of(catalog, user_id).map_or("unknown", |u| u.handle.as_str())
}

fn track_permalink(catalog: &FakeAudiusCatalog, track: &FakeAudiusTrack) -> String {
    format!("/{}/{}", handle_of(catalog, &track.user_id), track.slug)
}

fn playlist_permalink(catalog: &FakeAudiusCatalog, playlist: &FakeAudiusPlaylist) -> String {
    let kind = if playlist.is_album { "album" } else { "playlist" };
    format!("/{}/{kind}/{}", handle_of(catalog, &playlist.user_id), playlist.slug)
}

fn user_json(catalog: &FakeAudiusCatalog, user_id: &str) -> Value {
    match user_of(catalog, user_id) {
        Some(user) => json!({
            "id": user.id,
            "handle": user.handle,
            "name": user.name,
            "is_verified": false,
            "follower_count": 0,
            "profile_picture": null,
        }),
        None => Value::Null,
    }
}

fn track_json(catalog: &FakeAudiusCatalog, track: &FakeAudiusTrack) -> Value {
    let artwork = track.artwork_480.as_ref().map(|url| {
        json!({
            "150x150": url.replace("480x480", "150x150"),
            "480x480": url,
            "1000x1000": url.replace("480x480", "1000x1000"),
        })
    });
    let mut value = json!({
        "id": track.id,
        "title": track.title,
        "duration": track.duration_secs,
        "genre": "Electronic",
        "mood": null,
        "tags": null,
        "permalink": track_permalink(catalog, track),
        "play_count": 0,
        "repost_count": 0,
        "favorite_count": 0,
        "is_streamable": track.is_streamable,
        "is_downloadable": false,
        "is_delete": track.is_delete,
        "is_unlisted": track.is_unlisted,
        "artwork": artwork,
        "user": user_json(catalog, &track.user_id),
    });
    if let Some(isrc) = &track.isrc {
        value["isrc"] = json!(isrc);
    }
    value
}

fn playlist_json(catalog: &FakeAudiusCatalog, playlist: &FakeAudiusPlaylist) -> Value {
    json!({
        "id": playlist.id,
        "playlist_name": playlist.name,
        "is_album": playlist.is_album,
        "description": null,
        "permalink": playlist_permalink(catalog, playlist),
        "track_count": playlist.track_ids.len(),
        "artwork": null,
        "user": user_json(catalog, &playlist.user_id),
    })
}

async fn discovery(State(state): State<Shared>) -> Response {
    let hosts = state.lock().expect("fake audius state").discovery_hosts.clone();
    data(json!(hosts))
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Whether every word of `query` is in the track's title or its artist's
/// name, as a full-text search finds "artist title" queries (what the
/// matcher sends).
fn has_every_word(title: &str, artist: Option<&str>, query: &str) -> bool {
    let text = format!("{title} {}", artist.unwrap_or_default()).to_lowercase();
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let mut wanted = query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).peekable();
    wanted.peek().is_some() && wanted.all(|w| words.contains(&w.to_lowercase().as_str()))
}

async fn search(State(state): State<Shared>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(query) = params.get("query").filter(|q| !q.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "query is required"}))).into_response();
    };
    let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(10);
    let state = state.lock().expect("fake audius state");
    let catalog = &state.catalog;
    let found: Vec<Value> = catalog
        .tracks
        .iter()
        .filter(|t| !t.is_delete)
        .filter(|t| {
            let artist = user_of(catalog, &t.user_id).map(|u| u.name.as_str());
            contains(&t.title, query)
                || artist.is_some_and(|a| contains(a, query))
                || has_every_word(&t.title, artist, query)
        })
        .take(limit)
        .map(|t| track_json(catalog, t))
        .collect();
    data(json!(found))
}

async fn track(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let state = state.lock().expect("fake audius state");
    match state.catalog.tracks.iter().find(|t| t.id == id) {
        Some(track) => data(track_json(&state.catalog, track)),
        None => not_found(),
    }
}

async fn stream(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let state = state.lock().expect("fake audius state");
    let streamable = state.catalog.tracks.iter().any(|t| t.id == id && t.is_streamable && !t.is_delete);
    match (&state.stream, streamable) {
        (Some(FakeStream::Redirect(to)), true) => (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response(),
        (Some(FakeStream::RedirectEach(to)), true) => {
            (StatusCode::FOUND, [(header::LOCATION, to.replace("{id}", &id))]).into_response()
        }
        (Some(FakeStream::Bytes { content_type, body }), true) => {
            ([(header::CONTENT_TYPE, content_type.clone())], body.clone()).into_response()
        }
        _ => not_found(),
    }
}

async fn user(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let state = state.lock().expect("fake audius state");
    match user_of(&state.catalog, &id) {
        Some(user) => data(user_json(&state.catalog, &user.id)),
        None => not_found(),
    }
}

async fn playlist(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let state = state.lock().expect("fake audius state");
    match state.catalog.playlists.iter().find(|p| p.id == id) {
        Some(playlist) => data(json!([playlist_json(&state.catalog, playlist)])),
        None => not_found(),
    }
}

async fn playlist_tracks(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let state = state.lock().expect("fake audius state");
    let catalog = &state.catalog;
    let Some(playlist) = catalog.playlists.iter().find(|p| p.id == id) else { return not_found() };
    let tracks: Vec<Value> = playlist
        .track_ids
        .iter()
        .filter_map(|tid| catalog.tracks.iter().find(|t| &t.id == tid))
        .map(|t| track_json(catalog, t))
        .collect();
    data(json!(tracks))
}

/// The path an audius.co link names (`/<handle>/<slug>`), without scheme,
/// host, query or trailing slash.
fn audius_path(link: &str) -> Option<&str> {
    let rest = link.strip_prefix("https://").or_else(|| link.strip_prefix("http://")).unwrap_or(link);
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let rest = rest.strip_prefix("audius.co").unwrap_or(rest);
    let path = rest.split(['?', '#']).next()?.trim_end_matches('/');
    path.starts_with('/').then_some(path)
}

async fn resolve(State(state): State<Shared>, uri: Uri, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(path) = params.get("url").and_then(|u| audius_path(u)) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "url is required"}))).into_response();
    };
    let state = state.lock().expect("fake audius state");
    let catalog = &state.catalog;
    let target = if let Some(track) = catalog.tracks.iter().find(|t| track_permalink(catalog, t) == path) {
        format!("/v1/tracks/{}", track.id)
    } else if let Some(playlist) = catalog.playlists.iter().find(|p| playlist_permalink(catalog, p) == path) {
        format!("/v1/playlists/{}", playlist.id)
    } else if let Some(user) = catalog.users.iter().find(|u| path == format!("/{}", u.handle)) {
        format!("/v1/users/{}", user.id)
    } else {
        return not_found();
    };
    // The hop keeps the app name, as it is a request to the API too.
    let query = app_name_pair(&uri).map(|pair| format!("?{pair}")).unwrap_or_default();
    (StatusCode::FOUND, [(header::LOCATION, format!("{target}{query}"))]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_reduced_to_their_path() {
        assert_eq!(audius_path("https://audius.co/a/b"), Some("/a/b"));
        assert_eq!(audius_path("https://www.audius.co/a/playlist/b/?x=1"), Some("/a/playlist/b"));
        assert_eq!(audius_path("/a/b"), Some("/a/b"));
        assert_eq!(audius_path("https://evil.example/a"), None);
    }
}
