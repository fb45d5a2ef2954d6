//! Spotify, Deezer, Apple Music and YouTube links as a [`Source`]: the link
//! is read as metadata ([`LinkResolver`]) and each of its tracks matched to a
//! playable one of the enabled catalogs ([`match_collection`]). Nothing of
//! those services is ever streamed: the queue gets the matched tracks'
//! locators (`audius:…`), opened by the source that owns them.
//!
//! What a link resolved to and what each track matched (by the
//! [`TrackMatcher`]) are kept in the [`TrackCache`] for a while, so pasting the same playlist twice in a row
//! asks the services once. The cache is a help, never a requirement: a read
//! or write that fails is logged and the lookup goes on without it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use timmybot_core::{Clock, TrackCache};
use timmybot_sources::links::{Collection, LinkKind, LinkResolver, ServiceLink, parse_link};
use timmybot_sources::matching::MatchRules;
use timmybot_sources::{Catalog, LookupError, TrackMeta};
use tracing::debug;

use crate::SourceError;
use crate::registry::{Lookup, Query, Source};
use crate::source::{LinkOpener, ResolveNotes, ResolvedSource};
use crate::track_matcher::{TrackMatcher, to_json};

/// How long what a link holds is kept: playlists change, but not between
/// two pastes of the same link in an evening.
pub const LINK_TTL: Duration = Duration::from_secs(6 * 3600);
/// The most tracks of one link matched: each costs a catalog search, and
/// a queue of more is never what a member meant. The rest are counted in
/// [`ResolveNotes::skipped`].
pub const MAX_MATCHED_TRACKS: usize = 200;

/// What a member is told when no catalog is on to match links against.
const NO_CATALOG: &str = "Links of music services are played from a catalog such as Audius, and none is on here.";

/// Music-service links (Spotify, Deezer, Apple Music, YouTube videos)
/// matched to tracks of the playable catalogs.
///
/// Register it after the sources whose catalogs it is given, so their own
/// links and locators stay theirs. YouTube links reach it only while yt-dlp
/// is off: [`SourceResolver`](crate::SourceResolver) gives them to yt-dlp
/// first when it is configured.
#[derive(Clone)]
pub struct ServiceLinkSource {
    /// `None`: service links are turned off, and refused with that said.
    resolver: Option<LinkResolver>,
    /// Matches the links' tracks; its cache keeps what links hold too.
    matcher: TrackMatcher,
}

impl ServiceLinkSource {
    /// Links read with `resolver` and matched in `catalogs`, asked in order.
    pub fn new(resolver: LinkResolver, catalogs: Vec<Arc<dyn Catalog>>) -> Self {
        Self { resolver: Some(resolver), matcher: TrackMatcher::new(catalogs) }
    }

    /// Service links turned off by the deployer: they are still recognised,
    /// and refused with [`LookupError::Disabled`] naming the service, rather
    /// than fetched as if they were audio.
    pub fn disabled() -> Self {
        Self { resolver: None, matcher: TrackMatcher::new(Vec::new()) }
    }

    /// Keeps what links resolved to and what tracks matched in `cache`.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn TrackCache>) -> Self {
        self.matcher = self.matcher.with_cache(cache);
        self
    }

    /// Reads the time for cache entries from `clock` (tests move it on).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.matcher = self.matcher.with_clock(clock);
        self
    }

    /// Matches with `rules` instead of [`MatchRules::default`].
    #[must_use]
    pub fn with_rules(mut self, rules: MatchRules) -> Self {
        self.matcher = self.matcher.with_rules(rules);
        self
    }

    /// Whether links are read (false: turned off).
    pub fn is_enabled(&self) -> bool {
        self.resolver.is_some()
    }

    /// What `link` holds, from the cache or its service.
    async fn collection(&self, resolver: &LinkResolver, link: &ServiceLink) -> Result<Collection, SourceError> {
        let key = link_key(link);
        if let Some(cached) = self.matcher.cache_get::<CachedCollection>(&key).await {
            debug!(service = link.service_name(), "link read from the track cache");
            return Ok(cached.into_collection());
        }
        let collection = resolver.resolve(link).await?;
        self.matcher.cache_put(key, to_json(&CachedCollection::of(&collection)), LINK_TTL).await;
        Ok(collection)
    }
}

