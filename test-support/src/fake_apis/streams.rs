//! An Icecast/Shoutcast-like stream server and playlist host on loopback.
//!
//! - `GET /radio/{name}`: a station added with [`FakeStreams::add_station`],
//!   an endless WAV (48 kHz, 16-bit, stereo; data size `0xFFFFFFFF`, no
//!   `Content-Length`) of its tone, paced at real time after a short burst,
//!   as Icecast does (or slower: [`Station::speed_percent`], a source that
//!   cannot keep up). With `Icy-MetaData: 1` the answer carries
//!   `icy-metaint: 16000` and a metadata block every 16 000 bytes:
//!   `StreamTitle='…';` when the title changed since the last block sent on
//!   that connection, an empty block otherwise. 404 for an unknown station.
//! - `GET /redirect/{name}`: 302 to `/radio/{name}`.
//! - `GET /endless`: bytes without end, as fast as the client reads, no
//!   size and no ICY: for byte caps.
//! - any other path: the body a test registered with [`FakeStreams::serve`]
//!   (a playlist, an HLS segment; [`FakeStreams::serve_wav_hls`] serves a
//!   whole HLS stream), a redirect registered with
//!   [`FakeStreams::serve_redirect`], or 404.
//!
//! Every request is recorded ([`FakeStreams::seen`]), and so are the bytes
//! each stream sent and the connections still open, so a test can check
//! that a player stops reading when it should.

use std::collections::HashMap;
use std::convert::Infallible;
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use tokio::time::Instant;

use super::{SeenLog, Served};
use crate::audio::SAMPLE_RATE;

/// The `icy-metaint` the fake announces: audio bytes between two metadata
/// blocks (what SHOUTcast servers commonly send).
pub const ICY_METAINT: usize = 16_000;

/// The name [`FakeStreams::bytes_sent`] and [`FakeStreams::open_connections`]
/// use for `GET /endless`.
pub const ENDLESS: &str = "endless";

/// Bytes per second of the WAV a station sends (48 kHz × 2 channels × 2 bytes).
pub const STATION_BYTES_PER_SECOND: u64 = SAMPLE_RATE as u64 * 4;

/// Audio sent at once when a listener connects, like Icecast's burst-on-
/// connect, so a player starts without waiting for real time.
pub const BURST: Duration = Duration::from_millis(250);

/// Amplitude of the tone, as a fraction of full scale (headroom, as in
/// [`crate::audio`]).
const AMPLITUDE: f64 = 0.5;

/// The audio of one paced step.
const STEP: Duration = Duration::from_millis(20);

/// Longest title sent: what 255 × 16 bytes hold with the key around it.
const MAX_TITLE_BYTES: usize = 255 * 16 - "StreamTitle='';".len();

/// How a station sounds and what it says it plays.
#[derive(Debug, Clone)]
pub struct Station {
    hz: f64,
    icy_name: String,
    title: String,
    changes: Vec<(Duration, String)>,
    speed_percent: u64,
}

impl Station {
    /// A station playing a sine tone of `hz`, titled "Fake Artist - Fake Song".
    pub fn tone(hz: f64) -> Self {
        Self {
            hz,
            icy_name: "Fake FM".to_owned(),
            title: "Fake Artist - Fake Song".to_owned(),
            changes: Vec::new(),
            speed_percent: 100,
        }
    }

    /// After the burst, sends audio at `percent` % of real time (default
    /// 100; at least 1): below 100, a source slower than the listener plays.
    #[must_use]
    pub fn speed_percent(mut self, percent: u64) -> Self {
        self.speed_percent = percent.max(1);
        self
    }

    /// Sends `name` as its `icy-name` (default "Fake FM").
    #[must_use]
    pub fn icy_name(mut self, name: impl Into<String>) -> Self {
        self.icy_name = name.into();
        self
    }

    /// Starts with `title` as its `StreamTitle`.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// On each connection, changes the title to `title` once `after` of
    /// audio was sent on it (the burst included). Changes apply in the
    /// order added.
    #[must_use]
    pub fn then_title_after(mut self, after: Duration, title: impl Into<String>) -> Self {
        self.changes.push((after, title.into()));
        self
    }
}

/// A station as it is now: its setup and its current title, with a count
/// of [`FakeStreams::set_title`] calls so each connection sees a new one.
struct StationNow {
    station: Station,
    title: String,
    title_version: u64,
}

#[derive(Default)]
struct Inner {
    stations: HashMap<String, StationNow>,
    bodies: HashMap<String, (String, Bytes)>,
    redirects: HashMap<String, String>,
    sent: HashMap<String, u64>,
    open: HashMap<String, usize>,
    icy_requests: Vec<String>,
}

#[derive(Clone, Default)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    seen: SeenLog,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake streams state")
    }
}

