//! Spotify's Web API with an app token (client-credentials flow): tracks,
//! albums and public playlists as metadata.
//!
//! Spotify gives no audio to a bot, only names, durations and ISRCs, which
//! the matcher looks up in the playable catalogs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use timmybot_outbound::Fetched;
use url::Url;

use super::{
    Collection, LinkKind, MAX_TEXT_CHARS, Page, ServiceLink, bounded, clean_isrc, count, endpoint, gather,
    is_alnum_of_len,
};
use crate::api::{check_status, parse_json};
use crate::{ApiClient, LookupError, Origin, TrackMeta};

/// Reads `open.spotify.com` path segments (after the host).
pub(super) fn parse_path(segments: &[&str]) -> Option<ServiceLink> {
    let mut rest = segments;
    // Localised links: /intl-de/track/…
    if rest.first().is_some_and(|s| s.starts_with("intl-")) {
        rest = &rest[1..];
    }
    // Embeds (/embed/track/…) and old user playlists (/user/{name}/playlist/…).
    if rest.first() == Some(&"embed") {
        rest = &rest[1..];
    }
    if rest.first() == Some(&"user") && rest.len() >= 4 {
        rest = &rest[2..];
    }
    match rest {
        [kind, id, ..] => link(kind, id),
        _ => None,
    }
}

/// Reads a `spotify:{kind}:{id}` URI (the part after `spotify:`).
pub(super) fn parse_uri(path: &str) -> Option<ServiceLink> {
    let parts: Vec<&str> = path.split(':').collect();
    match parts.as_slice() {
        [kind, id] | ["user", _, kind, id] => link(kind, id),
        _ => None,
    }
}

fn link(kind: &str, id: &str) -> Option<ServiceLink> {
    let kind = match kind {
        "track" => LinkKind::Track,
        "album" => LinkKind::Album,
        "playlist" => LinkKind::Playlist,
        _ => return None,
    };
    is_spotify_id(id).then(|| ServiceLink::Spotify { kind, id: id.to_owned() })
}

/// Spotify ids are 22 base62 characters.
fn is_spotify_id(id: &str) -> bool {
    is_alnum_of_len(id, 22..=22)
}

/// The app's Spotify credentials (from the Spotify developer dashboard).
///
/// `Debug` shows the client id only: the secret never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SpotifyCredentials {
    /// The app's client id (not secret).
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
}

impl SpotifyCredentials {
    /// Credentials of `client_id` and `client_secret`.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self { client_id: client_id.into(), client_secret: client_secret.into() }
    }
}

impl std::fmt::Debug for SpotifyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifyCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// An access token; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
struct AccessToken(Arc<str>);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

#[derive(Debug)]
struct CachedToken {
    token: AccessToken,
    /// When it stops being used: shortly before Spotify says it expires,
    /// so a request in flight does not carry a token that just lapsed.
    fresh_until: Instant,
}

/// How long a token said to last `expires_in` seconds is used: a tenth of
/// its life (at most a minute) earlier, and never more than a day.
fn usable_for(expires_in: u64) -> Duration {
    let full = Duration::from_secs(expires_in.min(86_400));
    full - (full / 10).min(Duration::from_secs(60))
}

/// Spotify's Web API, read with an app token.
///
/// The token is fetched on first use, reused until shortly before it
/// expires, and fetched again once when the API answers 401. Cheap to clone
/// (clones share the token).
#[derive(Clone)]
pub struct SpotifyClient {
    api: ApiClient,
    credentials: Arc<SpotifyCredentials>,
    api_base: Url,
    accounts_base: Url,
    token: Arc<tokio::sync::Mutex<Option<CachedToken>>>,
}

impl std::fmt::Debug for SpotifyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifyClient")
            .field("client_id", &self.credentials.client_id)
            .field("api_base", &self.api_base.as_str())
            .field("accounts_base", &self.accounts_base.as_str())
            .finish_non_exhaustive()
    }
}

/// The most tracks Spotify lists on one album page.
const ALBUM_PAGE_LIMIT: &str = "50";
/// The entries asked for on one playlist page, when the playlist object
/// holds none: 50, because Spotify's current reference caps playlist item
/// pages at 50 (older versions allowed 100). Pages linked by `next` keep
/// whatever limit Spotify chose.
const PLAYLIST_PAGE_LIMIT: &str = "50";