#[async_trait]
impl Source for ServiceLinkSource {
    fn name(&self) -> &'static str {
        "Service links"
    }

    fn claims(&self, query: &Query<'_>) -> bool {
        matches!(query, Query::Link(url) if parse_link(url).is_some())
    }

    async fn lookup(&self, query: &Query<'_>) -> Result<Vec<TrackMeta>, SourceError> {
        Ok(self.lookup_with_notes(query).await?.tracks)
    }

    async fn lookup_with_notes(&self, query: &Query<'_>) -> Result<Lookup, SourceError> {
        let Query::Link(url) = query else { return Err(SourceError::Unsupported) };
        let link = parse_link(url).ok_or(SourceError::Unsupported)?;
        let resolver = self.resolver.as_ref().ok_or(LookupError::Disabled(link.service_name()))?;
        if !self.matcher.has_catalogs() {
            return Err(LookupError::Unsupported(NO_CATALOG).into());
        }
        let collection = self.collection(resolver, &link).await?;
        let mut skipped = collection.total.saturating_sub(collection.tracks.len());
        let mut wanted = collection.tracks;
        if wanted.len() > MAX_MATCHED_TRACKS {
            skipped += wanted.len() - MAX_MATCHED_TRACKS;
            wanted.truncate(MAX_MATCHED_TRACKS);
        }
        if wanted.is_empty() {
            return Err(SourceError::NotFound);
        }
        let (found, rate_limited) = self.matcher.matches(&wanted).await;
        let unmatched: Vec<String> =
            wanted.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(w, _)| w.display_title()).collect();
        let tracks: Vec<TrackMeta> = found.into_iter().flatten().collect();
        if tracks.is_empty() {
            if rate_limited {
                return Err(LookupError::RateLimited { retry_after: None }.into());
            }
            return Err(SourceError::NotMatched { looked_for: wanted.len(), what: what_it_names(&link) });
        }
        let truncated = collection.truncated;
        let collection = is_collection(&link).then_some(collection.title);
        Ok(Lookup { tracks, notes: ResolveNotes { collection, unmatched, skipped, truncated } })
    }

    /// Never reached for a matched track: its locator belongs to the
    /// catalog's source, which the registry opens it with.
    async fn open(&self, _track: &TrackMeta, _links: &LinkOpener) -> Result<ResolvedSource, SourceError> {
        Err(SourceError::Unsupported)
    }
}

impl std::fmt::Debug for ServiceLinkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceLinkSource")
            .field("enabled", &self.is_enabled())
            .field("matcher", &self.matcher)
            .finish_non_exhaustive()
    }
}

/// Whether `link` names an album or playlist (its name is said in the
/// reply) rather than one track.
fn is_collection(link: &ServiceLink) -> bool {
    match link {
        ServiceLink::Spotify { kind, .. } | ServiceLink::Deezer { kind, .. } => *kind != LinkKind::Track,
        ServiceLink::AppleMusic { kind, track, .. } => *kind != LinkKind::Track && track.is_none(),
        ServiceLink::YouTube { .. } => false,
    }
}

/// The word for what `link` names, as the member is told.
fn what_it_names(link: &ServiceLink) -> &'static str {
    let kind = match link {
        ServiceLink::YouTube { .. } => return "video",
        ServiceLink::AppleMusic { track: Some(_), .. } => return "track",
        ServiceLink::Spotify { kind, .. } | ServiceLink::Deezer { kind, .. } | ServiceLink::AppleMusic { kind, .. } => {
            kind
        }
    };
    match kind {
        LinkKind::Track => "track",
        LinkKind::Album => "album",
        LinkKind::Playlist => "playlist",
    }
}

fn kind_name(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Track => "track",
        LinkKind::Album => "album",
        LinkKind::Playlist => "playlist",
    }
}

/// The cache key of what `link` holds: `link:v1:` and the link in a
/// canonical form (ids only, so tracking parameters and hosts do not split
/// entries). The ids were checked by [`parse_link`], so no `:` is inside.
pub fn link_key(link: &ServiceLink) -> String {
    let canonical = match link {
        ServiceLink::Spotify { kind, id } => format!("spotify:{}:{id}", kind_name(*kind)),
        ServiceLink::Deezer { kind, id } => format!("deezer:{}:{id}", kind_name(*kind)),
        ServiceLink::AppleMusic { kind, id, storefront, track } => match track {
            Some(song) => format!("apple:{storefront}:{}:{id}:{song}", kind_name(*kind)),
            None => format!("apple:{storefront}:{}:{id}", kind_name(*kind)),
        },
        ServiceLink::YouTube { video, playlist } => {
            format!("youtube:{}:{}", video.as_deref().unwrap_or("-"), playlist.as_deref().unwrap_or("-"))
        }
    };
    format!("link:v1:{canonical}")
}