/// The fake stream server. Stops when dropped.
pub struct FakeStreams {
    served: Served,
    shared: Shared,
}

impl FakeStreams {
    /// Starts the server on a free loopback port, with no station and no
    /// hosted body.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(super::LOOPBACK).await
    }

    /// [`FakeStreams::start`] on `ip`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: std::net::IpAddr) -> anyhow::Result<Self> {
        let shared = Shared::default();
        let router = Router::new()
            .route("/radio/{name}", get(radio))
            .route("/redirect/{name}", get(redirect))
            .route("/endless", get(endless))
            .fallback(hosted)
            .with_state(shared.clone());
        let served = Served::start_on(ip, "streams", router).await?;
        Ok(Self { served, shared })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The URL of station `name`: `<base>/radio/<name>`.
    pub fn station_url(&self, name: &str) -> String {
        self.url(&format!("/radio/{name}"))
    }

    /// Adds (or replaces) station `name`, served at `/radio/<name>`.
    pub fn add_station(&self, name: &str, station: Station) {
        let now = StationNow { title: station.title.clone(), station, title_version: 0 };
        self.shared.lock().stations.insert(name.to_owned(), now);
    }

    /// Sets the title station `name` sends from its next metadata block on,
    /// on every connection (overriding the scheduled changes until the next
    /// one is due).
    ///
    /// # Panics
    /// When there is no such station: a mistake in the test.
    pub fn set_title(&self, name: &str, title: impl Into<String>) {
        let mut inner = self.shared.lock();
        let now = inner.stations.get_mut(name).unwrap_or_else(|| panic!("no fake station {name:?}"));
        now.title = title.into();
        now.title_version += 1;
    }

    /// Serves `body` with `content_type` at `path` (which starts with `/`;
    /// the query is ignored), for GET and HEAD.
    pub fn serve(&self, path: &str, content_type: &str, body: impl Into<Bytes>) {
        self.shared.lock().bodies.insert(path.to_owned(), (content_type.to_owned(), body.into()));
    }

    /// Serves an HLS media playlist at `path`: `segments` are `(uri, secs)`
    /// (relative URIs resolve against `path`), numbered from
    /// `media_sequence`, with `#EXT-X-ENDLIST` when `ended`. Serve it again
    /// to make a live playlist grow.
    pub fn serve_hls_media(&self, path: &str, segments: &[(&str, f64)], media_sequence: u64, ended: bool) {
        let target = segments.iter().map(|(_, secs)| secs.ceil() as u64).max().unwrap_or(1).max(1);
        let mut body = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{media_sequence}\n"
        );
        for (uri, secs) in segments {
            body.push_str(&format!("#EXTINF:{secs:.3},\n{uri}\n"));
        }
        if ended {
            body.push_str("#EXT-X-ENDLIST\n");
        }
        self.serve(path, "application/vnd.apple.mpegurl", body);
    }

    /// Serves an on-demand HLS stream of WAV pieces under `prefix` (see
    /// [`crate::audio::wav_hls_segments`]): one segment per `(hz, secs)`
    /// step at `<prefix>/seg<n>.wav`, the media playlist at
    /// `<prefix>/media.m3u8` and a master playlist naming it (one audio
    /// variant and one video variant) at `<prefix>/master.m3u8`.
    ///
    /// # Errors
    /// When a step is not a valid tone.
    pub fn serve_wav_hls(&self, prefix: &str, steps: &[(f64, f64)]) -> anyhow::Result<()> {
        let pieces = crate::audio::wav_hls_segments(steps)?;
        let names: Vec<String> = (0..pieces.len()).map(|n| format!("seg{n}.wav")).collect();
        for (name, piece) in names.iter().zip(pieces) {
            self.serve(&format!("{prefix}/{name}"), "audio/wav", piece);
        }
        let listed: Vec<(&str, f64)> = names.iter().map(String::as_str).zip(steps.iter().map(|s| s.1)).collect();
        self.serve_hls_media(&format!("{prefix}/media.m3u8"), &listed, 0, true);
        let master = "#EXTM3U\n\
                      #EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\"\n\
                      video.m3u8\n\
                      #EXT-X-STREAM-INF:BANDWIDTH=1536000,CODECS=\"mp4a.40.2\"\n\
                      media.m3u8\n";
        self.serve(&format!("{prefix}/master.m3u8"), "application/vnd.apple.mpegurl", master);
        Ok(())
    }

    /// Answers `path` with a 302 to `location` (anywhere, an internal
    /// address too: for testing that the client refuses the hop).
    pub fn serve_redirect(&self, path: &str, location: &str) {
        self.shared.lock().redirects.insert(path.to_owned(), location.to_owned());
    }

    /// The requests received so far.
    pub fn seen(&self) -> &SeenLog {
        &self.shared.seen
    }

    /// The paths of the requests that asked for ICY metadata
    /// (`Icy-MetaData: 1`), oldest first.
    pub fn icy_requests(&self) -> Vec<String> {
        self.shared.lock().icy_requests.clone()
    }

    /// Bytes sent so far on all connections to station `name` (header,
    /// audio and metadata), or to `/endless` for [`ENDLESS`].
    pub fn bytes_sent(&self, name: &str) -> u64 {
        self.shared.lock().sent.get(name).copied().unwrap_or(0)
    }

    /// Connections to station `name` (or [`ENDLESS`]) still being sent to.
    pub fn open_connections(&self, name: &str) -> usize {
        self.shared.lock().open.get(name).copied().unwrap_or(0)
    }
}