impl SpotifyClient {
    /// Spotify's Web API.
    pub const API_BASE: &'static str = "https://api.spotify.com";
    /// Spotify's accounts service, which issues tokens.
    pub const ACCOUNTS_BASE: &'static str = "https://accounts.spotify.com";

    /// A client of Spotify's public addresses.
    pub fn new(api: ApiClient, credentials: SpotifyCredentials) -> Self {
        Self {
            api,
            credentials: Arc::new(credentials),
            api_base: Url::parse(Self::API_BASE).expect("valid constant"),
            accounts_base: Url::parse(Self::ACCOUNTS_BASE).expect("valid constant"),
            token: Arc::default(),
        }
    }

    /// Talks to `api` and `accounts` instead (a fake, in tests).
    #[must_use]
    pub fn with_base_urls(mut self, api: Url, accounts: Url) -> Self {
        self.api_base = api;
        self.accounts_base = accounts;
        self
    }

    /// The track of `id`.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] (also for a malformed id),
    /// [`LookupError::RateLimited`], [`LookupError::Private`] for a 403,
    /// [`LookupError::NotConfigured`] when Spotify refuses the credentials.
    pub async fn track(&self, id: &str) -> Result<TrackMeta, LookupError> {
        if !is_spotify_id(id) {
            return Err(LookupError::NotFound);
        }
        let track: SpTrack = self.get_json(endpoint(&self.api_base, &["v1", "tracks", id])).await?;
        track_meta(&track, None).ok_or_else(|| LookupError::BadResponse("spotify track without id or name".into()))
    }

    /// The album of `id` with its tracks (paged through `next`).
    ///
    /// Spotify's album pages list simplified tracks, which carry no ISRC:
    /// album tracks are matched by title, artist and duration.
    ///
    /// # Errors
    /// As [`SpotifyClient::track`].
    pub async fn album(&self, id: &str) -> Result<Collection, LookupError> {
        if !is_spotify_id(id) {
            return Err(LookupError::NotFound);
        }
        let album: SpAlbum = self.get_json(endpoint(&self.api_base, &["v1", "albums", id])).await?;
        let artwork = album.images.first().map(|i| i.url.clone());
        let first = match album.tracks {
            Some(tracks) if tracks.items.is_some() => tracks.into_page(),
            _ => {
                let mut start = endpoint(&self.api_base, &["v1", "albums", id, "tracks"]);
                start.query_pairs_mut().append_pair("limit", ALBUM_PAGE_LIMIT).append_pair("offset", "0");
                self.page(start).await?
            }
        };
        let gathered = gather(
            "spotify",
            &self.api_base,
            first,
            |url| self.page(url),
            |item| {
                let track: SpTrack = serde_json::from_value(item.clone()).ok()?;
                track_meta(&track, artwork.as_deref())
            },
        )
        .await?;
        let total = gathered.total.or(album.total_tracks).map_or(gathered.tracks.len(), count);
        Ok(Collection {
            title: bounded(album.name.as_deref().unwrap_or("Spotify album"), MAX_TEXT_CHARS),
            tracks: gathered.tracks,
            total,
            truncated: gathered.truncated,
        })
    }

    /// The public playlist of `id` with its tracks; episodes, local files and
    /// removed entries are left out.
    ///
    /// The playlist object names the list and, on Spotify, holds its first
    /// page; later pages are read through `next`. Entries carry the track
    /// under `track` or, in newer API versions, under `item`.
    ///
    /// # Errors
    /// As [`SpotifyClient::track`]. Spotify answers 404 for playlists an
    /// app token cannot read (private, or Spotify's own personalised ones).
    pub async fn playlist(&self, id: &str) -> Result<Collection, LookupError> {
        if !is_spotify_id(id) {
            return Err(LookupError::NotFound);
        }
        let playlist: SpPlaylist = self.get_json(endpoint(&self.api_base, &["v1", "playlists", id])).await?;
        // Newer API versions name the paging object `items`, older `tracks`;
        // either may be a stub ({href, total}) without entries.
        let paging = [playlist.items, playlist.tracks]
            .into_iter()
            .flatten()
            .find_map(|v| serde_json::from_value::<SpPaging>(v).ok());
        let reported_total = paging.as_ref().and_then(|p| p.total);
        let first = match paging {
            Some(paging) if paging.items.is_some() => paging.into_page(),
            stub => {
                let start = stub
                    .and_then(|s| s.href)
                    .and_then(|href| super::same_origin(&self.api_base, &href))
                    .unwrap_or_else(|| endpoint(&self.api_base, &["v1", "playlists", id, "tracks"]));
                let mut start = start;
                start.set_query(None);
                start.query_pairs_mut().append_pair("limit", PLAYLIST_PAGE_LIMIT).append_pair("offset", "0");
                self.page(start).await?
            }
        };
        let gathered = gather("spotify", &self.api_base, first, |url| self.page(url), playlist_entry).await?;
        let total = gathered.total.or(reported_total).map_or(gathered.tracks.len(), count);
        Ok(Collection {
            title: bounded(playlist.name.as_deref().unwrap_or("Spotify playlist"), MAX_TEXT_CHARS),
            tracks: gathered.tracks,
            total,
            truncated: gathered.truncated,
        })
    }

