//! What the interactions handler searches with: suggestions as a member
//! types, and `/search`'s results.

use std::time::Duration;

use crate::audius::Audius;
use crate::radio_browser::RadioBrowser;
use crate::{Catalog, LookupError, TrackMeta};

/// How long a search may take before the answer goes out without it:
/// Discord wants an autocomplete answer within 3 seconds, and the handler
/// needs some of them for itself.
pub const SEARCH_TIMEOUT: Duration = Duration::from_millis(2_000);

/// The enabled searchable sources: tracks (Audius) and stations (Radio
/// Browser), each optional.
#[derive(Debug, Clone, Default)]
pub struct SourceSearch {
    audius: Option<Audius>,
    radio: Option<RadioBrowser>,
    timeout: Option<Duration>,
}

impl SourceSearch {
    /// Searches nothing until sources are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Searches Audius for tracks.
    #[must_use]
    pub fn with_audius(mut self, audius: Audius) -> Self {
        self.audius = Some(audius);
        self
    }

    /// Searches the Radio Browser directory for stations.
    #[must_use]
    pub fn with_radio(mut self, radio: RadioBrowser) -> Self {
        self.radio = Some(radio);
        self
    }

    /// Gives up on a search after `timeout` instead of [`SEARCH_TIMEOUT`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn deadline(&self) -> Duration {
        self.timeout.unwrap_or(SEARCH_TIMEOUT)
    }

    /// Whether any track source is enabled.
    pub fn has_tracks(&self) -> bool {
        self.audius.is_some()
    }

    /// Up to `limit` playable tracks for `query`.
    ///
    /// # Errors
    /// [`LookupError::Disabled`] when no track source is on; the source's
    /// error, or [`LookupError::RateLimited`] when it took too long.
    pub async fn tracks(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
        let audius = self.audius.as_ref().ok_or(LookupError::Disabled("Search"))?;
        tokio::time::timeout(self.deadline(), audius.search(query, limit))
            .await
            .map_err(|_| LookupError::RateLimited { retry_after: None })?
    }

    /// Up to `limit` stations for `query` (a name, a tag or a country), as
    /// live tracks with `radio:<uuid>` locators.
    ///
    /// # Errors
    /// [`LookupError::Disabled`] when the directory is off; its error, or
    /// [`LookupError::RateLimited`] when it took too long.
    pub async fn stations(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
        let radio = self.radio.as_ref().ok_or(LookupError::Disabled("Radio"))?;
        let stations = tokio::time::timeout(self.deadline(), radio.search(query, limit))
            .await
            .map_err(|_| LookupError::RateLimited { retry_after: None })??;
        Ok(stations.iter().map(crate::radio_browser::Station::to_meta).collect())
    }
}
