//! Links of music services (Spotify, Deezer, Apple Music, YouTube) read as
//! metadata, never audio.
//!
//! [`parse_link`] says which service and item a pasted URL names; a
//! [`LinkResolver`] asks that service's public API what the item holds and
//! answers a [`Collection`] of metadata-only [`TrackMeta`]s (no
//! [`TrackMeta::locator`]), which [`crate::matching`] then turns into
//! playable tracks of the enabled catalogs.

mod apple;
mod deezer;
mod spotify;
mod youtube;

pub use apple::AppleClient;
pub use deezer::DeezerClient;
pub use spotify::{SpotifyClient, SpotifyCredentials, playlist_entry as spotify_playlist_entry};
pub use youtube::YouTubeOembed;

use url::Url;

use crate::{ApiClient, LookupError, TrackMeta};

/// The most tracks read from one album or playlist. A longer one is cut
/// here ([`Collection::truncated`]): a queue of thousands is never what a
/// member meant, and every entry costs a search when matched.
pub const MAX_COLLECTION_TRACKS: usize = 1000;

/// The most pages followed for one album or playlist, whatever the service
/// says: a page that keeps pointing at a next one (or returns nothing) must
/// not keep the lookup going.
pub(crate) const MAX_PAGES: usize = 40;

/// What kind of item a Spotify, Deezer or Apple Music link names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// A single track (an Apple Music "song").
    Track,
    /// An album.
    Album,
    /// A playlist.
    Playlist,
}

/// A link of a music service, as [`parse_link`] read it. Every id has been
/// checked against the service's id format, so it is safe in a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceLink {
    /// `open.spotify.com/{track|album|playlist}/{id}`; the id is 22 base62
    /// characters.
    Spotify {
        /// What the link names.
        kind: LinkKind,
        /// The Spotify id.
        id: String,
    },
    /// `www.deezer.com/[lang/]{track|album|playlist}/{id}`; the id is digits.
    Deezer {
        /// What the link names.
        kind: LinkKind,
        /// The Deezer id.
        id: String,
    },
    /// `music.apple.com/{storefront}/{album|song|playlist}/…`.
    AppleMusic {
        /// What the link names. An album link with `?i=` names one of its
        /// songs: `kind` stays [`LinkKind::Album`] and `track` holds it.
        kind: LinkKind,
        /// The album or song id (digits), or the playlist id (`pl.…`).
        id: String,
        /// The two-letter store the link is of (`us`, `gb`): catalogs differ
        /// by store, so the lookup asks the same one.
        storefront: String,
        /// The song picked inside an album link (`?i=`).
        track: Option<String>,
    },
    /// A YouTube (or YouTube Music) video, playlist, or a video inside one.
    YouTube {
        /// The 11-character video id.
        video: Option<String>,
        /// The playlist id (`list=`).
        playlist: Option<String>,
    },
}

impl ServiceLink {
    /// The service's name as members see it.
    pub fn service_name(&self) -> &'static str {
        match self {
            Self::Spotify { .. } => "Spotify",
            Self::Deezer { .. } => "Deezer",
            Self::AppleMusic { .. } => "Apple Music",
            Self::YouTube { .. } => "YouTube",
        }
    }
}

/// An album or playlist (or a single track, as a collection of one) read
/// from a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// Its title (untrusted: escape before showing).
    pub title: String,
    /// Its tracks in the service's order, at most [`MAX_COLLECTION_TRACKS`];
    /// entries that are no track (podcast episodes, local files, removed
    /// items) are left out.
    pub tracks: Vec<TrackMeta>,
    /// How many entries the service said it has (it may count entries left
    /// out of `tracks`).
    pub total: usize,
    /// Whether reading stopped at [`MAX_COLLECTION_TRACKS`] (or the page
    /// limit) before the service's list ended.
    pub truncated: bool,
}

impl Collection {
    /// A collection holding one track, titled after it.
    pub fn single(track: TrackMeta) -> Self {
        Self { title: track.display_title(), tracks: vec![track], total: 1, truncated: false }
    }
}

