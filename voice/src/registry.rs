//! The [`Source`] trait: one kind of place tracks come from, as the
//! [`SourceResolver`](crate::SourceResolver) registry asks it.

use async_trait::async_trait;
use timmybot_sources::{Catalog, TrackMeta};

use crate::SourceError;
use crate::source::{LinkOpener, ResolveNotes, ResolvedSource};

/// What a member's query is, before any source looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query<'a> {
    /// An absolute http(s) link.
    Link(&'a url::Url),
    /// A source locator the player stores, `scheme:rest` (`audius:D7KyD`,
    /// `radio:<station uuid>`, `lib:<file id>`); also how a chosen
    /// autocomplete or search result comes back.
    Locator {
        /// The source's scheme.
        scheme: &'a str,
        /// What follows the colon.
        rest: &'a str,
    },
    /// Anything else: a media path or words to search for.
    Text(&'a str),
}

/// The schemes stored as locators. Only these parse as
/// [`Query::Locator`], so a member typing "note: this" is searched for.
pub const LOCATOR_SCHEMES: &[&str] = &["audius", "radio", crate::library::LIBRARY_SCHEME];

impl<'a> Query<'a> {
    /// Sorts `query` (trimmed). Links are parsed once, by the caller, into
    /// `link`; this borrows it.
    pub fn classify(query: &'a str, link: Option<&'a url::Url>) -> Self {
        let query = query.trim();
        if let Some(url) = link {
            return Self::Link(url);
        }
        if let Some((scheme, rest)) = query.split_once(':')
            && LOCATOR_SCHEMES.contains(&scheme)
            && !rest.trim().is_empty()
        {
            return Self::Locator { scheme, rest: rest.trim() };
        }
        Self::Text(query)
    }
}

/// What a lookup found: the tracks in order, and what the member is told
/// besides (a collection's name, tracks that matched nothing playable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The tracks, in order; each carries the locator it is opened by.
    pub tracks: Vec<TrackMeta>,
    /// What the reply says besides what was queued.
    pub notes: ResolveNotes,
}

/// One kind of place tracks come from.
///
/// A source claims the queries it understands, looks them up into tracks
/// with metadata (one for a track, many for a playlist) and opens a track
/// it looked up, through the [`LinkOpener`] (so its audio is fetched under
/// the outbound policy like any link). Searchable sources also offer a
/// [`Catalog`].
#[async_trait]
pub trait Source: Send + Sync {
    /// The source's name as members see it.
    fn name(&self) -> &'static str;

    /// Whether this source handles `query`.
    fn claims(&self, query: &Query<'_>) -> bool;

    /// The tracks `query` names, in order.
    ///
    /// # Errors
    /// [`SourceError::NotFound`] when it names nothing, or why it failed.
    async fn lookup(&self, query: &Query<'_>) -> Result<Vec<TrackMeta>, SourceError>;

    /// [`Source::lookup`] with the notes the reply carries; what the
    /// registry calls. Sources with something to say besides the tracks
    /// (the music-service links: the playlist's name, what matched nothing)
    /// override it; the others keep this default, which has no notes.
    ///
    /// # Errors
    /// As [`Source::lookup`].
    async fn lookup_with_notes(&self, query: &Query<'_>) -> Result<Lookup, SourceError> {
        Ok(Lookup { tracks: self.lookup(query).await?, notes: ResolveNotes::default() })
    }

    /// Opens `track` (one this source looked up or found) for playing. The
    /// returned source's `source` is what the queue stores. A track whose
    /// locator another registered source claims (a matched one) is opened
    /// by that source instead.
    ///
    /// # Errors
    /// Why it could not be opened.
    async fn open(&self, track: &TrackMeta, links: &LinkOpener) -> Result<ResolvedSource, SourceError>;

    /// The catalog plain-text searches go to, when this source has one.
    fn catalog(&self) -> Option<&dyn Catalog> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_schemes_are_locators() {
        assert_eq!(Query::classify("audius:D7KyD", None), Query::Locator { scheme: "audius", rest: "D7KyD" });
        assert_eq!(Query::classify(" radio: jazz fm ", None), Query::Locator { scheme: "radio", rest: "jazz fm" });
        assert_eq!(Query::classify("note: this", None), Query::Text("note: this"));
        assert_eq!(Query::classify("lib:0123abcd", None), Query::Locator { scheme: "lib", rest: "0123abcd" });
        assert_eq!(Query::classify("./lib:x.mp3", None), Query::Text("./lib:x.mp3"));
        assert_eq!(Query::classify("radio:", None), Query::Text("radio:"));
        let url = url::Url::parse("https://audius.co/a/b").unwrap();
        assert_eq!(Query::classify("https://audius.co/a/b", Some(&url)), Query::Link(&url));
    }
}
