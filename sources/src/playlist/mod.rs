//! Playlist files a link or a station can point at: M3U, PLS, XSPF and HLS.
//!
//! Sans-IO: the caller fetches the body (through the outbound client, which
//! bounds its size) and hands it here with the URL it came from, so relative
//! entries resolve against it. Everything here is hostile input: counts,
//! line lengths and nesting are capped, text is decoded lossily, and no
//! error repeats the body.
//!
//! - [`detect`] tells which format a response is, from its content type,
//!   its path and its first bytes.
//! - [`parse`] reads an M3U, PLS or XSPF list of tracks into a [`Playlist`].
//! - [`parse_hls`] reads an HLS playlist (a master list of variants or a
//!   media list of segments) into an [`HlsPlaylist`].
//!
//! Only http(s) entries are kept: the player can open nothing else, and a
//! `file://` entry must never reach the media folder code. Where they point
//! is not checked here: a playlist may name internal addresses, and the
//! outbound client refuses those when the entry is fetched.

mod hls;
mod m3u;
mod pls;
mod xspf;

use url::Url;

pub use hls::{
    HlsMedia, HlsPlaylist, HlsSegment, HlsVariant, MAX_HLS_SEGMENTS, MAX_HLS_VARIANTS, choose_variant, parse_hls,
};

/// Most entries a [`Playlist`] keeps; the rest are dropped and
/// [`Playlist::truncated`] is set.
pub const MAX_PLAYLIST_ENTRIES: usize = 1000;

/// Largest body [`parse`] and [`parse_hls`] read. The outbound client reads
/// 1 MiB by default; this only guards callers that raised that limit.
pub const MAX_PLAYLIST_BYTES: usize = 4 * 1024 * 1024;

/// Longest line (or XML text) read, in bytes. Longer ones are ignored: no
/// real link is that long, and a cap keeps one line from holding the rest
/// of the body.
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// How many bytes of the body [`detect`] looks at.
const SNIFF_BYTES: usize = 64 * 1024;

/// The playlist formats understood here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaylistFormat {
    /// A list of links, one a line, optionally with `#EXTINF` titles
    /// (`.m3u`, `.m3u8` without HLS tags).
    M3u,
    /// The Winamp/Shoutcast INI list: `[playlist]`, `File1=`, `Title1=`.
    Pls,
    /// XML Shareable Playlist Format.
    Xspf,
    /// HTTP Live Streaming: an M3U8 with `#EXT-X-` tags; read it with
    /// [`parse_hls`].
    Hls,
}

/// One track of a [`Playlist`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistEntry {
    /// Where the track (or stream) is: always http or https, absolute.
    pub location: Url,
    /// Its title as the playlist gives it, cleaned (no control characters,
    /// at most [`crate::MAX_TITLE_CHARS`]); untrusted, escape before showing.
    pub title: Option<String>,
    /// Its length, when the playlist says; `None` for live streams (`-1`)
    /// and when unknown.
    pub duration_ms: Option<u64>,
}

/// An M3U, PLS or XSPF playlist, as [`parse`] read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Playlist {
    /// The playlist's own title, when it has one.
    pub title: Option<String>,
    /// The playable entries, in playlist order, at most
    /// [`MAX_PLAYLIST_ENTRIES`].
    pub entries: Vec<PlaylistEntry>,
    /// Entries dropped because they were not http(s) links (local files,
    /// other schemes, unparseable) or too long to read.
    pub skipped: usize,
    /// Whether entries were left unread because the playlist had more than
    /// [`MAX_PLAYLIST_ENTRIES`] (they are not counted in `skipped` either).
    pub truncated: bool,
}

/// A playlist could not be read. The messages never repeat the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaylistError {
    /// The body is not a playlist of the format asked for.
    #[error("not a {0} playlist")]
    NotAPlaylist(&'static str),
    /// The playlist lists nothing.
    #[error("the playlist is empty")]
    Empty,
    /// Every entry was something other than an http(s) link (local files,
    /// other schemes), so nothing can be played.
    #[error("none of the playlist's {skipped} entries is an http(s) link")]
    NothingPlayable {
        /// How many entries were dropped.
        skipped: usize,
    },
    /// The body is larger than [`MAX_PLAYLIST_BYTES`].
    #[error("the playlist is larger than {limit} bytes")]
    TooLarge {
        /// The limit it exceeded.
        limit: usize,
    },
    /// The HLS stream is encrypted (`EXT-X-KEY` other than `NONE`), which
    /// the player cannot decrypt.
    #[error("the stream is encrypted")]
    Encrypted,
}

