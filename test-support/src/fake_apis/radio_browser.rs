//! A fake Radio Browser API server (<https://api.radio-browser.info>), with
//! the endpoints the bot uses and the real answers' JSON field names:
//!
//! - `GET /json/servers`: `[{"ip", "name"}]`, naming `127.0.0.1` by default
//!   (see [`FakeRadioBrowser::set_server_names`]);
//! - `GET /json/stations/search`: `name`, `tag`, `country` (substring, any
//!   case), `countrycode` (exact, any case), `hidebroken`,
//!   `order=clickcount` with `reverse`, `limit`;
//! - `GET /json/stations/byuuid/{uuid}`: a list of zero or one station;
//! - `GET /json/url/{uuid}`: counts a click and answers
//!   `{ok, message, stationuuid, name, url}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{SeenLog, Served};

/// A station the fake directory lists. Build one with [`FakeStation::new`]
/// and change fields with struct update syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeStation {
    /// `stationuuid`.
    pub uuid: String,
    /// `name`.
    pub name: String,
    /// `url`, the link as submitted (may be a playlist).
    pub url: String,
    /// `url_resolved`, the stream itself (empty when not resolved).
    pub url_resolved: String,
    /// `homepage`.
    pub homepage: String,
    /// `favicon`.
    pub favicon: String,
    /// `tags`, sent comma-separated.
    pub tags: Vec<String>,
    /// `countrycode`, ISO 3166-1 alpha-2.
    pub country_code: String,
    /// `country`, its English name.
    pub country: String,
    /// `codec`.
    pub codec: String,
    /// `bitrate`, in kbit/s.
    pub bitrate: u32,
    /// `hls`, sent as 0/1.
    pub hls: bool,
    /// `lastcheckok`, sent as 0/1; `hidebroken=true` hides stations without it.
    pub last_check_ok: bool,
    /// `clickcount` before the test's clicks.
    pub clickcount: u64,
    /// `votes`.
    pub votes: u64,
}

impl FakeStation {
    /// A working MP3 station at `url` (also its `url_resolved`), without tags
    /// or country.
    pub fn new(uuid: impl Into<String>, name: impl Into<String>, url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            uuid: uuid.into(),
            name: name.into(),
            url_resolved: url.clone(),
            url,
            homepage: String::new(),
            favicon: String::new(),
            tags: Vec::new(),
            country_code: String::new(),
            country: String::new(),
            codec: "MP3".to_owned(),
            bitrate: 128,
            hls: false,
            last_check_ok: true,
            clickcount: 0,
            votes: 0,
        }
    }

    fn to_json(&self, clicks: u64) -> Value {
        json!({
            "changeuuid": "00000000-0000-0000-0000-000000000000",
            "stationuuid": self.uuid,
            "serveruuid": null,
            "name": self.name,
            "url": self.url,
            "url_resolved": self.url_resolved,
            "homepage": self.homepage,
            "favicon": self.favicon,
            "tags": self.tags.join(","),
            "country": self.country,
            "countrycode": self.country_code,
            "iso_3166_2": null,
            "state": "",
            "language": "",
            "languagecodes": "",
            "votes": self.votes,
            "lastchangetime": "2024-01-01 00:00:00",
            "lastchangetime_iso8601": "2024-01-01T00:00:00Z",
            "codec": self.codec,
            "bitrate": self.bitrate,
            "hls": u8::from(self.hls),
            "lastcheckok": u8::from(self.last_check_ok),
            "lastchecktime": "2024-01-01 00:00:00",
            "clickcount": self.clickcount + clicks,
            "clicktrend": 0,
            "ssl_error": 0,
            "geo_lat": null,
            "geo_long": null,
            "has_extended_info": false,
        })
    }
}

#[derive(Debug)]
struct Directory {
    stations: Vec<FakeStation>,
    clicks: HashMap<String, u64>,
    server_names: Vec<String>,
    malformed: bool,
    failing: bool,
}

type Shared = Arc<Mutex<Directory>>;

/// The fake Radio Browser, served on loopback until dropped.
#[derive(Debug)]
pub struct FakeRadioBrowser {
    served: Served,
    state: Shared,
    seen: SeenLog,
}