/// Reads which service item `url` names, or `None` when it is no link of a
/// service read here (or its id is malformed).
///
/// Accepted forms:
/// - `open.spotify.com/[intl-xx/]{track|album|playlist}/{id}[?si=…]`, and
///   `spotify:{kind}:{id}` URIs;
/// - `www.deezer.com/[lang/]{track|album|playlist}/{id}`;
/// - `music.apple.com/{sf}/album/[{slug}/]{id}[?i={song}]`,
///   `music.apple.com/{sf}/song/[{slug}/]{id}`,
///   `music.apple.com/{sf}/playlist/[{slug}/]pl.{id}`;
/// - `youtube.com/watch?v=…[&list=…]`, `youtube.com/playlist?list=…`,
///   `youtube.com/{shorts|embed|live}/{id}`, `youtu.be/{id}[?list=…]`, on
///   `www.`, `m.` and `music.` too.
///
/// Short links (`spotify.link`, `link.deezer.com`) are not read: they need
/// a redirect followed first.
pub fn parse_link(url: &Url) -> Option<ServiceLink> {
    if url.scheme() == "spotify" {
        return spotify::parse_uri(url.path());
    }
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let host = host.strip_suffix('.').unwrap_or(host);
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match host {
        "open.spotify.com" | "play.spotify.com" => spotify::parse_path(&segments),
        "www.deezer.com" | "deezer.com" => deezer::parse_path(&segments),
        "music.apple.com" | "geo.music.apple.com" => apple::parse_link(&segments, url),
        "youtube.com"
        | "www.youtube.com"
        | "m.youtube.com"
        | "music.youtube.com"
        | "youtu.be"
        | "www.youtube-nocookie.com" => youtube::parse_link(host, &segments, url),
        _ => None,
    }
}

/// Resolves any [`ServiceLink`] with the client of its service.
///
/// Spotify needs client credentials; without them its links answer
/// [`LookupError::NotConfigured`].
#[derive(Debug, Clone)]
pub struct LinkResolver {
    spotify: Option<SpotifyClient>,
    deezer: DeezerClient,
    apple: AppleClient,
    youtube: YouTubeOembed,
}

impl LinkResolver {
    /// A resolver talking to the services' public addresses through `api`,
    /// with Spotify when `spotify` credentials are given.
    pub fn new(api: ApiClient, spotify: Option<SpotifyCredentials>) -> Self {
        Self {
            spotify: spotify.map(|credentials| SpotifyClient::new(api.clone(), credentials)),
            deezer: DeezerClient::new(api.clone()),
            apple: AppleClient::new(api.clone()),
            youtube: YouTubeOembed::new(api),
        }
    }

    /// A resolver of the given clients (tests point them at fakes).
    pub fn from_clients(
        spotify: Option<SpotifyClient>,
        deezer: DeezerClient,
        apple: AppleClient,
        youtube: YouTubeOembed,
    ) -> Self {
        Self { spotify, deezer, apple, youtube }
    }

    /// What `link` holds, as metadata; a single track is a collection of one.
    ///
    /// # Errors
    /// [`LookupError::NotConfigured`] for Spotify without credentials,
    /// [`LookupError::Unsupported`] for Apple Music and YouTube playlists,
    /// otherwise what the service's client answers.
    pub async fn resolve(&self, link: &ServiceLink) -> Result<Collection, LookupError> {
        match link {
            ServiceLink::Spotify { kind, id } => {
                let spotify = self.spotify.as_ref().ok_or(LookupError::NotConfigured("Spotify"))?;
                match kind {
                    LinkKind::Track => spotify.track(id).await.map(Collection::single),
                    LinkKind::Album => spotify.album(id).await,
                    LinkKind::Playlist => spotify.playlist(id).await,
                }
            }
            ServiceLink::Deezer { kind, id } => match kind {
                LinkKind::Track => self.deezer.track(id).await.map(Collection::single),
                LinkKind::Album => self.deezer.album(id).await,
                LinkKind::Playlist => self.deezer.playlist(id).await,
            },
            ServiceLink::AppleMusic { kind, id, storefront, track } => match (kind, track) {
                (LinkKind::Playlist, _) => Err(LookupError::Unsupported(apple::PLAYLIST_UNSUPPORTED)),
                (_, Some(song)) => self.apple.song(song, storefront).await.map(Collection::single),
                (LinkKind::Track, None) => self.apple.song(id, storefront).await.map(Collection::single),
                (LinkKind::Album, None) => self.apple.album(id, storefront).await,
            },
            ServiceLink::YouTube { video: Some(video), .. } => self.youtube.video(video).await.map(Collection::single),
            ServiceLink::YouTube { video: None, .. } => Err(LookupError::Unsupported(youtube::PLAYLIST_UNSUPPORTED)),
        }
    }
}

/// `base` with `segments` appended to its path, each escaped as a path
/// segment.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// `next` when it is a URL on the same scheme, host and port as `base`:
/// a page's link to the next page is followed only there, so a forged
/// answer cannot send the lookup (or Spotify's bearer token) elsewhere.
pub(crate) fn same_origin(base: &Url, next: &str) -> Option<Url> {
    let next = Url::parse(next).ok()?;
    let same = next.scheme() == base.scheme()
        && next.host_str() == base.host_str()
        && next.port_or_known_default() == base.port_or_known_default();
    same.then_some(next)
}