impl PlaylistError {
    /// The sentence shown to the member.
    pub fn user_message(&self) -> String {
        match self {
            Self::NotAPlaylist(_) => "That link is not a playlist this bot can read.".to_owned(),
            Self::Empty => "That playlist is empty.".to_owned(),
            Self::NothingPlayable { .. } => {
                "That playlist only lists local files or links this bot cannot open.".to_owned()
            }
            Self::TooLarge { .. } => "That playlist is too large.".to_owned(),
            Self::Encrypted => "That stream is encrypted, so this bot cannot play it.".to_owned(),
        }
    }
}

impl PlaylistFormat {
    /// The format's name, for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::M3u => "M3U",
            Self::Pls => "PLS",
            Self::Xspf => "XSPF",
            Self::Hls => "HLS",
        }
    }
}

/// Which playlist format a response is, or `None` when it is not one
/// (audio, a web page, anything else).
///
/// Looks, in this order, at:
/// 1. the first bytes of the body (`body_start`, as much of it as the
///    caller has; up to 64 KiB are read): `#EXTM3U`, `[playlist]` or an
///    XSPF `<playlist>` are certain whatever the server claims;
/// 2. the `Content-Type` (parameters and case ignored);
/// 3. the extension of `url_path` (`.m3u`, `.m3u8`, `.pls`, `.xspf`),
///    unless the content type named audio or video: a stream server's type
///    wins over a misleading link.
///
/// An M3U list is [`PlaylistFormat::Hls`] when its tags say so
/// (`#EXT-X-TARGETDURATION`, `#EXT-X-STREAM-INF`, or `#EXTINF` with other
/// `#EXT-X-` tags); `application/vnd.apple.mpegurl` with no body to look at
/// counts as HLS too.
pub fn detect(content_type: Option<&str>, url_path: &str, body_start: &[u8]) -> Option<PlaylistFormat> {
    let sniff = &body_start[..body_start.len().min(SNIFF_BYTES)];
    let text = crate::text::decode_lossy(sniff);
    let head = text.trim_start();
    if starts_with_ignore_case(head, "#EXTM3U") {
        return Some(m3u_or_hls(&text, PlaylistFormat::M3u));
    }
    if starts_with_ignore_case(head, "[playlist]") {
        return Some(PlaylistFormat::Pls);
    }
    if head.starts_with('<') && looks_like_xspf(head) {
        return Some(PlaylistFormat::Xspf);
    }

    let media_type = content_type.map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match media_type.as_deref() {
        Some("application/vnd.apple.mpegurl" | "application/vnd.apple.mpegurl.audio") => {
            let fallback = PlaylistFormat::Hls;
            return Some(if head.is_empty() { fallback } else { m3u_or_hls(&text, PlaylistFormat::M3u) });
        }
        Some("audio/x-mpegurl" | "audio/mpegurl" | "application/x-mpegurl" | "application/mpegurl") => {
            return Some(m3u_or_hls(&text, PlaylistFormat::M3u));
        }
        Some("audio/x-scpls" | "audio/scpls" | "application/pls+xml" | "application/pls") => {
            return Some(PlaylistFormat::Pls);
        }
        Some("application/xspf+xml") => return Some(PlaylistFormat::Xspf),
        Some(t) if t.starts_with("audio/") || t.starts_with("video/") || t == "application/ogg" => return None,
        _ => {}
    }

    let file_name = url_path.rsplit('/').next().unwrap_or("");
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("m3u" | "m3u8") => Some(m3u_or_hls(&text, PlaylistFormat::M3u)),
        Some("pls") => Some(PlaylistFormat::Pls),
        Some("xspf") => Some(PlaylistFormat::Xspf),
        _ => None,
    }
}

