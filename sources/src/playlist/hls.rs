//! HLS (RFC 8216): a master playlist lists variants of one stream, a media
//! playlist lists the segments to fetch in turn.
//!
//! Only what an audio player needs is read: the variants and their
//! bandwidth and codecs, audio renditions, segment durations and titles,
//! the media sequence (to tell new segments of a live playlist from ones
//! already played), the end marker, and whether segments are encrypted.

use url::Url;

use super::{MAX_LINE_BYTES, MAX_PLAYLIST_BYTES, PlaylistError, lines, resolve_http, seconds_to_ms};
use crate::text::{clean_title, decode_lossy};

/// Most segments an [`HlsMedia`] keeps; later ones are dropped and
/// [`HlsMedia::truncated`] is set. Ten thousand segments of six seconds
/// are over sixteen hours.
pub const MAX_HLS_SEGMENTS: usize = 10_000;

/// Most variants (and audio renditions) a master playlist yields.
pub const MAX_HLS_VARIANTS: usize = 256;

/// Attributes read from one tag; real tags have about ten.
const MAX_ATTRIBUTES: usize = 64;

/// Lowest bandwidth [`choose_variant`] prefers, in bits per second: below
/// it music sounds poor.
const MIN_GOOD_BANDWIDTH: u64 = 64_000;

/// An HLS playlist, as [`parse_hls`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HlsPlaylist {
    /// A master playlist: the variants to choose from (see
    /// [`choose_variant`]), each a media playlist to fetch next.
    Master(Vec<HlsVariant>),
    /// A media playlist: the segments themselves.
    Media(HlsMedia),
}

/// One variant of a master playlist: a `#EXT-X-STREAM-INF` stream, or an
/// audio rendition (`#EXT-X-MEDIA:TYPE=AUDIO` with a `URI`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsVariant {
    /// The media playlist of this variant (http or https).
    pub uri: Url,
    /// Its peak bandwidth in bits per second, when given (renditions have
    /// none of their own).
    pub bandwidth: Option<u64>,
    /// Its `CODECS`, such as `mp4a.40.2` (for a rendition: the audio codecs
    /// of the streams that use its group).
    pub codecs: Option<String>,
    /// Whether it carries audio only: an audio rendition, or a stream whose
    /// codecs are all audio codecs. Fetching video to play sound wastes
    /// bandwidth, so these are preferred.
    pub audio_only: bool,
}

/// A media playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsMedia {
    /// `#EXT-X-TARGETDURATION`: the longest segment, and how often a live
    /// playlist should be fetched again. When missing, the longest segment.
    pub target_duration_ms: u64,
    /// `#EXT-X-MEDIA-SEQUENCE`: the sequence number of the first segment;
    /// the next ones count up from it.
    pub media_sequence: u64,
    /// The segments, in play order, at most [`MAX_HLS_SEGMENTS`].
    pub segments: Vec<HlsSegment>,
    /// `#EXT-X-ENDLIST`: the list is complete (on demand). When `false` the
    /// stream is live and the playlist must be fetched again for more.
    pub ended: bool,
    /// Some `#EXT-X-KEY` names a method other than `NONE`: the segments are
    /// encrypted and cannot be played (see [`HlsMedia::ensure_playable`]).
    pub encrypted: bool,
    /// `#EXT-X-MAP`: the initialisation segment (fragmented MP4) to read
    /// before the first segment.
    pub init_uri: Option<Url>,
    /// Segments dropped because their URI was not http(s) or was too long.
    pub skipped: usize,
    /// Whether segments were dropped for [`MAX_HLS_SEGMENTS`].
    pub truncated: bool,
}

/// One media segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsSegment {
    /// Where it is (http or https).
    pub uri: Url,
    /// How long it plays (`#EXTINF`), 0 when not given.
    pub duration_ms: u64,
    /// Its `#EXTINF` title, cleaned; stations put the song there.
    pub title: Option<String>,
}

impl HlsMedia {
    /// Whether the segments can be played.
    ///
    /// # Errors
    /// [`PlaylistError::Encrypted`] for an encrypted stream.
    pub fn ensure_playable(&self) -> Result<(), PlaylistError> {
        if self.encrypted { Err(PlaylistError::Encrypted) } else { Ok(()) }
    }

    /// The sequence number of the segment at `index` of
    /// [`HlsMedia::segments`], to remember what was played across fetches.
    pub fn sequence_of(&self, index: usize) -> u64 {
        self.media_sequence.saturating_add(index as u64)
    }
}

/// The variant to play: audio-only variants if there are any, else all;
/// among those the lowest bandwidth of at least 64 kbit/s, else the first
/// of unknown bandwidth (renditions, default ones first), else the lowest.
pub fn choose_variant(variants: &[HlsVariant]) -> Option<&HlsVariant> {
    let audio_only = variants.iter().any(|v| v.audio_only);
    let pool = || variants.iter().filter(move |v| v.audio_only || !audio_only);
    pool()
        .filter(|v| v.bandwidth.is_some_and(|b| b >= MIN_GOOD_BANDWIDTH))
        .min_by_key(|v| v.bandwidth)
        .or_else(|| pool().find(|v| v.bandwidth.is_none()))
        .or_else(|| pool().min_by_key(|v| v.bandwidth))
}

