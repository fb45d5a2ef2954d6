//! The Audius open music API (<https://docs.audius.org>): a free catalog of
//! tracks artists uploaded, playable without an account.
//!
//! As the API asks: the hosts are found at run time (a GET of
//! `https://api.audius.co` lists them) and one is picked at random, every
//! request names the app (`app_name=`), a `429` is honoured rather than
//! retried in a loop, and what is played is credited to Audius
//! ([`attribution`]).
//!
//! Track fields are untrusted: titles are cleaned and bounded, ids and ISRCs
//! checked, and tracks Audius marks as not streamable, deleted or unlisted
//! are left out of lists.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::api::{check_status, parse_json, retry_after};
use crate::failover::Servers;
use crate::sanitize::{MAX_URL_LEN, clean_opt, clean_text, truncate_chars, web_url};
use crate::{ApiClient, Catalog, LookupError, Origin, TrackMeta};

/// Where the list of API hosts is fetched from.
pub const DISCOVERY_URL: &str = "https://api.audius.co";

/// The prefix of a track's locator: `audius:<id>`.
pub const LOCATOR_PREFIX: &str = "audius:";

/// The most tracks one search returns.
pub const MAX_RESULTS: usize = 25;

/// The most tracks read from one playlist or album.
pub const MAX_PLAYLIST_TRACKS: usize = 200;

/// The longest `Retry-After` waited out; a longer one is handed back as
/// [`LookupError::RateLimited`] so the member is told rather than kept
/// waiting.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);

/// The wait after a `429` that names no `Retry-After` in seconds.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);

/// The app name sent when the deployer configured an empty one.
const DEFAULT_APP_NAME: &str = "timmybot";
const MAX_APP_NAME_CHARS: usize = 64;
const MAX_QUERY_CHARS: usize = 100;
const MAX_HOSTS: usize = 32;
const MAX_ID_LEN: usize = 32;
const MAX_TITLE_CHARS: usize = 200;
const MAX_ARTIST_CHARS: usize = 100;
/// No track lasts a day; a larger duration is junk.
const MAX_DURATION_SECS: f64 = 86_400.0;

/// A client of the Audius API. Cheap to clone; clones share which host
/// answered last.
#[derive(Debug, Clone)]
pub struct Audius {
    api: ApiClient,
    app_name: String,
    hosts: Servers,
}

/// What an audius.co link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudiusItem {
    /// A track.
    Track(TrackMeta),
    /// A playlist or an album, with its playable tracks in order.
    Playlist {
        /// Its name, cleaned.
        title: String,
        /// Its playable tracks, at most [`MAX_PLAYLIST_TRACKS`].
        tracks: Vec<TrackMeta>,
    },
}

/// The Audius track id of an `audius:<id>` locator.
pub fn parse_locator(s: &str) -> Option<&str> {
    s.strip_prefix(LOCATOR_PREFIX).filter(|id| is_id(id))
}

/// Whether `url` is an audius.co link to a track, playlist or album (an
/// artist's page alone is not).
pub fn is_audius_link(url: &Url) -> bool {
    let host_fits = url.host_str().is_some_and(|h| {
        let h = h.trim_end_matches('.');
        h.eq_ignore_ascii_case("audius.co") || h.eq_ignore_ascii_case("www.audius.co")
    });
    let segments = url.path_segments().map_or(0, |s| s.filter(|p| !p.is_empty()).count());
    matches!(url.scheme(), "http" | "https") && host_fits && segments >= 2
}

/// The credit to show with a track played from Audius, as its API terms
/// ask; `None` for tracks from elsewhere.
pub fn attribution(meta: &TrackMeta) -> Option<String> {
    (meta.origin == Origin::Audius).then(|| "Streamed from Audius".to_owned())
}

impl Audius {
    /// A client of fixed hosts (a test's fake, or a host the deployer
    /// chose), tried in the order given. `app_name` is sent with every
    /// request; an empty one is replaced by `timmybot`.
    pub fn with_hosts(api: ApiClient, app_name: impl Into<String>, hosts: Vec<Url>) -> Self {
        Self { api, app_name: checked_app_name(app_name.into()), hosts: Servers::in_order(hosts) }
    }