/// Reads an M3U, PLS or XSPF `body` fetched from `base`.
///
/// # Errors
/// [`PlaylistError::TooLarge`] over [`MAX_PLAYLIST_BYTES`];
/// [`PlaylistError::NotAPlaylist`] when the body is not of that format (or
/// `format` is [`PlaylistFormat::Hls`]: use [`parse_hls`]);
/// [`PlaylistError::Empty`] when it lists nothing;
/// [`PlaylistError::NothingPlayable`] when it lists only non-http(s) entries.
pub fn parse(format: PlaylistFormat, body: &[u8], base: &Url) -> Result<Playlist, PlaylistError> {
    if body.len() > MAX_PLAYLIST_BYTES {
        return Err(PlaylistError::TooLarge { limit: MAX_PLAYLIST_BYTES });
    }
    let playlist = match format {
        PlaylistFormat::M3u => m3u::parse(body, base)?,
        PlaylistFormat::Pls => pls::parse(body, base)?,
        PlaylistFormat::Xspf => xspf::parse(body, base)?,
        PlaylistFormat::Hls => return Err(PlaylistError::NotAPlaylist("M3U")),
    };
    if playlist.entries.is_empty() {
        return Err(match playlist.skipped {
            0 => PlaylistError::Empty,
            skipped => PlaylistError::NothingPlayable { skipped },
        });
    }
    Ok(playlist)
}

/// Whether an M3U text (at least its start) carries HLS tags.
fn m3u_or_hls(text: &str, otherwise: PlaylistFormat) -> PlaylistFormat {
    let mut extinf = false;
    let mut ext_x = false;
    for line in text.lines().map(str::trim) {
        let tag = line.get(..line.len().min(24)).unwrap_or(line).to_ascii_uppercase();
        if tag.starts_with("#EXT-X-TARGETDURATION") || tag.starts_with("#EXT-X-STREAM-INF") {
            return PlaylistFormat::Hls;
        }
        extinf |= tag.starts_with("#EXTINF");
        ext_x |= tag.starts_with("#EXT-X-");
        if extinf && ext_x {
            return PlaylistFormat::Hls;
        }
    }
    otherwise
}

fn looks_like_xspf(head: &str) -> bool {
    // The root element comes after an optional declaration and comments, so
    // look for the namespace near a `<playlist` anywhere in the sniffed part.
    head.contains("<playlist") && head.contains("xspf.org/ns/0")
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Gathers the entries of a playlist, enforcing the cap and the scheme rule
/// in one place for every format.
struct Collector<'a> {
    base: &'a Url,
    playlist: Playlist,
}

/// Whether a parser should read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Full,
}

impl<'a> Collector<'a> {
    fn new(base: &'a Url) -> Self {
        Self { base, playlist: Playlist::default() }
    }

    /// Adds the entry at `location` (relative to the base), or counts it as
    /// skipped when it is not an http(s) link. Once the cap is reached, any
    /// further entry sets `truncated` and the parser should stop.
    fn push(&mut self, location: &str, title: Option<String>, duration_ms: Option<u64>) -> Flow {
        if self.playlist.entries.len() >= MAX_PLAYLIST_ENTRIES {
            self.playlist.truncated = true;
            return Flow::Full;
        }
        match resolve_http(self.base, location) {
            Some(location) => self.playlist.entries.push(PlaylistEntry { location, title, duration_ms }),
            None => self.playlist.skipped += 1,
        }
        Flow::Continue
    }

    fn skip(&mut self) {
        self.playlist.skipped += 1;
    }

    fn set_title(&mut self, raw: &str) {
        if self.playlist.title.is_none() {
            self.playlist.title = crate::text::clean_title(raw);
        }
    }

    fn finish(self) -> Playlist {
        self.playlist
    }
}

/// `location` resolved against `base`, when the result is an http(s) URL
/// with a host. Windows paths (`C:\a.mp3`) parse as scheme `c` and are
/// refused like any other scheme.
fn resolve_http(base: &Url, location: &str) -> Option<Url> {
    let location = location.trim();
    if location.is_empty() || location.len() > MAX_LINE_BYTES {
        return None;
    }
    let url = base.join(location).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host().is_some()).then_some(url)
}

/// A duration in (possibly fractional) seconds as milliseconds; `None` for
/// `-1` (live), zero, and anything that is not a finite positive number.
fn seconds_to_ms(text: &str) -> Option<u64> {
    let secs: f64 = text.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| (secs * 1000.0).round() as u64)
}

/// The lines of a decoded body: CR, LF or CRLF ends, whitespace trimmed,
/// empty lines dropped. Callers ignore lines over [`MAX_LINE_BYTES`].
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '\r']).map(str::trim).filter(|line| !line.is_empty())
}

#[cfg(test)]
mod tests;
