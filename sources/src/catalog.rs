//! A catalog that can be searched for playable tracks.

use async_trait::async_trait;

use crate::{LookupError, TrackMeta};

/// A searchable source of playable tracks (Audius, the media folder, …).
///
/// The matcher turns a metadata-only track (a Spotify, Apple Music or Deezer
/// entry) into a playable one by searching the enabled catalogs, and plain
/// text in `/play` is a search over them too.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// The catalog's name as members see it ("Audius").
    fn name(&self) -> &'static str;

    /// Up to `limit` playable tracks matching `query`, best first. Every
    /// track returned has a [`TrackMeta::locator`].
    ///
    /// # Errors
    /// A [`LookupError`] when the catalog could not be searched.
    async fn search(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError>;
}
