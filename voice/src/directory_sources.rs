//! The sources backed by an open directory or catalog: Radio Browser's
//! stations and Audius's tracks. Their lookups live in `timmybot-sources`
//! (no songbird there, so the interactions Lambda searches with the same
//! clients); these adapters only add opening the audio.

use async_trait::async_trait;
use timmybot_sources::audius::{self, Audius, AudiusItem};
use timmybot_sources::radio_browser::{self, RadioBrowser};
use timmybot_sources::{Catalog, TrackMeta};
use tracing::debug;

use crate::SourceError;
use crate::registry::{Query, Source};
use crate::source::{LinkOpener, ResolvedSource};

/// Stations of the Radio Browser directory: `radio:<uuid>` (a chosen
/// station) or `radio:<words>` (the best match by name, tag or country).
#[derive(Debug, Clone)]
pub struct RadioSource {
    directory: RadioBrowser,
}

impl RadioSource {
    /// Stations looked up in `directory`.
    pub fn new(directory: RadioBrowser) -> Self {
        Self { directory }
    }
}

#[async_trait]
impl Source for RadioSource {
    fn name(&self) -> &'static str {
        "Radio Browser"
    }

    fn claims(&self, query: &Query<'_>) -> bool {
        matches!(query, Query::Locator { scheme: "radio", .. })
    }

    async fn lookup(&self, query: &Query<'_>) -> Result<Vec<TrackMeta>, SourceError> {
        let Query::Locator { rest, .. } = query else { return Err(SourceError::Unsupported) };
        if radio_browser::is_uuid(rest) {
            return Ok(vec![self.directory.station(rest).await?.to_meta()]);
        }
        let best = self.directory.search(rest, 1).await?.into_iter().next().ok_or(SourceError::NotFound)?;
        Ok(vec![best.to_meta()])
    }

    async fn open(&self, track: &TrackMeta, links: &LinkOpener) -> Result<ResolvedSource, SourceError> {
        // The directory asks clients to count a play; its answer also names
        // the stream as it is now.
        let url = match self.directory.count_click(&track.id).await {
            Ok(Some(url)) => url,
            Ok(None) => self.directory.station(&track.id).await?.url_resolved,
            Err(e) => {
                debug!(error = %e, "counting the click failed; playing the listed stream");
                self.directory.station(&track.id).await?.url_resolved
            }
        };
        let mut opened = links.open_stream(&url, track.title.clone(), Some(track.title.clone())).await?;
        opened.source = format!("radio:{}", track.id);
        // A station is live whatever its stream's container claims.
        opened.duration = None;
        Ok(opened)
    }
}

/// Tracks of the Audius catalog: `audius:<id>`, audius.co track and
/// playlist links, and plain-text search.
#[derive(Debug, Clone)]
pub struct AudiusSource {
    catalog: Audius,
}

impl AudiusSource {
    /// Tracks of `catalog`.
    pub fn new(catalog: Audius) -> Self {
        Self { catalog }
    }
}

#[async_trait]
impl Source for AudiusSource {
    fn name(&self) -> &'static str {
        "Audius"
    }

    fn claims(&self, query: &Query<'_>) -> bool {
        match query {
            Query::Locator { scheme, .. } => *scheme == "audius",
            Query::Link(url) => audius::is_audius_link(url),
            Query::Text(_) => false,
        }
    }

    async fn lookup(&self, query: &Query<'_>) -> Result<Vec<TrackMeta>, SourceError> {
        match query {
            Query::Locator { rest, .. } => Ok(vec![self.catalog.track(rest).await?]),
            Query::Link(url) => match self.catalog.resolve(url).await? {
                AudiusItem::Track(track) => Ok(vec![track]),
                AudiusItem::Playlist { tracks, .. } if tracks.is_empty() => Err(SourceError::NotFound),
                AudiusItem::Playlist { tracks, .. } => Ok(tracks),
            },
            Query::Text(_) => Err(SourceError::Unsupported),
        }
    }

    async fn open(&self, track: &TrackMeta, links: &LinkOpener) -> Result<ResolvedSource, SourceError> {
        let id = track.locator.as_deref().and_then(audius::parse_locator).unwrap_or(&track.id);
        let url = self.catalog.stream_url(id);
        let mut opened = links.open_url(&url, track.title.clone(), Some(track.display_title())).await?;
        opened.source = format!("audius:{id}");
        if opened.duration.is_none() {
            opened.duration = track.duration_ms.map(std::time::Duration::from_millis);
        }
        Ok(opened)
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(&self.catalog)
    }
}