    /// A client of the hosts `discovery_url` lists (`{"data": ["https://…",
    /// …]}`; [`DISCOVERY_URL`] in production), in a random order. Only hosts
    /// of the discovery URL's scheme are kept, so the public list gives
    /// https hosts only.
    ///
    /// # Errors
    /// [`LookupError::Fetch`] when the list cannot be fetched,
    /// [`LookupError::BadResponse`] when it is not a list or names no
    /// usable host.
    pub async fn discover(
        api: ApiClient,
        app_name: impl Into<String>,
        discovery_url: Url,
    ) -> Result<Self, LookupError> {
        let app_name = checked_app_name(app_name.into());
        let mut url = discovery_url.clone();
        url.query_pairs_mut().append_pair("app_name", &app_name);
        let listed: Envelope<Vec<Value>> = api.json(api.get(url)).await?;
        let mut hosts: Vec<Url> = Vec::new();
        for entry in listed.data.into_iter().take(MAX_HOSTS * 4) {
            let Some(host) = entry.as_str().and_then(web_url) else { continue };
            if host.scheme() != discovery_url.scheme() || host.query().is_some() {
                continue;
            }
            let mut host = host;
            host.set_path("/");
            host.set_fragment(None);
            if !hosts.contains(&host) {
                hosts.push(host);
            }
            if hosts.len() == MAX_HOSTS {
                break;
            }
        }
        if hosts.is_empty() {
            return Err(LookupError::BadResponse("the host list names no usable host".to_owned()));
        }
        Ok(Self { api, app_name, hosts: Servers::shuffled(hosts) })
    }

    /// The app name sent with every request.
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The hosts this client uses, the one tried first at the front.
    pub fn hosts(&self) -> Vec<Url> {
        self.hosts.attempts().map(|(_, url)| url.clone()).collect()
    }

    /// Up to `limit` (at most [`MAX_RESULTS`]) streamable tracks matching
    /// `query`, best first.
    ///
    /// # Errors
    /// A [`LookupError`] when the search failed. An empty query finds
    /// nothing, without asking.
    pub async fn search_tracks(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
        let query = truncate_chars(query.trim(), MAX_QUERY_CHARS).trim();
        let limit = limit.min(MAX_RESULTS);
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let limit_text = limit.to_string();
        let found: Vec<Value> =
            self.get_data("v1/tracks/search", &[("query", query), ("limit", limit_text.as_str())]).await?;
        Ok(listed_tracks(found, limit))
    }

    /// The track `id`.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] when `id` is not an Audius id (nothing is
    /// sent), the track does not exist, was deleted or cannot be streamed;
    /// [`LookupError::Private`] when it is unlisted; otherwise a
    /// [`LookupError`] when the lookup failed.
    pub async fn track(&self, id: &str) -> Result<TrackMeta, LookupError> {
        let id = checked_id(id)?;
        let track: Value = self.get_data(&format!("v1/tracks/{id}"), &[]).await?;
        single_track(track)
    }