    async fn page(&self, url: Url) -> Result<Page, LookupError> {
        let paging: SpPaging = self.get_json(url).await?;
        Ok(paging.into_page())
    }

    /// GETs `url` with the app token and reads a success answer as `T`.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, LookupError> {
        let fetched = self.get(url).await?;
        match fetched.status {
            401 => return Err(LookupError::BadResponse("spotify refused a fresh token".into())),
            403 => return Err(LookupError::Private),
            _ => check_status(&fetched)?,
        }
        parse_json(&fetched.body)
    }

    /// GETs `url` with the app token; on a 401 fetches a new token once and
    /// tries again.
    async fn get(&self, url: Url) -> Result<Fetched, LookupError> {
        let token = self.token(None).await?;
        let fetched = self.api.send(self.api.get(url.clone()).bearer_auth(&*token.0)).await?;
        if fetched.status != 401 {
            return Ok(fetched);
        }
        tracing::debug!("spotify answered 401; fetching a new token");
        let token = self.token(Some(&token)).await?;
        self.api.send(self.api.get(url).bearer_auth(&*token.0)).await
    }

    /// The cached token, or a new one when there is none, it is stale, or it
    /// is the one the API just `rejected`. Callers wait on one lock, so
    /// concurrent lookups share one token request.
    async fn token(&self, rejected: Option<&AccessToken>) -> Result<AccessToken, LookupError> {
        let mut cached = self.token.lock().await;
        if let Some(current) = cached.as_ref() {
            let was_rejected = rejected.is_some_and(|r| *r == current.token);
            if !was_rejected && Instant::now() < current.fresh_until {
                return Ok(current.token.clone());
            }
        }
        *cached = None;
        let fresh = self.request_token().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// POSTs the client-credentials grant to the accounts service.
    async fn request_token(&self) -> Result<CachedToken, LookupError> {
        let url = endpoint(&self.accounts_base, &["api", "token"]);
        let request = self
            .api
            .request(reqwest::Method::POST, url)
            .basic_auth(&self.credentials.client_id, Some(&self.credentials.client_secret))
            .form(&[("grant_type", "client_credentials")]);
        let fetched = self.api.send(request).await?;
        match fetched.status {
            400 | 401 | 403 => {
                tracing::warn!(status = fetched.status, "spotify refused the client credentials");
                return Err(LookupError::NotConfigured("Spotify"));
            }
            _ => check_status(&fetched)?,
        }
        let answer: TokenAnswer = parse_json(&fetched.body)?;
        if answer.access_token.is_empty() || !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(LookupError::BadResponse("spotify token answer without a bearer token".into()));
        }
        Ok(CachedToken {
            token: AccessToken(answer.access_token.into()),
            fresh_until: Instant::now() + usable_for(answer.expires_in),
        })
    }
}

/// The accounts service's answer; `Debug` is not derived, so the token
/// cannot be printed.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default = "bearer")]
    token_type: String,
    #[serde(default = "an_hour")]
    expires_in: u64,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

fn an_hour() -> u64 {
    3600
}