/// Reads an HLS playlist `body` fetched from `base`.
///
/// A media playlist with no segments yet is accepted when it is live (no
/// `#EXT-X-ENDLIST`) and has a target duration: fetch it again later.
///
/// # Errors
/// [`PlaylistError::TooLarge`] over [`MAX_PLAYLIST_BYTES`];
/// [`PlaylistError::NotAPlaylist`] without the `#EXTM3U` header;
/// [`PlaylistError::Empty`] with neither variants nor segments;
/// [`PlaylistError::NothingPlayable`] when every URI was refused.
/// An encrypted media playlist is returned (see [`HlsMedia::encrypted`]).
pub fn parse_hls(body: &[u8], base: &Url) -> Result<HlsPlaylist, PlaylistError> {
    if body.len() > MAX_PLAYLIST_BYTES {
        return Err(PlaylistError::TooLarge { limit: MAX_PLAYLIST_BYTES });
    }
    let text = decode_lossy(body);
    let mut lines = lines(&text);
    if !lines.next().is_some_and(|first| first.eq_ignore_ascii_case("#EXTM3U")) {
        return Err(PlaylistError::NotAPlaylist("HLS"));
    }

    let mut reading = Reading::default();
    for line in lines {
        reading.line(line, base);
    }
    reading.finish()
}

/// What the tag before a URI line said the URI is.
enum Pending {
    None,
    Segment { duration_ms: u64, title: Option<String> },
    Variant { bandwidth: Option<u64>, codecs: Option<String>, audio_group: Option<String>, audio_only: bool },
}

struct Rendition {
    uri: Url,
    group: Option<String>,
    default: bool,
}

/// A stream variant as read, with the audio group it uses.
struct Stream {
    variant: HlsVariant,
    audio_group: Option<String>,
}

struct Reading {
    pending: Pending,
    streams: Vec<Stream>,
    renditions: Vec<Rendition>,
    segments: Vec<HlsSegment>,
    target_duration_ms: Option<u64>,
    media_sequence: u64,
    ended: bool,
    encrypted: bool,
    init_uri: Option<Url>,
    skipped: usize,
    truncated: bool,
}

impl Default for Reading {
    fn default() -> Self {
        Self {
            pending: Pending::None,
            streams: Vec::new(),
            renditions: Vec::new(),
            segments: Vec::new(),
            target_duration_ms: None,
            media_sequence: 0,
            ended: false,
            encrypted: false,
            init_uri: None,
            skipped: 0,
            truncated: false,
        }
    }
}

impl Reading {
    fn line(&mut self, line: &str, base: &Url) {
        if line.len() > MAX_LINE_BYTES {
            // An overlong URI is dropped with the tag that described it; an
            // overlong tag is not read.
            if !line.starts_with('#') {
                self.pending = Pending::None;
                self.skipped += 1;
            }
            return;
        }
        let Some(tag) = line.strip_prefix('#') else {
            self.uri(line, base);
            return;
        };
        let (name, value) = tag.split_once(':').unwrap_or((tag, ""));
        match name.to_ascii_uppercase().as_str() {
            "EXTINF" => {
                let (duration, title) = value.split_once(',').unwrap_or((value, ""));
                self.pending =
                    Pending::Segment { duration_ms: seconds_to_ms(duration).unwrap_or(0), title: clean_title(title) };
            }
            "EXT-X-TARGETDURATION" => self.target_duration_ms = seconds_to_ms(value),
            "EXT-X-MEDIA-SEQUENCE" => self.media_sequence = value.trim().parse().unwrap_or(0),
            "EXT-X-ENDLIST" => self.ended = true,
            "EXT-X-KEY" => {
                let method = attribute(value, "METHOD");
                self.encrypted |= method.is_some_and(|m| !m.eq_ignore_ascii_case("NONE"));
            }
            "EXT-X-MAP" if self.init_uri.is_none() => {
                self.init_uri = attribute(value, "URI").and_then(|uri| resolve_http(base, uri));
            }
            "EXT-X-STREAM-INF" => {
                let codecs = attribute(value, "CODECS").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
                let audio_only = codecs.as_deref().is_some_and(all_audio_codecs)
                    && attribute(value, "RESOLUTION").is_none()
                    && attribute(value, "VIDEO").is_none();
                self.pending = Pending::Variant {
                    bandwidth: attribute(value, "BANDWIDTH").and_then(|b| b.trim().parse().ok()),
                    codecs,
                    audio_group: attribute(value, "AUDIO").map(str::to_owned),
                    audio_only,
                };
            }
            "EXT-X-MEDIA" => self.rendition(value, base),
            _ => {}
        }
    }