    /// What the audius.co `link` names: a track, or a playlist or album with
    /// its tracks.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] when `link` is not an audius.co track,
    /// playlist or album link (nothing is sent), or Audius knows nothing
    /// playable there; otherwise as [`Audius::track`] and
    /// [`Audius::playlist_tracks`].
    pub async fn resolve(&self, link: &Url) -> Result<AudiusItem, LookupError> {
        if !is_audius_link(link) || link.as_str().len() > MAX_URL_LEN {
            return Err(LookupError::NotFound);
        }
        // Tracking parameters and fragments are not part of what is named.
        let mut link = link.clone();
        link.set_query(None);
        link.set_fragment(None);
        // Audius redirects to the resource (`/v1/tracks/{id}`, `/v1/playlists/{id}`),
        // which the client follows; a playlist answers as a list of one.
        let resolved: Value = self.get_data("v1/resolve", &[("url", link.as_str())]).await?;
        let resolved = match resolved {
            Value::Array(items) => items.into_iter().next().ok_or(LookupError::NotFound)?,
            other => other,
        };
        if resolved.get("playlist_name").is_some() {
            let id = resolved.get("id").and_then(Value::as_str).ok_or(LookupError::NotFound)?;
            let id = checked_id(id)?;
            let title = resolved
                .get("playlist_name")
                .and_then(Value::as_str)
                .map(|t| clean_text(t, MAX_TITLE_CHARS))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "Audius playlist".to_owned());
            let tracks = self.playlist_tracks(&id).await?;
            return Ok(AudiusItem::Playlist { title, tracks });
        }
        if resolved.get("title").is_some() {
            return single_track(resolved).map(AudiusItem::Track);
        }
        // An artist's page, or something this bot cannot play.
        Err(LookupError::NotFound)
    }

    /// The playable tracks of playlist or album `id`, in order, at most
    /// [`MAX_PLAYLIST_TRACKS`].
    ///
    /// # Errors
    /// [`LookupError::NotFound`] when `id` is not an Audius id (nothing is
    /// sent) or there is no such playlist; otherwise a [`LookupError`] when
    /// the lookup failed.
    pub async fn playlist_tracks(&self, id: &str) -> Result<Vec<TrackMeta>, LookupError> {
        let id = checked_id(id)?;
        let tracks: Vec<Value> = self.get_data(&format!("v1/playlists/{id}/tracks"), &[]).await?;
        Ok(listed_tracks(tracks, MAX_PLAYLIST_TRACKS))
    }

    /// The link the audio of track `id` streams from, on the host that
    /// answered last (it redirects to a content node).
    pub fn stream_url(&self, id: &str) -> Url {
        let base = self
            .hosts
            .preferred()
            .cloned()
            .unwrap_or_else(|| Url::parse(DISCOVERY_URL).expect("DISCOVERY_URL is a valid URL"));
        let mut url = base;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["v1", "tracks", id, "stream"]);
        }
        url.query_pairs_mut().append_pair("app_name", &self.app_name);
        url
    }

    /// GETs `path` with `params` and `app_name` and returns the `data` of the
    /// answer.
    ///
    /// A host that cannot be reached or answers 5xx is left for the next. A
    /// `429` is waited out once when its `Retry-After` is short
    /// ([`MAX_RETRY_WAIT`]) and handed back as [`LookupError::RateLimited`]
    /// otherwise, so a busy API is not hammered.
    async fn get_data<T: DeserializeOwned>(&self, path: &str, params: &[(&str, &str)]) -> Result<T, LookupError> {
        let mut last_error = LookupError::BadResponse("no Audius host is configured".to_owned());
        let mut waited = false;
        for (index, base) in self.hosts.attempts() {
            let mut url = base.join(path).map_err(|e| LookupError::BadResponse(format!("host url: {e}")))?;
            url.query_pairs_mut().extend_pairs(params).append_pair("app_name", &self.app_name);
            loop {
                let fetched = match self.api.send(self.api.get(url.clone())).await {
                    Ok(fetched) => fetched,
                    Err(LookupError::Fetch(e)) if e.is_retryable() => {
                        tracing::debug!(host = %base, error = %e, "audius host unreachable, trying the next");
                        last_error = LookupError::Fetch(e);
                        break;
                    }
                    Err(e) => return Err(e),
                };
                if fetched.status == 429 {
                    let asked = retry_after(&fetched);
                    let wait = asked.unwrap_or(DEFAULT_RETRY_WAIT);
                    if waited || wait > MAX_RETRY_WAIT {
                        return Err(LookupError::RateLimited { retry_after: asked });
                    }
                    waited = true;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                if fetched.status >= 500 {
                    tracing::debug!(host = %base, status = fetched.status, "audius host failed, trying the next");
                    last_error = check_status(&fetched).err().unwrap_or(last_error);
                    break;
                }
                check_status(&fetched)?;
                let envelope: Envelope<T> = parse_json(&fetched.body)?;
                self.hosts.answered(index);
                return Ok(envelope.data);
            }
        }
        Err(last_error)
    }
}

#[async_trait]
impl Catalog for Audius {
    fn name(&self) -> &'static str {
        "Audius"
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
        self.search_tracks(query, limit).await
    }
}

/// Every Audius answer: `{"data": …}`.
#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

fn checked_app_name(app_name: String) -> String {
    let cleaned = clean_text(&app_name, MAX_APP_NAME_CHARS);
    if cleaned.is_empty() { DEFAULT_APP_NAME.to_owned() } else { cleaned }
}

/// Whether `s` looks like an Audius id (a short hash id of letters and
/// digits).
fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn checked_id(id: &str) -> Result<String, LookupError> {
    let id = id.trim();
    if is_id(id) { Ok(id.to_owned()) } else { Err(LookupError::NotFound) }
}