#[derive(Debug, Deserialize)]
struct SpTrack {
    id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    artists: Vec<SpNamed>,
    duration_ms: Option<u64>,
    external_ids: Option<SpExternalIds>,
    album: Option<SpImages>,
    #[serde(default)]
    is_local: bool,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SpNamed {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SpExternalIds {
    isrc: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SpImages {
    #[serde(default)]
    images: Vec<SpImage>,
}

#[derive(Debug, Deserialize)]
struct SpImage {
    url: String,
}

#[derive(Debug, Deserialize)]
struct SpAlbum {
    name: Option<String>,
    #[serde(default)]
    images: Vec<SpImage>,
    total_tracks: Option<u64>,
    tracks: Option<SpPaging>,
}

#[derive(Debug, Deserialize)]
struct SpPlaylist {
    name: Option<String>,
    tracks: Option<Value>,
    items: Option<Value>,
}

/// Spotify's paging object (or the `{href, total}` stub of one).
#[derive(Debug, Deserialize)]
struct SpPaging {
    href: Option<String>,
    items: Option<Vec<Value>>,
    next: Option<String>,
    total: Option<u64>,
}

impl SpPaging {
    fn into_page(self) -> Page {
        Page { items: self.items.unwrap_or_default(), next: self.next, total: self.total }
    }
}

/// A playlist entry's track: under `item` (newer) or `track` (older);
/// `None` for removed tracks (null), local files and episodes. Also reads
/// a saved track of `/me/tracks` (`{added_at, track}`).
pub fn playlist_entry(entry: &Value) -> Option<TrackMeta> {
    if entry.get("is_local").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let inner = [entry.get("item"), entry.get("track")].into_iter().flatten().find(|v| v.is_object())?;
    let track: SpTrack = serde_json::from_value(inner.clone()).ok()?;
    track_meta(&track, None)
}

/// A Spotify track as metadata; `None` for local files, episodes and
/// entries without an id or a name.
fn track_meta(track: &SpTrack, album_artwork: Option<&str>) -> Option<TrackMeta> {
    if track.is_local || track.kind.as_deref().is_some_and(|k| k != "track") {
        return None;
    }
    let id = track.id.as_deref().filter(|id| is_spotify_id(id))?;
    let title = track.name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
    let mut meta = TrackMeta::new(Origin::Spotify, id, bounded(title, MAX_TEXT_CHARS));
    let artists: Vec<&str> =
        track.artists.iter().filter_map(|a| a.name.as_deref()).map(str::trim).filter(|n| !n.is_empty()).collect();
    if !artists.is_empty() {
        meta.artist = Some(bounded(&artists.join(", "), MAX_TEXT_CHARS));
    }
    meta.duration_ms = track.duration_ms.filter(|d| *d > 0);
    meta.isrc = track.external_ids.as_ref().and_then(|e| e.isrc.as_deref()).and_then(clean_isrc);
    meta.artwork_url = track
        .album
        .as_ref()
        .and_then(|a| a.images.first())
        .map(|i| i.url.as_str())
        .or(album_artwork)
        .map(|u| bounded(u, 2048));
    Some(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_used_until_shortly_before_they_expire() {
        assert_eq!(usable_for(3600), Duration::from_secs(3540));
        assert_eq!(usable_for(1), Duration::from_millis(900));
        assert_eq!(usable_for(0), Duration::ZERO);
        assert_eq!(usable_for(u64::MAX), Duration::from_secs(86_400 - 60));
    }

    #[test]
    fn credentials_and_tokens_do_not_print_their_secrets() {
        let credentials = SpotifyCredentials::new("the-client-id", "hunter2-secret");
        let shown = format!("{credentials:?}");
        assert!(shown.contains("the-client-id"));
        assert!(!shown.contains("hunter2"));
        let token = AccessToken("BQAH-live-token".into());
        assert!(!format!("{token:?}").contains("BQAH"));
    }

    #[test]
    fn playlist_entries_take_item_or_track_and_skip_the_rest() {
        let track = serde_json::json!({
            "id": "4uLU6hMCjMI75M1A2tKUQC", "name": "Never Gonna Give You Up", "type": "track",
            "artists": [{"name": "Rick Astley"}], "duration_ms": 213_573,
            "external_ids": {"isrc": "gbarl9300135"}, "album": {"images": [{"url": "https://i.scdn.co/a"}]}
        });
        let under_track = playlist_entry(&serde_json::json!({"is_local": false, "track": track})).unwrap();
        assert_eq!(under_track.isrc.as_deref(), Some("GBARL9300135"));
        assert_eq!(under_track.artwork_url.as_deref(), Some("https://i.scdn.co/a"));
        let under_item = playlist_entry(&serde_json::json!({"item": track, "track": true})).unwrap();
        assert_eq!(under_item, under_track);
        assert!(playlist_entry(&serde_json::json!({"track": null})).is_none());
        assert!(playlist_entry(&serde_json::json!({"is_local": true, "track": track})).is_none());
        let episode = serde_json::json!({"track": {"id": "4uLU6hMCjMI75M1A2tKUQC", "name": "Ep", "type": "episode"}});
        assert!(playlist_entry(&episode).is_none());
    }
}
