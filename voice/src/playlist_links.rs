//! Opening an http(s) link with one GET: audio plays from that response,
//! a playlist (M3U, PLS, XSPF) becomes tracks, an HLS stream plays its
//! segments (see [`crate::hls`]).
//!
//! What the answer is gets decided on its headers before the body is read:
//! an audio (or ICY) answer is handed to the decoder as it is, so a radio
//! is never read as a playlist. Only an answer whose type and path say
//! nothing (`application/octet-stream`, `text/plain`, none) has its first
//! few kilobytes looked at, and those bytes then go to the decoder first.
//! A playlist's body is read up to the metadata limit
//! (`OutboundPolicy::max_body_bytes`), like any metadata.
//!
//! Every entry is checked with [`SafeHttpClient::check_url`] when the
//! playlist is read (an IP literal of an internal network is left out and
//! counted), and again by the client's resolver and redirect policy when
//! it is opened. Expanding never recurses: an entry that is itself a
//! playlist is opened when its turn comes, playing its first entry.

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use songbird::input::Input;
use timmybot_outbound::{FetchError, Refusal, SafeHttpClient};
use timmybot_sources::playlist::{self, MAX_PLAYLIST_BYTES, Playlist, PlaylistEntry, PlaylistError, PlaylistFormat};
use timmybot_sources::{Origin, TrackMeta};
use tokio::sync::mpsc;
use url::Url;

use crate::SourceError;
use crate::http_source::{LimitedHttp, is_live};
use crate::source::{Expand, Length, LinkOpener, ResolveNotes, ResolvedSource};

/// How many bytes of an answer of unknown type are looked at to tell a
/// playlist from audio. Enough for `#EXTM3U`, `[playlist]` and an XSPF
/// root element with its namespace.
const SNIFF_BYTES: usize = 4 * 1024;

/// Playlists opened inside one another before giving up: a station's PLS
/// may name an M3U, which names the stream.
const MAX_NESTING: usize = 2;

/// Entries tried in turn when the first ones do not open (a station's
/// mirrors, a dead link at the top of a list).
const MAX_TRIES: usize = 3;

/// What the GET answered.
enum Answer {
    /// Audio: played from this response, `prefix` (the bytes already read
    /// from it) first.
    Audio { response: reqwest::Response, prefix: Bytes },
    /// A playlist of `format`, read whole; entries resolve against `base`
    /// (the URL after redirects).
    Playlist { format: PlaylistFormat, body: Bytes, base: Url },
}

/// Opens `url` (see the module documentation); a playlist is expanded as
/// `expand` says.
pub(crate) async fn open(
    links: &LinkOpener,
    url: &Url,
    fallback_title: String,
    known_title: Option<String>,
    expand: Expand,
) -> Result<ResolvedSource, SourceError> {
    open_at(links, url, fallback_title, known_title, expand, 0).await
}

/// [`open`] for a link found `depth` playlists deep.
async fn open_at(
    links: &LinkOpener,
    url: &Url,
    fallback_title: String,
    known_title: Option<String>,
    expand: Expand,
    depth: usize,
) -> Result<ResolvedSource, SourceError> {
    let http = links.http();
    // reqwest resolves no IP-literal host, so the first hop is checked
    // here; named hosts and redirects are checked inside the client.
    http.check_url(url)?;
    let (titles_tx, titles) = mpsc::unbounded_channel();
    let policy = http.policy();
    let source = LimitedHttp::new(http.reqwest(), url.clone(), policy.max_track_bytes)
        .with_stream_titles(titles_tx, policy.max_live_bytes);
    match first_get(http, &source).await? {
        Answer::Audio { response, prefix } => {
            let length = if is_live(response.headers()) { Length::Known(None) } else { Length::FromContainer };
            let input = Input::Lazy(Box::new(source.with_response(response, prefix)));
            let mut opened = links.probe(input, fallback_title, url.to_string(), known_title, length).await?;
            opened.stream_titles = Some(titles);
            Ok(opened)
        }
        Answer::Playlist { format: PlaylistFormat::Hls, body, base } => {
            crate::hls::open(links, &body, &base, fallback_title, known_title, url.to_string()).await
        }
        Answer::Playlist { .. } if depth >= MAX_NESTING => Err(PlaylistError::NotAPlaylist("nested").into()),
        Answer::Playlist { format, body, base } => {
            let playlist = playlist::parse(format, &body, &base)?;
            // Only the first level becomes a queue; deeper ones play one entry.
            let expand = if depth == 0 { expand } else { Expand::One };
            Box::pin(open_playlist(links, playlist, known_title, expand, depth)).await
        }
    }
}