/// A track as the API sends it; loosely typed so one odd entry does not
/// hide a whole list.
#[derive(Deserialize)]
struct RawTrack {
    id: String,
    title: String,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    user: Option<RawUser>,
    #[serde(default)]
    artwork: Option<Value>,
    #[serde(default)]
    isrc: Option<String>,
    #[serde(default)]
    is_streamable: Option<bool>,
    #[serde(default)]
    is_delete: Option<bool>,
    #[serde(default)]
    is_unlisted: Option<bool>,
}

#[derive(Deserialize)]
struct RawUser {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    handle: Option<String>,
}

/// Whether a track can be played by this bot: what Audius marks as gone or
/// not streamable cannot, and an unlisted one is the uploader's choice not to
/// be found.
enum Playable {
    Yes(TrackMeta),
    Unlisted,
    No,
}

fn track_from_json(value: Value) -> Playable {
    let Ok(raw) = serde_json::from_value::<RawTrack>(value) else { return Playable::No };
    let Ok(id) = checked_id(&raw.id) else { return Playable::No };
    if raw.is_streamable == Some(false) || raw.is_delete == Some(true) {
        return Playable::No;
    }
    let title = clean_text(&raw.title, MAX_TITLE_CHARS);
    if title.is_empty() {
        return Playable::No;
    }
    let mut meta = TrackMeta::new(Origin::Audius, id.clone(), title);
    meta.artist = raw.user.as_ref().and_then(|u| {
        clean_opt(u.name.as_deref(), MAX_ARTIST_CHARS).or_else(|| clean_opt(u.handle.as_deref(), MAX_ARTIST_CHARS))
    });
    meta.duration_ms = raw
        .duration
        .filter(|d| d.is_finite() && *d > 0.0 && *d <= MAX_DURATION_SECS)
        .map(|d| (d * 1000.0).round() as u64);
    meta.isrc = raw.isrc.as_deref().and_then(checked_isrc);
    meta.artwork_url =
        raw.artwork.as_ref().and_then(|a| a.get("480x480")).and_then(Value::as_str).and_then(web_url).map(String::from);
    meta.locator = Some(format!("{LOCATOR_PREFIX}{id}"));
    if raw.is_unlisted == Some(true) { Playable::Unlisted } else { Playable::Yes(meta) }
}

/// An ISRC: 12 letters and digits (2-letter country, 3 registrant, 7
/// digits), dashes and spaces dropped, upper-cased.
fn checked_isrc(raw: &str) -> Option<String> {
    if raw.len() > 32 {
        return None;
    }
    let isrc: String = raw.chars().filter(|c| !matches!(c, '-' | ' ')).collect::<String>().to_ascii_uppercase();
    let bytes = isrc.as_bytes();
    let fits = bytes.len() == 12
        && bytes[..2].iter().all(u8::is_ascii_alphabetic)
        && bytes[2..5].iter().all(u8::is_ascii_alphanumeric)
        && bytes[5..].iter().all(u8::is_ascii_digit);
    fits.then_some(isrc)
}

fn single_track(value: Value) -> Result<TrackMeta, LookupError> {
    match track_from_json(value) {
        Playable::Yes(meta) => Ok(meta),
        Playable::Unlisted => Err(LookupError::Private),
        Playable::No => Err(LookupError::NotFound),
    }
}

