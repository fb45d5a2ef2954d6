//! Reading a linked member's Spotify library with their access token: the
//! display name (`/me`), their playlists (`/me/playlists`, then each one's
//! `/playlists/{id}/items`) and their liked songs (`/me/tracks`), as
//! metadata only.
//!
//! Paging follows the `next` Spotify sends, but only back to the API's own
//! origin: a page cannot send the member's token anywhere else. A 429 with
//! a short `Retry-After` is waited out (at most [`MAX_RETRY_WAIT`], three
//! times a request); a quota refusal (`QUOTA_EXCEEDED`) and a long
//! `Retry-After` stop the read at once, told apart so the member hears the
//! right thing.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use timmybot_accounts::{ImportedPlaylist, ImportedTrack, MAX_IMPORT_TRACKS};
use timmybot_core::{LIKED_SONGS_PLAYLIST, MAX_PLAYLISTS_PER_MEMBER, Secret};
use timmybot_outbound::SafeHttpClient;
use timmybot_sources::links::spotify_playlist_entry;
use url::Url;

/// Spotify's Web API.
const SPOTIFY_API: &str = "https://api.spotify.com/v1/";

/// The longest `Retry-After` waited out; a longer one ends the read.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// How often one request is retried after a 429.
const MAX_RETRIES: usize = 3;

/// Entries a page asks for: Spotify's cap for these endpoints.
const PAGE_LIMIT: usize = 50;

/// Why a library read stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LibraryError {
    /// 401: the access token is expired or revoked (refresh, then retry).
    #[error("spotify refused the access token")]
    Unauthorized,
    /// The app is over its quota (`QUOTA_EXCEEDED`): not retried; the
    /// deployment's owner must raise it in Spotify's dashboard.
    #[error("the spotify app is over its quota")]
    QuotaExceeded,
    /// Rate limited for longer than is worth waiting.
    #[error("rate limited by spotify")]
    RateLimited {
        /// Spotify's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// 403: the member's account may not use this app (Development Mode
    /// serves only the users the deployer added).
    #[error("spotify refused this member for this app")]
    Forbidden,
    /// Anything else: a 5xx, a body that is not Spotify's, the network, a
    /// `next` that leaves the API.
    #[error("spotify answered http {0} without a usable body")]
    Unavailable(u16),
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotifyLibraryRead {
    /// The account's display name.
    pub display_name: Option<String>,
    /// The member's playlists, in Spotify's order, then the liked songs as
    /// one playlist named [`LIKED_SONGS_PLAYLIST`] (when there are any).
    pub playlists: Vec<ImportedPlaylist>,
    /// Playlists left out beyond [`MAX_PLAYLISTS_PER_MEMBER`].
    pub playlists_left_out: usize,
}

/// A member's Spotify library, read with their token.
#[derive(Clone)]
pub struct SpotifyLibrary {
    http: SafeHttpClient,
    api: Url,
}

impl std::fmt::Debug for SpotifyLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifyLibrary").field("api", &self.api.as_str()).finish_non_exhaustive()
    }
}

impl SpotifyLibrary {
    /// Reads through `http`.
    pub fn new(http: SafeHttpClient) -> Self {
        Self { http, api: Url::parse(SPOTIFY_API).expect("a valid URL") }
    }

    /// Talks to `base` (ending in `/v1/`) instead of Spotify (the tests'
    /// fake).
    #[must_use]
    pub fn with_api_base(mut self, base: Url) -> Self {
        self.api = base;
        self
    }