impl std::fmt::Debug for FakeStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeStreams").field("addr", &self.served.addr()).finish_non_exhaustive()
    }
}

/// Counts a connection as open while it lives, and its bytes as sent.
struct Connection {
    shared: Shared,
    name: String,
}

impl Connection {
    fn open(shared: &Shared, name: &str) -> Self {
        *shared.lock().open.entry(name.to_owned()).or_default() += 1;
        Self { shared: shared.clone(), name: name.to_owned() }
    }

    fn sent(&self, bytes: usize) {
        *self.shared.lock().sent.entry(self.name.clone()).or_default() += bytes as u64;
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Hyper drops the body when the client goes: this is how the fake
        // stops sending.
        if let Some(open) = self.shared.lock().open.get_mut(&self.name) {
            *open = open.saturating_sub(1);
        }
    }
}

async fn radio(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    shared.seen.push(&method, &uri, &headers);
    let wants_icy = headers.get("icy-metadata").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "1");
    let (station, title_version) = {
        let mut inner = shared.lock();
        if wants_icy {
            inner.icy_requests.push(uri.path().to_owned());
        }
        match inner.stations.get(&name) {
            Some(now) => (Station { title: now.title.clone(), ..now.station.clone() }, now.title_version),
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    };

    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
    if let Ok(icy_name) = HeaderValue::from_str(&station.icy_name) {
        response_headers.insert("icy-name", icy_name);
    }
    if wants_icy {
        response_headers.insert("icy-metaint", HeaderValue::from(ICY_METAINT));
    }

    let stream = StationStream {
        connection: Connection::open(&shared, &name),
        shared: shared.clone(),
        name,
        tone_step: 2.0 * PI * station.hz / f64::from(SAMPLE_RATE),
        speed_percent: station.speed_percent,
        frames_sent: 0,
        started: None,
        header_sent: false,
        icy: wants_icy.then(|| Icy {
            until_block: ICY_METAINT,
            wav_bytes: 0,
            title: station.title.clone(),
            title_version,
            next_change: 0,
            changes: station.changes.clone(),
            last_sent: None,
        }),
    };
    let body = futures_util::stream::unfold(stream, |mut stream| async move {
        let chunk = stream.next_chunk().await;
        Some((Ok::<Bytes, Infallible>(chunk), stream))
    });
    (response_headers, Body::from_stream(body)).into_response()
}

