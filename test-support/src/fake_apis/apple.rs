//! A fake of the iTunes Search API's lookup (`itunes.apple.com/lookup`):
//! `{"resultCount", "results"}`, an album id answering its collection then
//! its songs (with `entity=song`), a song id answering the song, an unknown
//! id answering no results, a malformed country answering 400 with
//! `errorMessage`. Items exist only in the stores they were added to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{SeenLog, Served};

#[derive(Debug)]
enum Item {
    Album { collection: Value, songs: Vec<Value> },
    Song(Value),
}

#[derive(Debug, Default)]
struct Inner {
    /// By (store, id).
    items: Mutex<HashMap<(String, String), Item>>,
    seen: SeenLog,
}

/// The iTunes lookup on loopback.
#[derive(Debug)]
pub struct FakeApple {
    inner: Arc<Inner>,
    served: Served,
}

impl FakeApple {
    /// Starts the fake.
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
        let inner = Arc::new(Inner::default());
        let router = Router::new()
            .route("/lookup", get(lookup))
            .layer(middleware::from_fn_with_state(inner.clone(), record))
            .with_state(inner.clone());
        let served = Served::start_on(ip, "itunes", router).await?;
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

    /// Adds an album to `store` (see [`collection_json`], [`song_json`]);
    /// each of its songs can be looked up on its own too.
    pub fn add_album(&self, store: &str, collection: Value, songs: Vec<Value>) {
        let mut items = self.inner.items.lock().expect("items");
        for song in &songs {
            items.insert((store.to_owned(), song["trackId"].to_string()), Item::Song(song.clone()));
        }
        items.insert((store.to_owned(), collection["collectionId"].to_string()), Item::Album { collection, songs });
    }
}

/// A collection (album) result.
pub fn collection_json(id: u64, name: &str, artist: &str, track_count: usize) -> Value {
    json!({
        "wrapperType": "collection",
        "collectionType": "Album",
        "artistId": 5_468_295,
        "collectionId": id,
        "artistName": artist,
        "collectionName": name,
        "collectionCensoredName": name,
        "collectionViewUrl": format!("https://music.apple.com/us/album/x/{id}?uo=4"),
        "artworkUrl60": format!("https://is1-ssl.mzstatic.com/image/thumb/{id}/60x60bb.jpg"),
        "artworkUrl100": format!("https://is1-ssl.mzstatic.com/image/thumb/{id}/100x100bb.jpg"),
        "trackCount": track_count,
        "copyright": "℗ 2013",
        "country": "USA",
        "currency": "USD",
        "releaseDate": "2013-05-17T07:00:00Z",
        "primaryGenreName": "Pop",
    })
}

/// A song result of album `collection_id`.
pub fn song_json(id: u64, collection_id: u64, name: &str, artist: &str, millis: u64, disc: u32, track: u32) -> Value {
    json!({
        "wrapperType": "track",
        "kind": "song",
        "artistId": 5_468_295,
        "collectionId": collection_id,
        "trackId": id,
        "artistName": artist,
        "collectionName": "An album",
        "trackName": name,
        "trackCensoredName": name,
        "trackViewUrl": format!("https://music.apple.com/us/album/x/{collection_id}?i={id}&uo=4"),
        "previewUrl": format!("https://audio-ssl.itunes.apple.com/{id}.m4a"),
        "artworkUrl100": format!("https://is1-ssl.mzstatic.com/image/thumb/{collection_id}/100x100bb.jpg"),
        "discCount": 1,
        "discNumber": disc,
        "trackCount": 13,
        "trackNumber": track,
        "trackTimeMillis": millis,
        "country": "USA",
        "isStreamable": true,
    })
}

async fn record(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    inner.seen.push(request.method(), request.uri(), request.headers());
    next.run(request).await
}

async fn lookup(State(inner): State<Arc<Inner>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let store = query.get("country").map_or("us", String::as_str).to_ascii_lowercase();
    if store.len() != 2 {
        let body = json!({"errorMessage": "Invalid value(s) for key(s): [country]", "queryParameters": {}});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let id = query.get("id").cloned().unwrap_or_default();
    let with_songs = query.get("entity").is_some_and(|e| e == "song");
    let limit = query.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(50).min(200);
    let items = inner.items.lock().expect("items");
    let results: Vec<Value> = match items.get(&(store, id)) {
        Some(Item::Album { collection, songs }) if with_songs => {
            std::iter::once(collection.clone()).chain(songs.iter().take(limit).cloned()).collect()
        }
        Some(Item::Album { collection, .. }) => vec![collection.clone()],
        Some(Item::Song(song)) => vec![song.clone()],
        None => Vec::new(),
    };
    // iTunes answers JSON as text/javascript.
    let body = serde_json::to_vec(&json!({"resultCount": results.len(), "results": results})).expect("json");
    ([(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")], body).into_response()
}