/// Whether `s` is `len` characters of ASCII letters and digits.
pub(crate) fn is_alnum_of_len(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `s` is 1 to 20 ASCII digits (every numeric id here fits a u64).
pub(crate) fn is_numeric_id(s: &str) -> bool {
    (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A string cut to at most `max` characters: titles and names from the
/// network are bounded before they reach a queue or a message.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => s[..cut].to_owned(),
        None => s.to_owned(),
    }
}

/// One page of an album's or playlist's entries, as the service sent it.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// The entries, each read on its own so one odd entry does not fail the
    /// page.
    pub items: Vec<serde_json::Value>,
    /// The service's link to the next page.
    pub next: Option<String>,
    /// How many entries the whole list has, when the page says.
    pub total: Option<u64>,
}

/// What [`gather`] read.
#[derive(Debug)]
pub(crate) struct Gathered {
    pub tracks: Vec<TrackMeta>,
    pub truncated: bool,
    /// The last total a page reported.
    pub total: Option<u64>,
}

/// Reads `first` and the pages after it (fetched with `fetch`, only when the
/// next link is on `base`'s origin), turning entries into tracks with
/// `entry` (`None` skips one), until the list ends, [`MAX_COLLECTION_TRACKS`]
/// tracks or [`MAX_PAGES`] pages.
pub(crate) async fn gather<F, Fut>(
    service: &'static str,
    base: &Url,
    first: Page,
    mut fetch: F,
    mut entry: impl FnMut(&serde_json::Value) -> Option<TrackMeta>,
) -> Result<Gathered, LookupError>
where
    F: FnMut(Url) -> Fut,
    Fut: std::future::Future<Output = Result<Page, LookupError>>,
{
    let mut tracks = Vec::new();
    let mut truncated = false;
    let mut total = None;
    let mut page = first;
    let mut pages = 1;
    'pages: loop {
        total = page.total.or(total);
        for item in &page.items {
            if tracks.len() >= MAX_COLLECTION_TRACKS {
                truncated = true;
                break 'pages;
            }
            tracks.extend(entry(item));
        }
        let Some(next) = page.next.take() else { break };
        if tracks.len() >= MAX_COLLECTION_TRACKS || page.items.is_empty() || pages >= MAX_PAGES {
            truncated = true;
            break;
        }
        let Some(next) = same_origin(base, &next) else {
            tracing::warn!(service, "a next page link points away from the api; stopped there");
            truncated = true;
            break;
        };
        page = fetch(next).await?;
        pages += 1;
    }
    Ok(Gathered { tracks, truncated, total })
}

/// A reported count as a `usize`, saturating.
pub(crate) fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// An ISRC as the matcher compares them: upper case, without hyphens, and
/// only when it has the 12 letters and digits of the format.
pub(crate) fn clean_isrc(raw: &str) -> Option<String> {
    let isrc: String = raw.trim().chars().filter(|c| *c != '-').collect::<String>().to_ascii_uppercase();
    is_alnum_of_len(&isrc, 12..=12).then_some(isrc)
}

/// The longest title or artist kept from a service.
pub(crate) const MAX_TEXT_CHARS: usize = 300;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_refuses_other_hosts_schemes_and_ports() {
        let base = Url::parse("https://api.spotify.com").unwrap();
        assert!(same_origin(&base, "https://api.spotify.com/v1/x?offset=100").is_some());
        assert!(same_origin(&base, "https://api.spotify.com:443/v1/x").is_some());
        assert!(same_origin(&base, "https://evil.example/v1/x").is_none());
        assert!(same_origin(&base, "http://api.spotify.com/v1/x").is_none());
        assert!(same_origin(&base, "https://api.spotify.com:8443/v1/x").is_none());
        assert!(same_origin(&base, "not a url").is_none());
    }

    #[test]
    fn endpoint_escapes_segments_and_keeps_a_base_path() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(endpoint(&base, &["v1", "tracks", "a/b"]).as_str(), "http://127.0.0.1:9/prefix/v1/tracks/a%2Fb");
        let bare = Url::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(endpoint(&bare, &["track", "1"]).as_str(), "http://127.0.0.1:9/track/1");
    }

    #[test]
    fn isrcs_are_cleaned_or_dropped() {
        assert_eq!(clean_isrc("usum71703861").as_deref(), Some("USUM71703861"));
        assert_eq!(clean_isrc("GB-AYE-69-00531").as_deref(), Some("GBAYE6900531"));
        assert_eq!(clean_isrc("short"), None);
        assert_eq!(clean_isrc("USUM7170386!"), None);
    }

    #[test]
    fn bounded_cuts_on_characters() {
        assert_eq!(bounded("héllo", 2), "hé");
        assert_eq!(bounded("abc", 5), "abc");
    }
}
