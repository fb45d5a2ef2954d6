//! Apple Music links read through the iTunes Search API's lookup (no key):
//! albums and songs as metadata. It gives no ISRC, so Apple Music tracks are
//! matched by title, artist and duration.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{Collection, LinkKind, MAX_TEXT_CHARS, ServiceLink, bounded, endpoint, is_numeric_id};
use crate::api::{check_status, parse_json};
use crate::{ApiClient, LookupError, Origin, TrackMeta};

/// What a member is told for an Apple Music playlist link.
pub(super) const PLAYLIST_UNSUPPORTED: &str =
    "Apple Music playlists cannot be read without a developer token; paste an album or song link.";

/// Reads `music.apple.com` path segments:
/// `{sf}/{album|song|playlist}/[{slug}/]{id}`, with `?i=` on albums.
pub(super) fn parse_link(segments: &[&str], url: &Url) -> Option<ServiceLink> {
    let [storefront, kind, rest @ ..] = segments else { return None };
    if !is_storefront(storefront) {
        return None;
    }
    // The slug is optional and free text; the id is the last segment.
    let id = match rest {
        [id] | [_, id] => *id,
        _ => return None,
    };
    let (kind, track) = match *kind {
        "album" if is_numeric_id(id) => {
            let track = url.query_pairs().find(|(k, _)| k == "i").map(|(_, v)| v.into_owned());
            (LinkKind::Album, track.filter(|t| is_numeric_id(t)))
        }
        "song" if is_numeric_id(id) => (LinkKind::Track, None),
        "playlist" if is_playlist_id(id) => (LinkKind::Playlist, None),
        _ => return None,
    };
    Some(ServiceLink::AppleMusic { kind, id: id.to_owned(), storefront: (*storefront).to_owned(), track })
}

/// A store code: two lower-case letters (`us`, `gb`, `jp`).
fn is_storefront(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// `pl.` then letters, digits and dashes (`pl.u-…` for a member's list).
fn is_playlist_id(s: &str) -> bool {
    s.strip_prefix("pl.").is_some_and(|rest| {
        (1..=100).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The most results one lookup returns (the API's own maximum).
const LOOKUP_LIMIT: usize = 200;

/// The iTunes Search API's lookup, for Apple Music albums and songs.
#[derive(Debug, Clone)]
pub struct AppleClient {
    api: ApiClient,
    base: Url,
}

impl AppleClient {
    /// The iTunes Search API.
    pub const BASE: &'static str = "https://itunes.apple.com";

    /// A client of the public address.
    pub fn new(api: ApiClient) -> Self {
        Self { api, base: Url::parse(Self::BASE).expect("valid constant") }
    }

    /// Talks to `base` instead (a fake, in tests).
    #[must_use]
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.base = base;
        self
    }

    /// The song of `id` in `storefront`'s catalog.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] when the store has no such song (or the id
    /// or store is malformed).
    pub async fn song(&self, id: &str, storefront: &str) -> Result<TrackMeta, LookupError> {
        let results = self.lookup(id, storefront).await?;
        let mut songs = songs(&results);
        if songs.is_empty() {
            return Err(LookupError::NotFound);
        }
        let position = songs.iter().position(|s| s.id == id).unwrap_or(0);
        Ok(songs.swap_remove(position))
    }

    /// The album of `id` in `storefront`'s catalog, with its songs.
    ///
    /// # Errors
    /// As [`AppleClient::song`].
    pub async fn album(&self, id: &str, storefront: &str) -> Result<Collection, LookupError> {
        let results = self.lookup(id, storefront).await?;
        let album = results
            .iter()
            .filter_map(|r| serde_json::from_value::<ItCollection>(r.clone()).ok())
            .find(|c| c.wrapper_type.as_deref() == Some("collection"))
            .ok_or(LookupError::NotFound)?;
        let tracks = songs(&results);
        let total = album.track_count.map_or(tracks.len(), super::count);
        Ok(Collection {
            title: bounded(album.collection_name.as_deref().unwrap_or("Apple Music album"), MAX_TEXT_CHARS),
            truncated: tracks.len() >= LOOKUP_LIMIT && total > tracks.len(),
            total,
            tracks,
        })
    }

    /// `lookup?id=…&entity=song&country=…`: an album id answers the album
    /// then its songs, a song id the song.
    async fn lookup(&self, id: &str, storefront: &str) -> Result<Vec<Value>, LookupError> {
        if !is_numeric_id(id) || !is_storefront(storefront) {
            return Err(LookupError::NotFound);
        }
        let mut url = endpoint(&self.base, &["lookup"]);
        url.query_pairs_mut()
            .append_pair("id", id)
            .append_pair("entity", "song")
            .append_pair("country", storefront)
            .append_pair("limit", &LOOKUP_LIMIT.to_string());
        let fetched = self.api.send(self.api.get(url)).await?;
        check_status(&fetched)?;
        let answer: ItAnswer = parse_json(&fetched.body)?;
        if answer.results.is_empty() {
            return Err(LookupError::NotFound);
        }
        Ok(answer.results)
    }
}

#[derive(Debug, Deserialize)]
struct ItAnswer {
    #[serde(default)]
    results: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItCollection {
    wrapper_type: Option<String>,
    collection_name: Option<String>,
    track_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItTrack {
    wrapper_type: Option<String>,
    kind: Option<String>,
    track_id: Option<u64>,
    track_name: Option<String>,
    artist_name: Option<String>,
    track_time_millis: Option<u64>,
    artwork_url100: Option<String>,
    disc_number: Option<u32>,
    track_number: Option<u32>,
}

/// The songs among lookup results, in disc and track order.
fn songs(results: &[Value]) -> Vec<TrackMeta> {
    let mut tracks: Vec<ItTrack> = results
        .iter()
        .filter_map(|r| serde_json::from_value::<ItTrack>(r.clone()).ok())
        .filter(|t| t.wrapper_type.as_deref() == Some("track") && t.kind.as_deref() == Some("song"))
        .collect();
    tracks.sort_by_key(|t| (t.disc_number.unwrap_or(1), t.track_number.unwrap_or(u32::MAX)));
    tracks.iter().filter_map(track_meta).collect()
}

fn track_meta(track: &ItTrack) -> Option<TrackMeta> {
    let id = track.track_id?;
    let title = track.track_name.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    let mut meta = TrackMeta::new(Origin::AppleMusic, id.to_string(), bounded(title, MAX_TEXT_CHARS));
    meta.artist =
        track.artist_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(|n| bounded(n, MAX_TEXT_CHARS));
    meta.duration_ms = track.track_time_millis.filter(|d| *d > 0);
    meta.artwork_url = track.artwork_url100.as_deref().map(|u| bounded(u, 2048));
    Some(meta)
}
