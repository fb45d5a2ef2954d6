//! Matching tracks known only by their metadata (title, artist, length,
//! ISRC: a Spotify playlist's, an imported file's) to playable tracks of
//! the enabled catalogs, through the [`TrackCache`]. Service links
//! ([`crate::ServiceLinkSource`]) and members' imported playlists share it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timmybot_core::{Clock, SystemClock, TrackCache};
use timmybot_sources::matching::{MatchRules, match_collection, normalize};
use timmybot_sources::{Catalog, TrackMeta};
use tracing::warn;

/// How long a match is kept: a catalog's track keeps its id.
pub const MATCH_TTL: Duration = Duration::from_secs(7 * 86_400);
/// How long "nothing matched" is kept: shorter, since the track may be
/// uploaded to a catalog any day.
pub const MISS_TTL: Duration = Duration::from_secs(3600);
/// How many catalog searches run at once for one collection.
const MATCH_CONCURRENCY: usize = 4;
/// How many cache reads or writes run at once for one collection.
const CACHE_CONCURRENCY: usize = 8;
/// The width of the duration buckets in match keys: tracks a few seconds
/// apart share an entry more often than not, far apart ones never.
const DURATION_BUCKET_MS: u64 = 5_000;

/// Matches metadata to the playable tracks of `catalogs`, asked in order
/// (ISRC first, then title, artist and length; see
/// `timmybot_sources::matching`), remembering what matched in a cache.
#[derive(Clone)]
pub struct TrackMatcher {
    catalogs: Vec<Arc<dyn Catalog>>,
    cache: Option<Arc<dyn TrackCache>>,
    clock: Arc<dyn Clock>,
    rules: MatchRules,
}

impl TrackMatcher {
    /// Matches in `catalogs`, asked in order, without a cache.
    pub fn new(catalogs: Vec<Arc<dyn Catalog>>) -> Self {
        Self { catalogs, cache: None, clock: Arc::new(SystemClock), rules: MatchRules::default() }
    }

    /// Keeps what tracks matched in `cache`.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn TrackCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Reads the time for cache entries from `clock` (tests move it on).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Matches with `rules` instead of [`MatchRules::default`].
    #[must_use]
    pub fn with_rules(mut self, rules: MatchRules) -> Self {
        self.rules = rules;
        self
    }

    /// Whether there is any catalog to match in.
    pub fn has_catalogs(&self) -> bool {
        !self.catalogs.is_empty()
    }

    /// The playable track each of `tracks` matched (`None`: nothing), in
    /// order, and whether a catalog asked us to slow down.
    pub async fn matches(&self, tracks: &[TrackMeta]) -> (Vec<Option<TrackMeta>>, bool) {
        let keys: Vec<String> = tracks.iter().map(match_key).collect();
        let cached: Vec<Option<CachedMatch>> = stream::iter(keys.clone())
            .map(|key| async move { self.cache_get::<CachedMatch>(&key).await })
            .buffered(CACHE_CONCURRENCY)
            .collect()
            .await;
        let todo: Vec<usize> = (0..tracks.len()).filter(|i| cached[*i].is_none()).collect();
        let mut results: Vec<Option<TrackMeta>> = cached.into_iter().map(|c| c.and_then(|c| c.found)).collect();
        if todo.is_empty() {
            return (results, false);
        }
        let wanted: Vec<TrackMeta> = todo.iter().map(|i| tracks[*i].clone()).collect();
        let catalogs: Vec<&dyn Catalog> = self.catalogs.iter().map(|c| c.as_ref()).collect();
        let report = match_collection(&wanted, &catalogs, &self.rules, MATCH_CONCURRENCY).await;
        let mut fresh: Vec<(usize, Option<TrackMeta>)> = Vec::new();
        for (j, found) in report.matched {
            results[todo[j]] = Some(found.clone());
            fresh.push((todo[j], Some(found)));
        }
        // A miss is only remembered when every search answered: after a
        // failure the track may well exist.
        if report.errors == 0 {
            fresh.extend(todo.iter().filter(|i| results[**i].is_none()).map(|i| (*i, None)));
        }
        stream::iter(fresh)
            .map(|(i, found)| {
                let ttl = if found.is_some() { MATCH_TTL } else { MISS_TTL };
                self.cache_put(keys[i].clone(), to_json(&CachedMatch { found }), ttl)
            })
            .buffer_unordered(CACHE_CONCURRENCY)
            .collect::<Vec<()>>()
            .await;
        (results, report.rate_limited)
    }

    pub(crate) async fn cache_get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let cache = self.cache.as_ref()?;
        match cache.get(key, self.clock.now_unix_millis()).await {
            Ok(Some(text)) => match serde_json::from_str(&text) {
                Ok(value) => Some(value),
                Err(error) => {
                    warn!(%error, "a track cache entry does not parse; resolving afresh");
                    None
                }
            },
            Ok(None) => None,
            Err(error) => {
                warn!(%error, "reading the track cache failed; resolving afresh");
                None
            }
        }
    }

    pub(crate) async fn cache_put(&self, key: String, text: Option<String>, ttl: Duration) {
        let (Some(cache), Some(text)) = (self.cache.as_ref(), text) else { return };
        let expires_at =
            self.clock.now_unix_millis().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        if let Err(error) = cache.put(&key, &text, expires_at).await {
            warn!(%error, "writing the track cache failed; the next play resolves afresh");
        }
    }
}

impl std::fmt::Debug for TrackMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackMatcher")
            .field("catalogs", &self.catalogs.iter().map(|c| c.name()).collect::<Vec<_>>())
            .field("cache", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

/// `value` as JSON for the cache; `None` (logged) in the unlikely case it
/// cannot be written.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).map_err(|error| warn!(%error, "a track cache entry could not be written as JSON")).ok()
}

/// The cache key of what `track` matched: `match:v1:` and its ISRC, or its
/// normalized artist, title and a duration bucket when it has none.
pub fn match_key(track: &TrackMeta) -> String {
    if let Some(isrc) = track.isrc.as_deref().filter(|i| !i.is_empty()) {
        return format!("match:v1:isrc:{}", isrc.to_ascii_uppercase());
    }
    // Titles and artists are bounded by the link clients (300 characters),
    // so the key stays well inside the store's limit.
    let artist = normalize(track.artist.as_deref().unwrap_or_default());
    let title = normalize(&track.title);
    let bucket = track.duration_ms.map_or_else(|| "-".to_owned(), |ms| (ms / DURATION_BUCKET_MS).to_string());
    format!("match:v1:{artist}|{title}|{bucket}")
}

/// What a track matched (`None`: nothing), as the cache keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct CachedMatch {
    found: Option<TrackMeta>,
}