/// Sends the GET and tells audio from a playlist (see the module
/// documentation), reading a playlist's body under the metadata limit.
async fn first_get(http: &SafeHttpClient, source: &LimitedHttp) -> Result<Answer, SourceError> {
    let mut response = source.request(0).send().await.map_err(send_error)?;
    if response.status().as_u16() == 451 {
        // "Unavailable For Legal Reasons": blocked where the bot runs.
        return Err(SourceError::Lookup(timmybot_sources::LookupError::RegionBlocked));
    }
    if !response.status().is_success() {
        let status = response.status();
        return Err(SourceError::Unplayable(format!("http status {status}").into()));
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let base = response.url().clone();
    let by_headers = playlist::detect(content_type.as_deref(), base.path(), &[]);
    // An ICY answer is a radio whatever its path says.
    if is_live(response.headers()) || (by_headers.is_none() && names_audio(content_type.as_deref())) {
        return Ok(Answer::Audio { response, prefix: Bytes::new() });
    }
    let limit = usize::try_from(http.policy().max_body_bytes).unwrap_or(usize::MAX).min(MAX_PLAYLIST_BYTES);
    let announced = response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if by_headers.is_some() && announced.is_some_and(|len| len > limit as u64) {
        return Err(PlaylistError::TooLarge { limit }.into());
    }
    let mut body = BytesMut::new();
    let format = match by_headers {
        Some(format) => format,
        None => {
            // Type and path say nothing: the first bytes decide.
            read_into(&mut response, &mut body, SNIFF_BYTES, usize::MAX).await?;
            match playlist::detect(content_type.as_deref(), base.path(), &body) {
                Some(format) => format,
                None => return Ok(Answer::Audio { response, prefix: body.freeze() }),
            }
        }
    };
    read_into(&mut response, &mut body, usize::MAX, limit).await?;
    // The body may tell an M3U from HLS better than the headers did.
    let format = playlist::detect(content_type.as_deref(), base.path(), &body).unwrap_or(format);
    Ok(Answer::Playlist { format, body: body.freeze(), base })
}

/// Reads `response` into `body` until it holds at least `enough` bytes or
/// the body ends; more than `limit` bytes is a playlist too large.
async fn read_into(
    response: &mut reqwest::Response,
    body: &mut BytesMut,
    enough: usize,
    limit: usize,
) -> Result<(), SourceError> {
    while body.len() < enough {
        let Some(chunk) = response.chunk().await.map_err(send_error)? else { break };
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(PlaylistError::TooLarge { limit }.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(())
}

/// Whether a content type names audio or video (not a playlist type).
fn names_audio(content_type: Option<&str>) -> bool {
    let Some(media_type) = content_type.and_then(|ct| ct.split(';').next()) else { return false };
    let media_type = media_type.trim().to_ascii_lowercase();
    media_type.starts_with("audio/") || media_type.starts_with("video/") || media_type == "application/ogg"
}

/// A failed request: the policy's refusal when that was the cause.
pub(crate) fn send_error(error: reqwest::Error) -> SourceError {
    match Refusal::find_in(&error) {
        Some(refusal) => SourceError::Refused(refusal.clone()),
        None => SourceError::Unplayable(Box::new(error)),
    }
}

/// A failed metadata fetch (an HLS playlist).
pub(crate) fn fetch_error(error: FetchError) -> SourceError {
    match error {
        FetchError::Refused(refusal) => SourceError::Refused(refusal),
        FetchError::TooLarge { limit } => {
            PlaylistError::TooLarge { limit: usize::try_from(limit).unwrap_or(usize::MAX) }.into()
        }
        other => SourceError::Unplayable(Box::new(other)),
    }
}

/// Checks every entry, opens the first that opens (trying a few), and
/// queues the rest when `expand` says so.
async fn open_playlist(
    links: &LinkOpener,
    playlist: Playlist,
    known_title: Option<String>,
    expand: Expand,
    depth: usize,
) -> Result<ResolvedSource, SourceError> {
    let Playlist { title, entries, skipped, truncated } = playlist;
    let total = entries.len() + skipped;
    let (allowed, refused): (Vec<PlaylistEntry>, Vec<PlaylistEntry>) =
        entries.into_iter().partition(|entry| links.http().check_url(&entry.location).is_ok());
    let mut skipped = skipped + refused.len();
    if allowed.is_empty() {
        return Err(SourceError::NothingPlayable { skipped: total });
    }
    let mut entries = allowed.into_iter();
    let mut first_error = None;
    let mut opened = None;
    for entry in entries.by_ref().take(MAX_TRIES) {
        // A station keeps its own name; a list's entry has its own.
        let known = match expand {
            Expand::One => known_title.clone().or_else(|| entry.title.clone()),
            Expand::Queue => entry.title.clone(),
        };
        let fallback = file_name(&entry.location);
        match Box::pin(open_at(links, &entry.location, fallback, known, Expand::One, depth + 1)).await {
            Ok(mut found) => {
                if found.duration.is_none() && found.stream_titles.is_none() {
                    found.duration = entry.duration_ms.map(std::time::Duration::from_millis);
                }
                opened = Some(found);
                break;
            }
            Err(e) => {
                tracing::debug!(error = %e, "a playlist entry did not open; trying the next");
                skipped += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(mut opened) = opened else {
        return Err(first_error.unwrap_or(SourceError::NothingPlayable { skipped: total }));
    };
    if expand == Expand::Queue {
        opened.more = entries.map(|entry| entry_meta(&entry)).collect();
        opened.notes = ResolveNotes { collection: title, unmatched: Vec::new(), skipped, truncated };
    }
    Ok(opened)
}

/// A queued entry: opened by its link when it plays.
fn entry_meta(entry: &PlaylistEntry) -> TrackMeta {
    let link = entry.location.to_string();
    let title = entry.title.clone().unwrap_or_else(|| crate::source::link_title(&entry.location));
    let mut meta = TrackMeta::new(Origin::Link, link.clone(), title);
    meta.duration_ms = entry.duration_ms;
    meta.locator = Some(link);
    meta
}

/// The last part of a link's path (percent-decoded), else its host: a
/// title for an entry the playlist gives none.
pub(crate) fn file_name(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|name| !name.is_empty())
        .map(percent_decode)
        .unwrap_or_else(|| url.host_str().unwrap_or("stream").to_owned())
}

/// `%xx` escapes decoded (lossily: a broken escape stays as it is).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes.get(at + 1..at + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[at], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_titles_fall_back_to_the_decoded_file_name_then_the_host() {
        assert_eq!(file_name(&Url::parse("http://a.example/music/My%20Song.mp3").unwrap()), "My Song.mp3");
        assert_eq!(file_name(&Url::parse("http://a.example/").unwrap()), "a.example");
        assert_eq!(file_name(&Url::parse("http://a.example/bad%zz%4").unwrap()), "bad%zz%4");
    }

    #[test]
    fn only_audio_and_video_types_skip_the_sniffing() {
        assert!(names_audio(Some("audio/mpeg")));
        assert!(names_audio(Some("Video/MP4; codecs=x")));
        assert!(names_audio(Some("application/ogg")));
        assert!(!names_audio(Some("application/octet-stream")));
        assert!(!names_audio(Some("text/plain")));
        assert!(!names_audio(None));
    }
}