    fn uri(&mut self, line: &str, base: &Url) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            // A URI with no tag before it is not valid HLS.
            Pending::None => self.skipped += 1,
            Pending::Segment { duration_ms, title } => {
                if self.segments.len() >= MAX_HLS_SEGMENTS {
                    self.truncated = true;
                    return;
                }
                match resolve_http(base, line) {
                    Some(uri) => self.segments.push(HlsSegment { uri, duration_ms, title }),
                    None => self.skipped += 1,
                }
            }
            Pending::Variant { bandwidth, codecs, audio_group, audio_only } => {
                if self.streams.len() + self.renditions.len() >= MAX_HLS_VARIANTS {
                    return;
                }
                match resolve_http(base, line) {
                    Some(uri) => self
                        .streams
                        .push(Stream { variant: HlsVariant { uri, bandwidth, codecs, audio_only }, audio_group }),
                    None => self.skipped += 1,
                }
            }
        }
    }

    /// `#EXT-X-MEDIA`: only audio renditions with their own URI are
    /// variants; the others are carried inside the streams.
    fn rendition(&mut self, value: &str, base: &Url) {
        let is_audio = attribute(value, "TYPE").is_some_and(|t| t.eq_ignore_ascii_case("AUDIO"));
        let Some(uri) = attribute(value, "URI").filter(|_| is_audio) else { return };
        if self.streams.len() + self.renditions.len() >= MAX_HLS_VARIANTS {
            return;
        }
        match resolve_http(base, uri) {
            Some(uri) => self.renditions.push(Rendition {
                uri,
                group: attribute(value, "GROUP-ID").map(str::to_owned),
                default: attribute(value, "DEFAULT").is_some_and(|d| d.eq_ignore_ascii_case("YES")),
            }),
            None => self.skipped += 1,
        }
    }

    fn finish(self) -> Result<HlsPlaylist, PlaylistError> {
        if !self.streams.is_empty() || !self.renditions.is_empty() {
            let mut renditions = self.renditions;
            // Default renditions first: they are what the author meant to play.
            renditions.sort_by_key(|r| !r.default);
            let audio: Vec<HlsVariant> = renditions
                .into_iter()
                .map(|r| {
                    let codecs = r.group.as_deref().and_then(|group| audio_codecs_of_group(&self.streams, group));
                    HlsVariant { uri: r.uri, bandwidth: None, codecs, audio_only: true }
                })
                .collect();
            let mut variants: Vec<HlsVariant> = self.streams.into_iter().map(|s| s.variant).collect();
            variants.extend(audio);
            return Ok(HlsPlaylist::Master(variants));
        }
        if self.segments.is_empty() && (self.ended || self.target_duration_ms.is_none()) {
            return Err(match self.skipped {
                0 => PlaylistError::Empty,
                skipped => PlaylistError::NothingPlayable { skipped },
            });
        }
        let longest = self.segments.iter().map(|s| s.duration_ms).max().unwrap_or(0);
        Ok(HlsPlaylist::Media(HlsMedia {
            target_duration_ms: self.target_duration_ms.unwrap_or(longest),
            media_sequence: self.media_sequence,
            segments: self.segments,
            ended: self.ended,
            encrypted: self.encrypted,
            init_uri: self.init_uri,
            skipped: self.skipped,
            truncated: self.truncated,
        }))
    }
}

/// The audio codecs of the first stream using audio group `group`.
fn audio_codecs_of_group(streams: &[Stream], group: &str) -> Option<String> {
    let codecs = streams.iter().find(|s| s.audio_group.as_deref() == Some(group))?.variant.codecs.as_deref()?;
    let audio: Vec<&str> = codecs.split(',').map(str::trim).filter(|c| is_audio_codec(c)).collect();
    (!audio.is_empty()).then(|| audio.join(","))
}

fn all_audio_codecs(codecs: &str) -> bool {
    codecs.split(',').map(str::trim).all(is_audio_codec)
}

/// Whether an RFC 6381 codec name is an audio codec.
fn is_audio_codec(codec: &str) -> bool {
    let family = codec.split('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(family.as_str(), "mp4a" | "ac-3" | "ec-3" | "ac-4" | "opus" | "flac" | "alac" | "mp3" | "dtsc" | "dtse")
}

/// The value of attribute `key` in an attribute list
/// (`KEY=VALUE,KEY="quoted, value"`), quotes removed.
fn attribute<'a>(list: &'a str, key: &str) -> Option<&'a str> {
    attributes(list).find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// The attributes of an attribute list, at most [`MAX_ATTRIBUTES`]. A
/// quoted value runs to the next quote, commas included.
fn attributes(list: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = list;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            return None;
        }
        let Some((key, after)) = rest.split_once('=') else {
            rest = "";
            return None;
        };
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((value, remaining)) => (value, remaining),
                None => (quoted, ""),
            }
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        rest = remaining;
        Some((key.trim(), value))
    })
    .take(MAX_ATTRIBUTES)
}