async fn redirect(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    shared.seen.push(&method, &uri, &headers);
    let location = format!("/radio/{name}");
    match HeaderValue::from_str(&location) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn endless(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    shared.seen.push(&method, &uri, &headers);
    let connection = Connection::open(&shared, ENDLESS);
    // Not all zeros, so a decoder or a compressor gets nothing for free.
    let chunk = Bytes::from((0..16 * 1024).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>());
    let body = futures_util::stream::unfold(connection, move |connection| {
        let chunk = chunk.clone();
        async move {
            connection.sent(chunk.len());
            Some((Ok::<Bytes, Infallible>(chunk), connection))
        }
    });
    ([(header::CONTENT_TYPE, "application/octet-stream")], Body::from_stream(body)).into_response()
}

async fn hosted(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    shared.seen.push(&method, &uri, &headers);
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let redirect = shared.lock().redirects.get(uri.path()).cloned();
    if let Some(location) = redirect {
        return match HeaderValue::from_str(&location) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        };
    }
    let found = shared.lock().bodies.get(uri.path()).cloned();
    match found {
        Some((content_type, body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The ICY side of one connection: where the next block goes and which
/// title it carries.
struct Icy {
    until_block: usize,
    /// WAV bytes (header and PCM) sent so far, to time title changes to
    /// the block's place in the audio rather than to the chunk's end.
    wav_bytes: u64,
    title: String,
    title_version: u64,
    next_change: usize,
    changes: Vec<(Duration, String)>,
    last_sent: Option<String>,
}

/// One listener's stream: the tone, paced, with ICY blocks when asked.
struct StationStream {
    connection: Connection,
    shared: Shared,
    name: String,
    tone_step: f64,
    /// Audio sent per 100 units of real time after the burst.
    speed_percent: u64,
    frames_sent: u64,
    /// When the first audio went out; pacing counts from there.
    started: Option<Instant>,
    header_sent: bool,
    icy: Option<Icy>,
}

impl StationStream {
    /// The next piece of the stream: the header and the burst at first,
    /// then one step of audio each time real time has caught up.
    async fn next_chunk(&mut self) -> Bytes {
        let rate = u64::from(SAMPLE_RATE);
        let burst_frames = frames_in(BURST);
        let mut raw = Vec::new();
        let frames = match self.started {
            None => {
                self.started = Some(Instant::now());
                burst_frames
            }
            Some(started) => {
                let step = frames_in(STEP);
                // Due when the audio sent beyond the burst, plus one step,
                // has played in real time (scaled by the speed).
                let due_frames = (self.frames_sent + step).saturating_sub(burst_frames);
                let due = started + Duration::from_micros(due_frames * 100_000_000 / (rate * self.speed_percent));
                tokio::time::sleep_until(due).await;
                let elapsed = frames_in(started.elapsed()) * self.speed_percent / 100;
                // Catch up after a stall, but never more than a burst at once.
                (burst_frames + elapsed).saturating_sub(self.frames_sent).clamp(step, burst_frames)
            }
        };
        if !self.header_sent {
            self.header_sent = true;
            raw.extend_from_slice(&wav_header());
        }
        for n in self.frames_sent..self.frames_sent + frames {
            let value = AMPLITUDE * (self.tone_step * n as f64).sin();
            let sample = ((value * f64::from(i16::MAX)).round() as i16).to_le_bytes();
            raw.extend_from_slice(&sample);
            raw.extend_from_slice(&sample);
        }
        self.frames_sent += frames;

        let out = match self.icy.take() {
            Some(mut icy) => {
                let out = self.interleave(&mut icy, &raw);
                self.icy = Some(icy);
                out
            }
            None => raw,
        };
        self.connection.sent(out.len());
        Bytes::from(out)
    }

    /// `raw` with a metadata block after every [`ICY_METAINT`] bytes.
    fn interleave(&self, icy: &mut Icy, mut raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(raw.len() + 64);
        while !raw.is_empty() {
            let take = icy.until_block.min(raw.len());
            out.extend_from_slice(&raw[..take]);
            raw = &raw[take..];
            icy.until_block -= take;
            icy.wav_bytes += take as u64;
            if icy.until_block == 0 {
                out.extend_from_slice(&self.metadata_block(icy));
                icy.until_block = ICY_METAINT;
            }
        }
        out
    }

    /// The next metadata block: the current title when it changed since
    /// the last block, else an empty block.
    fn metadata_block(&self, icy: &mut Icy) -> Vec<u8> {
        if let Some(now) = self.shared.lock().stations.get(&self.name)
            && now.title_version != icy.title_version
        {
            icy.title_version = now.title_version;
            icy.title = now.title.clone();
        }
        let frames = icy.wav_bytes.saturating_sub(44) / 4;
        let played = Duration::from_micros(frames * 1_000_000 / u64::from(SAMPLE_RATE));
        while let Some((after, title)) = icy.changes.get(icy.next_change)
            && played >= *after
        {
            icy.title = title.clone();
            icy.next_change += 1;
        }
        if icy.last_sent.as_deref() == Some(icy.title.as_str()) {
            return vec![0];
        }
        icy.last_sent = Some(icy.title.clone());
        let mut title = icy.title.as_bytes();
        if title.len() > MAX_TITLE_BYTES {
            title = &title[..MAX_TITLE_BYTES];
        }
        let mut text = b"StreamTitle='".to_vec();
        text.extend_from_slice(title);
        text.extend_from_slice(b"';");
        let blocks = text.len().div_ceil(16);
        let mut block = vec![u8::try_from(blocks).unwrap_or(u8::MAX)];
        block.extend_from_slice(&text);
        block.resize(1 + blocks * 16, 0);
        block
    }
}

fn frames_in(duration: Duration) -> u64 {
    (duration.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as u64
}

fn wav_header() -> [u8; 44] {
    crate::audio::streaming_wav_header()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wav_header_is_the_canonical_one_with_endless_sizes() {
        let header = wav_header();
        assert_eq!(&header[..4], b"RIFF");
        assert_eq!(&header[4..8], &[0xFF; 4]);
        assert_eq!(&header[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes(header[24..28].try_into().unwrap()), 48_000);
        assert_eq!(u32::from_le_bytes(header[28..32].try_into().unwrap()), 192_000);
        assert_eq!(&header[36..40], b"data");
        assert_eq!(&header[40..44], &[0xFF; 4]);
    }
}
