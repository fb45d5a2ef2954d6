//! Deezer's public API (no key): tracks, albums and public playlists as
//! metadata, with ISRCs.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::{
    Collection, LinkKind, MAX_TEXT_CHARS, Page, ServiceLink, bounded, clean_isrc, count, endpoint, gather,
    is_numeric_id,
};
use crate::api::{check_status, parse_json};
use crate::{ApiClient, LookupError, Origin, TrackMeta};

/// Reads `www.deezer.com` path segments: `[lang/]{kind}/{id}`.
pub(super) fn parse_path(segments: &[&str]) -> Option<ServiceLink> {
    let rest = match segments {
        [lang, rest @ ..] if is_language(lang) => rest,
        rest => rest,
    };
    let [kind, id, ..] = rest else { return None };
    let kind = match *kind {
        "track" => LinkKind::Track,
        "album" => LinkKind::Album,
        "playlist" => LinkKind::Playlist,
        _ => return None,
    };
    is_numeric_id(id).then(|| ServiceLink::Deezer { kind, id: (*id).to_owned() })
}

/// `en`, `fr`, `pt-br`…: the site's language prefix.
fn is_language(s: &str) -> bool {
    let (lang, region) = s.split_once('-').unwrap_or((s, "ab"));
    lang.len() == 2 && region.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// How many tracks are asked for per page after the first.
const PAGE_LIMIT: &str = "100";

/// Deezer's public API.
///
/// Deezer answers errors with HTTP 200 and an `error` object: code 800
/// ("no data") is [`LookupError::NotFound`], codes 4 (quota) and 700
/// (service busy) are [`LookupError::RateLimited`], code 200 (permission)
/// is [`LookupError::Private`].
#[derive(Debug, Clone)]
pub struct DeezerClient {
    api: ApiClient,
    base: Url,
}

impl DeezerClient {
    /// Deezer's API.
    pub const BASE: &'static str = "https://api.deezer.com";

    /// A client of Deezer's public address.
    pub fn new(api: ApiClient) -> Self {
        Self { api, base: Url::parse(Self::BASE).expect("valid constant") }
    }

    /// Talks to `base` instead (a fake, in tests).
    #[must_use]
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.base = base;
        self
    }

    /// The track of `id`.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] (also for a malformed id), or the mapped
    /// Deezer error.
    pub async fn track(&self, id: &str) -> Result<TrackMeta, LookupError> {
        if !is_numeric_id(id) {
            return Err(LookupError::NotFound);
        }
        let track: DzTrack = self.get_json(endpoint(&self.base, &["track", id])).await?;
        track_meta(&track, None).ok_or_else(|| LookupError::BadResponse("deezer track without id or title".into()))
    }

    /// The album of `id` with its tracks.
    ///
    /// # Errors
    /// As [`DeezerClient::track`].
    pub async fn album(&self, id: &str) -> Result<Collection, LookupError> {
        self.collection("album", id, "Deezer album").await
    }

    /// The public playlist of `id` with its tracks.
    ///
    /// # Errors
    /// As [`DeezerClient::track`].
    pub async fn playlist(&self, id: &str) -> Result<Collection, LookupError> {
        self.collection("playlist", id, "Deezer playlist").await
    }

    /// An album or playlist: the object holds the first tracks under
    /// `tracks.data`; the rest are read from `/{kind}/{id}/tracks`, from the
    /// index after the embedded ones, following `next`.
    async fn collection(&self, kind: &str, id: &str, fallback_title: &str) -> Result<Collection, LookupError> {
        if !is_numeric_id(id) {
            return Err(LookupError::NotFound);
        }
        let object: DzCollection = self.get_json(endpoint(&self.base, &[kind, id])).await?;
        let embedded = object.tracks.unwrap_or_default();
        let mut first = Page { items: embedded.data, next: embedded.next, total: embedded.total };
        let reported = object.nb_tracks.or(first.total);
        if first.next.is_none() && reported.is_some_and(|n| count(n) > first.items.len()) && !first.items.is_empty() {
            let mut next = endpoint(&self.base, &[kind, id, "tracks"]);
            next.query_pairs_mut()
                .append_pair("index", &first.items.len().to_string())
                .append_pair("limit", PAGE_LIMIT);
            first.next = Some(next.into());
        }
        let artwork = object.cover_xl;
        let gathered = gather(
            "deezer",
            &self.base,
            first,
            |url| self.page(url),
            |item| {
                let track: DzTrack = serde_json::from_value(item.clone()).ok()?;
                track_meta(&track, artwork.as_deref())
            },
        )
        .await?;
        Ok(Collection {
            title: bounded(object.title.as_deref().unwrap_or(fallback_title), MAX_TEXT_CHARS),
            total: reported.or(gathered.total).map_or(gathered.tracks.len(), count),
            tracks: gathered.tracks,
            truncated: gathered.truncated,
        })
    }

    async fn page(&self, url: Url) -> Result<Page, LookupError> {
        let list: DzList = self.get_json(url).await?;
        Ok(Page { items: list.data, next: list.next, total: list.total })
    }

    /// GETs `url` and reads it as `T`, after sorting out Deezer's
    /// errors-in-200.
    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, LookupError> {
        let fetched = self.api.send(self.api.get(url)).await?;
        check_status(&fetched)?;
        let value: Value = parse_json(&fetched.body)?;
        if let Some(error) = value.get("error") {
            return Err(deezer_error(error));
        }
        serde_json::from_value(value).map_err(|e| LookupError::BadResponse(format!("deezer json: {e}")))
    }
}