/// A [`Collection`] as the cache keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct CachedCollection {
    title: String,
    tracks: Vec<TrackMeta>,
    total: usize,
    truncated: bool,
}

impl CachedCollection {
    fn of(collection: &Collection) -> Self {
        Self {
            title: collection.title.clone(),
            tracks: collection.tracks.clone(),
            total: collection.total,
            truncated: collection.truncated,
        }
    }

    fn into_collection(self) -> Collection {
        Collection { title: self.title, tracks: self.tracks, total: self.total, truncated: self.truncated }
    }
}

#[cfg(test)]
mod tests {
    use timmybot_sources::Origin;

    use super::*;
    use crate::track_matcher::match_key;

    fn link(s: &str) -> ServiceLink {
        parse_link(&url::Url::parse(s).unwrap()).unwrap()
    }

    #[test]
    fn link_keys_are_canonical_whatever_the_form_of_the_link() {
        let id = "37i9dQZF1DXcBWIGoYBM5M";
        let plain = link_key(&link(&format!("https://open.spotify.com/playlist/{id}")));
        assert_eq!(plain, format!("link:v1:spotify:playlist:{id}"));
        assert_eq!(link_key(&link(&format!("https://open.spotify.com/intl-de/playlist/{id}?si=abc"))), plain);
        assert_eq!(link_key(&link(&format!("spotify:playlist:{id}"))), plain);
        assert_eq!(link_key(&link("https://www.deezer.com/fr/track/3135556")), "link:v1:deezer:track:3135556");
        assert_eq!(
            link_key(&link("https://music.apple.com/gb/album/x/1440857781?i=1440857786")),
            "link:v1:apple:gb:album:1440857781:1440857786"
        );
        assert_ne!(
            link_key(&link("https://music.apple.com/gb/album/x/1440857781")),
            link_key(&link("https://music.apple.com/us/album/x/1440857781")),
            "stores have catalogs of their own"
        );
        assert_eq!(link_key(&link("https://youtu.be/dQw4w9WgXcQ?si=x")), "link:v1:youtube:dQw4w9WgXcQ:-");
    }

    #[test]
    fn match_keys_prefer_the_isrc_and_bucket_durations() {
        let mut track = TrackMeta::new(Origin::Spotify, "x", "Hey Jude - Remastered 2015");
        track.artist = Some("The Beatles".into());
        track.duration_ms = Some(431_000);
        assert_eq!(match_key(&track), "match:v1:the beatles|hey jude|86");
        let mut close = track.clone();
        close.title = "Hey Jude".into();
        close.duration_ms = Some(433_000);
        assert_eq!(match_key(&close), match_key(&track), "the same recording, written another way");
        let mut live = track.clone();
        live.duration_ms = Some(500_000);
        assert_ne!(match_key(&live), match_key(&track));
        track.isrc = Some("gbaye0601648".into());
        assert_eq!(match_key(&track), "match:v1:isrc:GBAYE0601648");
    }

    #[test]
    fn only_albums_and_playlists_are_named_and_each_kind_has_its_word() {
        assert!(is_collection(&link("https://www.deezer.com/album/7")));
        assert!(!is_collection(&link("https://www.deezer.com/track/7")));
        assert!(!is_collection(&link("https://music.apple.com/us/album/x/1?i=2")));
        assert_eq!(what_it_names(&link("https://music.apple.com/us/album/x/1?i=2")), "track");
        assert_eq!(what_it_names(&link("https://music.apple.com/us/album/x/1")), "album");
        assert_eq!(what_it_names(&link("https://youtu.be/dQw4w9WgXcQ")), "video");
    }

    #[test]
    fn the_nothing_matched_messages_count_what_was_looked_for() {
        let twelve = SourceError::NotMatched { looked_for: 12, what: "playlist" };
        assert_eq!(twelve.user_message(), "None of the 12 tracks of that playlist were found on the playable sources.");
        let one = SourceError::NotMatched { looked_for: 1, what: "track" };
        assert_eq!(one.user_message(), "That track was not found on the playable sources.");
        let album = SourceError::NotMatched { looked_for: 1, what: "album" };
        assert_eq!(album.user_message(), "The only track of that album was not found on the playable sources.");
    }
}