impl FakeRadioBrowser {
    /// Serves a directory of `stations`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(stations: Vec<FakeStation>) -> anyhow::Result<Self> {
        Self::start_on(super::LOOPBACK, stations).await
    }

    /// [`FakeRadioBrowser::start`] on `ip`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: std::net::IpAddr, stations: Vec<FakeStation>) -> anyhow::Result<Self> {
        let state = Arc::new(Mutex::new(Directory {
            stations,
            clicks: HashMap::new(),
            server_names: vec![ip.to_string()],
            malformed: false,
            failing: false,
        }));
        let seen = SeenLog::default();
        let router = Router::new()
            .route("/json/servers", get(servers))
            .route("/json/stations/search", get(search))
            .route("/json/stations/byuuid/{uuid}", get(by_uuid))
            .route("/json/url/{uuid}", get(click))
            .layer(middleware::from_fn_with_state(state.clone(), misbehave))
            .layer(middleware::from_fn_with_state(seen.clone(), record))
            .with_state(state.clone());
        let served = Served::start_on(ip, "radio-browser", router).await?;
        Ok(Self { served, state, seen })
    }

    /// `http://127.0.0.1:<port>/`, a server base for the client.
    pub fn base_url(&self) -> String {
        format!("{}/", self.served.base_url())
    }

    /// The `/json/servers` link, for discovery.
    pub fn servers_url(&self) -> String {
        format!("{}/json/servers", self.served.base_url())
    }

    /// The requests seen so far.
    pub fn seen(&self) -> &SeenLog {
        &self.seen
    }

    /// How many clicks `/json/url/{uuid}` counted for `uuid`.
    pub fn clicks(&self, uuid: &str) -> u64 {
        self.lock().clicks.get(uuid).copied().unwrap_or(0)
    }

    /// The names `/json/servers` lists (default: `127.0.0.1`).
    pub fn set_server_names(&self, names: Vec<String>) {
        self.lock().server_names = names;
    }

    /// Whether every answer is a 200 whose body is not JSON.
    pub fn set_malformed(&self, malformed: bool) {
        self.lock().malformed = malformed;
    }

    /// Whether every answer is a 503, like a server being restarted.
    pub fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Directory> {
        self.state.lock().expect("fake radio browser state")
    }
}

async fn record(State(seen): State<SeenLog>, request: Request, next: Next) -> Response {
    seen.push(request.method(), request.uri(), request.headers());
    next.run(request).await
}

async fn misbehave(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (malformed, failing) = {
        let state = state.lock().expect("fake radio browser state");
        (state.malformed, state.failing)
    };
    if failing {
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    if malformed {
        return ([(header::CONTENT_TYPE, "application/json")], "[{\"stationuuid\": \"9606").into_response();
    }
    next.run(request).await
}

async fn servers(State(state): State<Shared>) -> Response {
    let state = state.lock().expect("fake radio browser state");
    let list: Vec<Value> = state.server_names.iter().map(|name| json!({"ip": "127.0.0.1", "name": name})).collect();
    axum::Json(list).into_response()
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

async fn search(State(state): State<Shared>, Query(params): Query<HashMap<String, String>>) -> Response {
    let state = state.lock().expect("fake radio browser state");
    let param = |key: &str| params.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let hide_broken = param("hidebroken") == Some("true");
    let mut matches: Vec<&FakeStation> = state
        .stations
        .iter()
        .filter(|s| param("name").is_none_or(|n| contains(&s.name, n)))
        .filter(|s| param("tag").is_none_or(|t| s.tags.iter().any(|tag| contains(tag, t))))
        .filter(|s| param("country").is_none_or(|c| contains(&s.country, c)))
        .filter(|s| param("countrycode").is_none_or(|c| s.country_code.eq_ignore_ascii_case(c)))
        .filter(|s| !hide_broken || s.last_check_ok)
        .collect();
    let clicks_of = |s: &FakeStation| s.clickcount + state.clicks.get(&s.uuid).copied().unwrap_or(0);
    match param("order") {
        Some("clickcount") => matches.sort_by_key(|s| clicks_of(s)),
        Some("name") | None => matches.sort_by(|a, b| a.name.cmp(&b.name)),
        Some(_) => {}
    }
    if param("reverse") == Some("true") {
        matches.reverse();
    }
    let limit = param("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100_000);
    let offset = param("offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
    let list: Vec<Value> =
        matches.into_iter().skip(offset).take(limit).map(|s| s.to_json(clicks_of(s) - s.clickcount)).collect();
    axum::Json(list).into_response()
}

async fn by_uuid(State(state): State<Shared>, Path(uuid): Path<String>) -> Response {
    let state = state.lock().expect("fake radio browser state");
    let list: Vec<Value> = state
        .stations
        .iter()
        .filter(|s| s.uuid.eq_ignore_ascii_case(&uuid))
        .map(|s| s.to_json(state.clicks.get(&s.uuid).copied().unwrap_or(0)))
        .collect();
    axum::Json(list).into_response()
}

async fn click(State(state): State<Shared>, Path(uuid): Path<String>) -> Response {
    let mut state = state.lock().expect("fake radio browser state");
    let Some(station) = state.stations.iter().find(|s| s.uuid.eq_ignore_ascii_case(&uuid)).cloned() else {
        return axum::Json(json!({
            "ok": false,
            "message": "did not find station with matching uuid",
            "stationuuid": "",
            "name": "",
            "url": "",
        }))
        .into_response();
    };
    *state.clicks.entry(station.uuid.clone()).or_default() += 1;
    let url = if station.url_resolved.is_empty() { station.url.clone() } else { station.url_resolved.clone() };
    axum::Json(json!({
        "ok": true,
        "message": "retrieved station url",
        "stationuuid": station.uuid,
        "name": station.name,
        "url": url,
    }))
    .into_response()
}