    /// The account's display name.
    ///
    /// # Errors
    /// As [`LibraryError`] says.
    pub async fn display_name(&self, token: &Secret) -> Result<Option<String>, LibraryError> {
        #[derive(Deserialize)]
        struct Me {
            display_name: Option<String>,
            id: Option<String>,
        }
        let body = self.get(token, self.endpoint("me")).await?;
        let me: Me = serde_json::from_slice(&body).map_err(|_| LibraryError::Unavailable(200))?;
        Ok(me.display_name.or(me.id).map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()))
    }

    /// The whole library: playlists (at most [`MAX_PLAYLISTS_PER_MEMBER`],
    /// leaving room for the liked songs), each with at most
    /// [`MAX_IMPORT_TRACKS`] tracks, and the liked songs.
    ///
    /// # Errors
    /// As [`LibraryError`] says; nothing partial is returned.
    pub async fn read(&self, token: &Secret) -> Result<SpotifyLibraryRead, LibraryError> {
        let display_name = self.display_name(token).await?;
        let listed = self.pages(token, self.paged("me/playlists"), usize::MAX).await?;
        let room = MAX_PLAYLISTS_PER_MEMBER - 1;
        let mut playlists = Vec::new();
        let mut left_out = 0;
        for simplified in &listed.items {
            let (Some(id), name) = (simplified.get("id").and_then(Value::as_str), simplified.get("name")) else {
                continue;
            };
            if !is_spotify_id(id) {
                continue;
            }
            if playlists.len() == room {
                left_out += 1;
                continue;
            }
            let name = name.and_then(Value::as_str).unwrap_or_default().trim().to_owned();
            let entries = self.pages(token, self.paged(&format!("playlists/{id}/items")), MAX_IMPORT_TRACKS).await?;
            playlists.push(imported(name, &entries));
        }
        let liked = self.pages(token, self.paged("me/tracks"), MAX_IMPORT_TRACKS).await?;
        let liked = imported(LIKED_SONGS_PLAYLIST.to_owned(), &liked);
        if !liked.tracks.is_empty() {
            playlists.push(liked);
        }
        Ok(SpotifyLibraryRead { display_name, playlists, playlists_left_out: left_out })
    }

    fn endpoint(&self, path: &str) -> Url {
        self.api.join(path).expect("a relative path joins")
    }

    fn paged(&self, path: &str) -> Url {
        let mut url = self.endpoint(path);
        url.query_pairs_mut().append_pair("limit", &PAGE_LIMIT.to_string());
        url
    }

    /// Every item of the paging object at `first`, up to `cap` (the rest
    /// only counted).
    async fn pages(&self, token: &Secret, first: Url, cap: usize) -> Result<Items, LibraryError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            items: Vec<Value>,
            next: Option<String>,
            total: Option<usize>,
        }
        let mut items = Vec::new();
        let mut beyond = 0;
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let body = self.get(token, url).await?;
            let page: Page = serde_json::from_slice(&body).map_err(|_| LibraryError::Unavailable(200))?;
            let room = cap - items.len();
            if page.items.len() > room {
                // The rest is counted from the total, not fetched.
                let total = page.total.unwrap_or(0).max(items.len() + page.items.len());
                beyond = total - items.len() - room;
                items.extend(page.items.into_iter().take(room));
                break;
            }
            items.extend(page.items);
            next = match page.next {
                Some(link) => Some(self.same_origin(&link)?),
                None => None,
            };
        }
        Ok(Items { items, beyond })
    }

    /// `link` when it is on the API's own scheme, host and port.
    fn same_origin(&self, link: &str) -> Result<Url, LibraryError> {
        let url = Url::parse(link).map_err(|_| LibraryError::Unavailable(200))?;
        if url.origin() != self.api.origin() {
            tracing::warn!(host = url.host_str().unwrap_or(""), "a Spotify page pointed off the API; stopped");
            return Err(LibraryError::Unavailable(200));
        }
        Ok(url)
    }

    async fn get(&self, token: &Secret, url: Url) -> Result<bytes::Bytes, LibraryError> {
        let mut retries = 0;
        loop {
            let request = self.http.request(reqwest::Method::GET, url.clone()).bearer_auth(token.expose());
            let fetched = match self.http.fetch(request).await {
                Ok(fetched) => fetched,
                Err(e) => {
                    tracing::warn!(error = %e, "a Spotify library request failed");
                    return Err(LibraryError::Unavailable(0));
                }
            };
            match fetched.status {
                200 => return Ok(fetched.body),
                401 => return Err(LibraryError::Unauthorized),
                403 => return Err(LibraryError::Forbidden),
                429 => {
                    if is_quota_refusal(&fetched.body) {
                        return Err(LibraryError::QuotaExceeded);
                    }
                    let retry_after = fetched.header("retry-after").and_then(|v| v.trim().parse().ok());
                    let retry_after = retry_after.map(Duration::from_secs);
                    match retry_after {
                        Some(wait) if wait <= MAX_RETRY_WAIT && retries < MAX_RETRIES => {
                            retries += 1;
                            tokio::time::sleep(wait).await;
                        }
                        _ => return Err(LibraryError::RateLimited { retry_after }),
                    }
                }
                status => return Err(LibraryError::Unavailable(status)),
            }
        }
    }
}

/// Items of a paged read and how many were past its cap.
struct Items {
    items: Vec<Value>,
    beyond: usize,
}

/// Whether a 429's body is Spotify's quota refusal rather than a burst.
fn is_quota_refusal(body: &[u8]) -> bool {
    let Ok(error) = serde_json::from_slice::<Value>(body) else { return false };
    let message = error.pointer("/error/message").or_else(|| error.pointer("/error/reason"));
    message.and_then(Value::as_str).is_some_and(|m| m.contains("QUOTA_EXCEEDED"))
}

fn is_spotify_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The entries as an imported playlist: tracks matched later, the rest
/// (episodes, local files, removed tracks, entries past the cap) counted.
fn imported(name: String, entries: &Items) -> ImportedPlaylist {
    let tracks: Vec<ImportedTrack> = entries
        .items
        .iter()
        .filter_map(spotify_playlist_entry)
        .map(|meta| ImportedTrack {
            spotify_uri: Some(format!("spotify:track:{}", meta.id)),
            title: meta.title,
            artist: meta.artist.unwrap_or_default(),
            album: None,
            duration_ms: meta.duration_ms,
            isrc: meta.isrc,
        })
        .collect();
    let skipped = entries.items.len() - tracks.len() + entries.beyond;
    ImportedPlaylist { name, tracks, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_quota_message_is_a_quota_refusal() {
        assert!(is_quota_refusal(br#"{"error":{"status":429,"message":"QUOTA_EXCEEDED"}}"#));
        assert!(!is_quota_refusal(br#"{"error":{"status":429,"message":"API rate limit exceeded"}}"#));
        assert!(!is_quota_refusal(b""));
        assert!(!is_quota_refusal(b"QUOTA_EXCEEDED"));
    }

    #[test]
    fn ids_are_spotify_shaped() {
        assert!(is_spotify_id("37i9dQZF1DXcBWIGoYBM5M"));
        assert!(!is_spotify_id("../me"));
        assert!(!is_spotify_id(""));
    }
}