/// The listable tracks of a list answer, at most `limit`.
fn listed_tracks(values: Vec<Value>, limit: usize) -> Vec<TrackMeta> {
    values
        .into_iter()
        .take(limit * 2)
        .filter_map(|v| match track_from_json(v) {
            Playable::Yes(meta) => Some(meta),
            Playable::Unlisted | Playable::No => None,
        })
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_track_becomes_a_playable_audius_track() {
        let Playable::Yes(meta) = track_from_json(json!({
            "id": "D7KyD",
            "title": "  Hyper\nMantra ",
            "duration": 215,
            "user": {"name": "Camoufly", "handle": "camouflybeats"},
            "artwork": {"150x150": "https://a.example/150.jpg", "480x480": "https://a.example/480.jpg"},
            "isrc": "us-s1z-99-00001",
            "is_streamable": true,
        })) else {
            panic!("not playable")
        };
        assert_eq!(meta.origin, Origin::Audius);
        assert_eq!(meta.id, "D7KyD");
        assert_eq!(meta.title, "Hyper Mantra");
        assert_eq!(meta.artist.as_deref(), Some("Camoufly"));
        assert_eq!(meta.duration_ms, Some(215_000));
        assert_eq!(meta.isrc.as_deref(), Some("USS1Z9900001"));
        assert_eq!(meta.artwork_url.as_deref(), Some("https://a.example/480.jpg"));
        assert!(!meta.live);
        assert_eq!(meta.locator.as_deref(), Some("audius:D7KyD"));
        assert_eq!(parse_locator("audius:D7KyD"), Some("D7KyD"));
    }

    #[test]
    fn gone_unstreamable_or_odd_tracks_are_not_playable() {
        let base = json!({"id": "abc", "title": "T", "duration": 10});
        let with = |key: &str, value: Value| {
            let mut v = base.clone();
            v[key] = value;
            v
        };
        assert!(matches!(track_from_json(base.clone()), Playable::Yes(_)));
        assert!(matches!(track_from_json(with("is_streamable", json!(false))), Playable::No));
        assert!(matches!(track_from_json(with("is_delete", json!(true))), Playable::No));
        assert!(matches!(track_from_json(with("is_unlisted", json!(true))), Playable::Unlisted));
        assert!(matches!(track_from_json(with("id", json!("../etc"))), Playable::No));
        assert!(matches!(track_from_json(with("title", json!("\u{200B}"))), Playable::No));
        assert!(matches!(track_from_json(with("title", json!(7))), Playable::No));
        let Playable::Yes(odd) = track_from_json(with("duration", json!(1e12))) else { panic!("not playable") };
        assert_eq!(odd.duration_ms, None);
        assert_eq!(odd.artist, None);
        let listed = listed_tracks(vec![with("is_unlisted", json!(true)), base.clone(), base], 1);
        assert_eq!(listed.len(), 1);
    }

    #[test]
    fn isrcs_are_checked() {
        assert_eq!(checked_isrc("GBAYE0601498").as_deref(), Some("GBAYE0601498"));
        assert_eq!(checked_isrc("gb-aye-06-01498").as_deref(), Some("GBAYE0601498"));
        assert_eq!(checked_isrc("GBAYE060149"), None);
        assert_eq!(checked_isrc("12AYE0601498"), None);
        assert_eq!(checked_isrc("GBAYE06014X8"), None);
        assert_eq!(checked_isrc(""), None);
    }

    #[test]
    fn audius_links_are_tracks_playlists_and_albums_on_audius_co() {
        let link = |s: &str| Url::parse(s).unwrap();
        assert!(is_audius_link(&link("https://audius.co/camouflybeats/hypermantra-86216")));
        assert!(is_audius_link(&link("https://www.audius.co/artist/playlist/mix-123")));
        assert!(is_audius_link(&link("https://audius.co/artist/album/best-of-9")));
        assert!(!is_audius_link(&link("https://audius.co/camouflybeats")));
        assert!(!is_audius_link(&link("https://audius.co.evil.example/a/b")));
        assert!(!is_audius_link(&link("https://notaudius.co/a/b")));
        assert!(!is_audius_link(&link("ftp://audius.co/a/b")));
    }

    #[test]
    fn locators_name_an_id() {
        assert_eq!(parse_locator("audius:"), None);
        assert_eq!(parse_locator("audius:a/b"), None);
        assert_eq!(parse_locator("radio:abc"), None);
        assert_eq!(parse_locator(&format!("audius:{}", "a".repeat(33))), None);
    }

    #[test]
    fn attribution_is_for_audius_tracks_only() {
        let track = TrackMeta::new(Origin::Audius, "abc", "T");
        assert_eq!(attribution(&track).as_deref(), Some("Streamed from Audius"));
        assert_eq!(attribution(&TrackMeta::new(Origin::Link, "x", "T")), None);
    }

    #[test]
    fn app_names_are_one_bounded_line() {
        assert_eq!(checked_app_name(" ".to_owned()), "timmybot");
        assert_eq!(checked_app_name("my\nbot".to_owned()), "my bot");
        assert_eq!(checked_app_name("x".repeat(100)).len(), MAX_APP_NAME_CHARS);
    }
}