/// The [`LookupError`] for Deezer's `{"error": {"type", "message", "code"}}`.
fn deezer_error(error: &Value) -> LookupError {
    let code = error.get("code").and_then(Value::as_u64);
    match code {
        Some(800) => LookupError::NotFound,
        Some(4 | 700) => LookupError::RateLimited { retry_after: None },
        Some(200) => LookupError::Private,
        Some(code) => LookupError::BadResponse(format!("deezer error code {code}")),
        None => LookupError::BadResponse("deezer error without a code".into()),
    }
}

#[derive(Debug, Deserialize)]
struct DzTrack {
    id: Option<Value>,
    title: Option<String>,
    isrc: Option<String>,
    duration: Option<Value>,
    artist: Option<DzArtist>,
    album: Option<DzAlbumRef>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DzArtist {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DzAlbumRef {
    cover_xl: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DzCollection {
    title: Option<String>,
    nb_tracks: Option<u64>,
    cover_xl: Option<String>,
    tracks: Option<DzList>,
}

#[derive(Debug, Default, Deserialize)]
struct DzList {
    #[serde(default)]
    data: Vec<Value>,
    next: Option<String>,
    total: Option<u64>,
}

/// A number, or a string of digits (Deezer has sent both).
fn as_u64(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A Deezer track as metadata; `None` for entries that are no track or
/// have no id (user uploads have negative ids and nothing to match by).
fn track_meta(track: &DzTrack, collection_artwork: Option<&str>) -> Option<TrackMeta> {
    if track.kind.as_deref().is_some_and(|k| k != "track") {
        return None;
    }
    let id = track.id.as_ref().and_then(as_u64)?;
    let title = track.title.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    let mut meta = TrackMeta::new(Origin::Deezer, id.to_string(), bounded(title, MAX_TEXT_CHARS));
    meta.artist = track
        .artist
        .as_ref()
        .and_then(|a| a.name.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| bounded(n, MAX_TEXT_CHARS));
    meta.duration_ms = track.duration.as_ref().and_then(as_u64).filter(|s| *s > 0).map(|s| s.saturating_mul(1000));
    meta.isrc = track.isrc.as_deref().and_then(clean_isrc);
    meta.artwork_url =
        track.album.as_ref().and_then(|a| a.cover_xl.as_deref()).or(collection_artwork).map(|u| bounded(u, 2048));
    Some(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_200_are_sorted_by_code() {
        let no_data = serde_json::json!({"type": "DataException", "message": "no data", "code": 800});
        assert!(matches!(deezer_error(&no_data), LookupError::NotFound));
        let quota = serde_json::json!({"type": "Exception", "message": "Quota limit exceeded", "code": 4});
        assert!(matches!(deezer_error(&quota), LookupError::RateLimited { retry_after: None }));
        let other = serde_json::json!({"type": "ParameterException", "code": 500});
        assert!(matches!(deezer_error(&other), LookupError::BadResponse(_)));
    }

    #[test]
    fn durations_are_seconds_and_ids_may_be_strings() {
        let track: DzTrack = serde_json::from_value(serde_json::json!({
            "id": "3135556", "title": "Harder, Better, Faster, Stronger", "duration": 224,
            "isrc": "GBDUW0000059", "artist": {"name": "Daft Punk"}, "type": "track"
        }))
        .unwrap();
        let meta = track_meta(&track, Some("https://cdn/cover.jpg")).unwrap();
        assert_eq!(meta.id, "3135556");
        assert_eq!(meta.duration_ms, Some(224_000));
        assert_eq!(meta.artwork_url.as_deref(), Some("https://cdn/cover.jpg"));
        let upload: DzTrack = serde_json::from_value(serde_json::json!({"id": -12, "title": "x"})).unwrap();
        assert!(track_meta(&upload, None).is_none());
    }
}
