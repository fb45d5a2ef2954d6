//! Turning what a member typed into audio songbird can play.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use songbird::input::codecs::{get_codec_registry, get_probe};
use songbird::input::{AudioStreamError, File as FileInput, HttpRequest, Input, MakePlayableError};

use timmybot_outbound::{Refusal, SafeHttpClient};
use timmybot_sources::{LookupError, TrackMeta};
use tokio::sync::mpsc;

use crate::http_source::is_too_large;
use crate::library::{Library, LibrarySource};
use crate::registry::{Lookup, Query, Source};
use crate::{SoundCloudLink, SourceError, YouTubeLink, YtDlp};

/// What kind of source a query names.
///
/// YouTube links are [`SourceKind::Url`] here; [`YouTubeLink::parse`] tells
/// them apart, and the resolver sends them to yt-dlp (or refuses them when
/// the operator did not configure it) instead of fetching the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// An http or https URL.
    Url(url::Url),
    /// A path relative to the media folder.
    File(PathBuf),
}

/// Classifies a query without touching the network or the disk.
///
/// A query is a link only when it parses as an absolute URL; anything else is
/// a relative file path. Absolute paths and `..` are refused here already.
///
/// # Errors
/// [`SourceError::SchemeNotAllowed`] for non-http(s) links,
/// [`SourceError::PathNotAllowed`] for absolute or parent-escaping paths,
/// [`SourceError::Unsupported`] for an empty query.
pub fn classify_query(query: &str) -> Result<SourceKind, SourceError> {
    let query = query.trim();
    if query.is_empty() {
        return Err(SourceError::Unsupported);
    }
    if let Ok(url) = url::Url::parse(query) {
        // A Windows-style "C:\x" parses as a URL with scheme "c"; both are refused.
        return match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(SourceKind::Url(url)),
            _ => Err(SourceError::SchemeNotAllowed),
        };
    }
    let path = Path::new(query);
    let escapes =
        path.components().any(|c| matches!(c, Component::ParentDir | Component::RootDir | Component::Prefix(_)));
    if escapes || query.contains('\0') {
        return Err(SourceError::PathNotAllowed);
    }
    Ok(SourceKind::File(path.to_path_buf()))
}

/// A source opened and probed: ready to hand to songbird.
pub struct ResolvedSource {
    /// Audio, already parsed (the container probed, the codec found).
    pub input: Input,
    /// A title to show members.
    pub title: String,
    /// The canonical source string to store in the queue.
    pub source: String,
    /// How long the track lasts, when its container says (files, most
    /// downloads); `None` for live streams.
    pub duration: Option<Duration>,
    /// What a live stream announces it plays (ICY `StreamTitle`s), as they
    /// arrive; `None` when the source announces nothing.
    pub stream_titles: Option<StreamTitles>,
    /// The tracks that come after this one when the query named several (a
    /// playlist, an album): queued after it, opened when they play.
    pub more: Vec<TrackMeta>,
    /// What the member is told besides what was queued.
    pub notes: ResolveNotes,
}

/// What a resolve found besides the tracks: said in the reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolveNotes {
    /// The playlist's or album's name, when the query named one.
    pub collection: Option<String>,
    /// Tracks of another service that matched nothing playable, as
    /// "Artist – Title" (untrusted: escape before showing).
    pub unmatched: Vec<String>,
    /// Entries left out: refused links, other schemes, past the caps.
    pub skipped: usize,
    /// Whether the playlist had more entries than are queued (it was cut
    /// at its cap; those past it are not counted in `skipped`).
    pub truncated: bool,
}

impl ResolveNotes {
    /// The sentence added to the reply, if there is anything to say. At
    /// most ten unmatched titles are named, each escaped.
    pub fn message(&self) -> Option<String> {
        const NAMED: usize = 10;
        let mut parts = Vec::new();
        if !self.unmatched.is_empty() {
            let named: Vec<String> = self
                .unmatched
                .iter()
                .take(NAMED)
                .map(|t| format!("**{}**", timmybot_core::escape_markdown(t)))
                .collect();
            let more = self.unmatched.len().saturating_sub(NAMED);
            let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
            parts.push(format!(
                "Not found on the playable sources ({}): {}{tail}.",
                self.unmatched.len(),
                named.join(", ")
            ));
        }
        if self.skipped > 0 {
            parts.push(format!(
                "{} {} left out (not playable here).",
                self.skipped,
                if self.skipped == 1 { "entry was" } else { "entries were" }
            ));
        }
        if self.truncated {
            parts.push("The playlist is longer than I queue at once; the rest was left out.".to_owned());
        }
        (!parts.is_empty()).then(|| parts.join("\n"))
    }
}

/// The titles a live stream announces, newest last; ends with the stream.
pub type StreamTitles = mpsc::UnboundedReceiver<String>;

impl std::fmt::Debug for ResolvedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedSource")
            .field("title", &self.title)
            .field("source", &self.source)
            .field("duration", &self.duration)
            .field("more", &self.more.len())
            .finish()
    }
}

/// Opens sources: http(s) links, files confined to a media folder, and
/// YouTube links when yt-dlp is configured.
///
/// It is also the registry of the other enabled [`Source`]s (the station
/// directory, Audius, …): a query one of them claims goes to it, in the
/// order they were added; plain text is a search over the searchable ones.
#[derive(Clone)]
pub struct SourceResolver {
    http: SafeHttpClient,
    media_dir: Option<PathBuf>,
    open_timeout: Duration,
    ytdlp: Option<YtDlp>,
    sources: Vec<Arc<dyn Source>>,
    library: Option<Library>,
    soundcloud: bool,
    matcher: Option<crate::TrackMatcher>,
}

impl SourceResolver {
    /// A resolver that opens links with `http` (the outbound policy's client:
    /// internal addresses refused) and, when `media_dir` is set, files inside
    /// that folder only.
    pub fn new(http: SafeHttpClient, media_dir: Option<PathBuf>) -> Self {
        Self {
            http,
            media_dir,
            open_timeout: Duration::from_secs(15),
            ytdlp: None,
            sources: Vec::new(),
            library: None,
            soundcloud: false,
            matcher: None,
        }
    }

    /// Matches members' imported playlists (entries known by metadata only)
    /// with `matcher` when they are played.
    #[must_use]
    pub fn with_matcher(mut self, matcher: crate::TrackMatcher) -> Self {
        self.matcher = Some(matcher);
        self
    }

    /// The matcher of metadata-only entries, when one is set.
    pub fn matcher(&self) -> Option<&crate::TrackMatcher> {
        self.matcher.as_ref()
    }

    /// Adds the media folder's index as a source (after those added
    /// before: its place decides whether words find local files before the
    /// catalogs) and keeps it for `/library` and for titling files played
    /// by their path.
    #[must_use]
    pub fn with_library(mut self, library: Library) -> Self {
        self.sources.push(Arc::new(LibrarySource::new(library.clone())));
        self.library = Some(library);
        self
    }

    /// The media folder's index, when there is one.
    pub fn library(&self) -> Option<&Library> {
        self.library.as_ref()
    }

    /// Adds `source` to the registry, after those added before.
    #[must_use]
    pub fn with_source(mut self, source: Arc<dyn Source>) -> Self {
        self.sources.push(source);
        self
    }

    /// The names of the enabled sources, in the order they are asked.
    pub fn source_names(&self) -> Vec<&'static str> {
        self.sources.iter().map(|s| s.name()).collect()
    }

    /// A [`LinkOpener`] on this resolver's client and limits.
    pub fn links(&self) -> LinkOpener {
        LinkOpener { http: self.http.clone(), open_timeout: self.open_timeout }
    }

    /// Turns YouTube links on when `program` (the yt-dlp executable) is set,
    /// with [`YtDlp`]'s default limits; `None` leaves them refused.
    #[must_use]
    pub fn with_ytdlp(self, program: Option<PathBuf>) -> Self {
        self.with_ytdlp_runner(program.map(YtDlp::new))
    }

    /// Turns YouTube links on with a configured [`YtDlp`] (`None`: off).
    #[must_use]
    pub fn with_ytdlp_runner(mut self, ytdlp: Option<YtDlp>) -> Self {
        self.ytdlp = ytdlp;
        self
    }

    /// Whether YouTube links are looked up (yt-dlp is configured).
    pub fn youtube_enabled(&self) -> bool {
        self.ytdlp.is_some()
    }

    /// Turns SoundCloud track links over to yt-dlp when `on` (they need
    /// yt-dlp configured as well); off, they are refused without a fetch.
    #[must_use]
    pub fn with_soundcloud(mut self, on: bool) -> Self {
        self.soundcloud = on;
        self
    }

    /// Whether SoundCloud links are looked up (turned on, with yt-dlp).
    pub fn soundcloud_enabled(&self) -> bool {
        self.soundcloud && self.ytdlp.is_some()
    }

    /// Opens and probes `query` so a bad source is reported before joining.
    ///
    /// # Errors
    /// Any [`SourceError`]; `Unplayable` when the bytes are not decodable audio.
    pub async fn resolve(&self, query: &str) -> Result<ResolvedSource, SourceError> {
        let link = url::Url::parse(query.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        // With yt-dlp configured, YouTube links are its own, whatever source
        // would read them as metadata otherwise.
        if self.ytdlp.is_some()
            && let Some(youtube) = link.as_ref().and_then(YouTubeLink::parse)
        {
            return self.resolve_youtube(&youtube).await;
        }
        // SoundCloud pages are never fetched as audio: yt-dlp or a refusal.
        if let Some(soundcloud) = link.as_ref().and_then(SoundCloudLink::parse) {
            return self.resolve_soundcloud(&soundcloud).await;
        }
        let parsed = Query::classify(query, link.as_ref());
        if let Some(source) = self.sources.iter().find(|s| s.claims(&parsed)) {
            return self.resolve_with(source.as_ref(), &parsed).await;
        }
        match parsed {
            // A stored or chosen locator whose source is off.
            Query::Locator { scheme: crate::library::LIBRARY_SCHEME, .. } => return Err(SourceError::FilesDisabled),
            Query::Locator { scheme, .. } => {
                let name = if scheme == "radio" { "Radio" } else { "Audius" };
                return Err(SourceError::Lookup(LookupError::Disabled(name)));
            }
            // Words are searched for; what looks like a file name is a file.
            Query::Text(text) if !looks_like_path(text) && !self.is_media_file(text) => {
                if self.sources.iter().any(|s| s.catalog().is_some()) {
                    return self.search_and_resolve(text).await;
                }
                return Err(SourceError::Lookup(LookupError::Disabled("Search")));
            }
            _ => {}
        }
        match classify_query(query)? {
            SourceKind::Url(url) => {
                // YouTube pages are never fetched as audio: yt-dlp or a refusal.
                if let Some(link) = YouTubeLink::parse(&url) {
                    return self.resolve_youtube(&link).await;
                }
                // reqwest resolves no IP-literal host, so the first hop is checked
                // here; named hosts and redirects are checked inside the client.
                self.links().open_url(&url, link_title(&url), None).await
            }
            SourceKind::File(relative) => {
                let path = self.confine(&relative)?;
                let title = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                // The index's "Artist – Title", as the library and searches show it.
                let known = self.library.as_ref().and_then(|l| l.by_path(query.trim())).map(|e| e.display_title());
                let input: Input = FileInput::new(path.clone()).into();
                self.links().open_input(input, title, relative.to_string_lossy().into_owned(), known).await
            }
        }
    }

    /// Looks `query` up with `source` and opens the first track it names
    /// with the source that claims its locator (`source` itself, unless the
    /// track was matched in another's catalog); the others come along in
    /// [`ResolvedSource::more`], and the lookup's notes in
    /// [`ResolvedSource::notes`].
    async fn resolve_with(&self, source: &dyn Source, query: &Query<'_>) -> Result<ResolvedSource, SourceError> {
        let Lookup { tracks, notes } = source.lookup_with_notes(query).await?;
        let mut tracks = tracks.into_iter();
        let first = tracks.next().ok_or(SourceError::NotFound)?;
        let opener = self.owner_of(&first).unwrap_or(source);
        let mut opened = opener.open(&first, &self.links()).await?;
        opened.more = tracks.collect();
        opened.notes = notes;
        Ok(opened)
    }

    /// The registered source that claims `track`'s locator, when it is one
    /// (`audius:…`).
    fn owner_of(&self, track: &TrackMeta) -> Option<&dyn Source> {
        let locator = track.locator.as_deref()?;
        let query = Query::classify(locator, None);
        if !matches!(query, Query::Locator { .. }) {
            return None;
        }
        self.sources.iter().find(|s| s.claims(&query)).map(|s| s.as_ref())
    }

    /// Plain text: the first match of the searchable sources, in order.
    async fn search_and_resolve(&self, text: &str) -> Result<ResolvedSource, SourceError> {
        let mut last_error = None;
        for source in &self.sources {
            let Some(catalog) = source.catalog() else { continue };
            match catalog.search(text, 1).await {
                Ok(found) => {
                    if let Some(first) = found.into_iter().next() {
                        return source.open(&first, &self.links()).await;
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.map_or(SourceError::NotFound, SourceError::Lookup))
    }

    /// Up to `limit` matches of `text` over the searchable sources, in
    /// their order (for `/search` and autocomplete).
    ///
    /// # Errors
    /// The first source's error when no source found anything.
    pub async fn search(&self, text: &str, limit: usize) -> Result<Vec<TrackMeta>, SourceError> {
        let mut found = Vec::new();
        let mut last_error = None;
        for catalog in self.sources.iter().filter_map(|s| s.catalog()) {
            if found.len() >= limit {
                break;
            }
            match catalog.search(text, limit - found.len()).await {
                Ok(more) => found.extend(more),
                Err(e) => last_error = Some(e),
            }
        }
        match (found.is_empty(), last_error) {
            (true, Some(e)) => Err(SourceError::Lookup(e)),
            _ => Ok(found),
        }
    }

    /// Whether `text` names a file of the media folder (so it is played,
    /// not searched for).
    fn is_media_file(&self, text: &str) -> bool {
        match classify_query(text) {
            Ok(SourceKind::File(relative)) => self.confine(&relative).is_ok(),
            _ => false,
        }
    }

    /// Looks a YouTube video up through yt-dlp and opens the stream it names
    /// like any link: through the outbound client (so an internal address is
    /// refused), under the same size and length limits. The queue keeps the
    /// canonical YouTube link, so a later play looks it up afresh (the media
    /// URL expires) and members never see the media URL.
    async fn resolve_youtube(&self, link: &YouTubeLink) -> Result<ResolvedSource, SourceError> {
        let ytdlp = self.ytdlp.as_ref().ok_or(SourceError::YouTubeDisabled)?;
        let canonical = link.canonical_url().ok_or(SourceError::YouTubeUnsupported)?;
        let track = ytdlp.lookup(&canonical).await.map_err(SourceError::YouTube)?;
        if track.is_live {
            return Err(SourceError::YouTubeUnsupported);
        }
        if track.duration.is_some_and(|length| length > self.http.policy().max_track_length) {
            return Err(SourceError::TooLong);
        }
        if track.filesize.is_some_and(|size| size > self.http.policy().max_track_bytes) {
            return Err(SourceError::TooLarge);
        }
        // yt-dlp's output is untrusted: its media URL is checked like a link a
        // member typed (first hop here, named hosts and redirects in the client).
        let url = track.media_url;
        self.http.check_url(&url)?;
        self.http.check_track_size(&url).await.map_err(|e| match e {
            timmybot_outbound::FetchError::Refused(refusal) => SourceError::Refused(refusal),
            _ => SourceError::TooLarge,
        })?;
        let request = HttpRequest {
            client: self.http.reqwest(),
            request: url.to_string(),
            headers: track.headers,
            // YouTube's servers want bounded range requests.
            content_length: track.filesize,
        };
        let fallback = match link {
            YouTubeLink::Video(id) => format!("YouTube video {id}"),
            YouTubeLink::NotAVideo => "YouTube video".to_owned(),
        };
        self.links().open_input(request.into(), fallback, canonical, track.title).await
    }

    /// Looks a SoundCloud track up through yt-dlp and opens the stream it
    /// names like any link (through the outbound client, under the same
    /// limits; an HLS stream plays its segments). The queue keeps the
    /// canonical link, so a later play looks it up afresh.
    async fn resolve_soundcloud(&self, link: &SoundCloudLink) -> Result<ResolvedSource, SourceError> {
        let ytdlp = self.ytdlp.as_ref().filter(|_| self.soundcloud).ok_or(SourceError::SoundCloudDisabled)?;
        let canonical = link.canonical_url().ok_or(SourceError::SoundCloudUnsupported)?;
        let track = ytdlp.lookup_soundcloud(&canonical).await.map_err(SourceError::SoundCloud)?;
        if track.announced_live || (track.is_live && !track.hls) {
            return Err(SourceError::SoundCloudUnsupported);
        }
        if track.duration.is_some_and(|length| length > self.http.policy().max_track_length) {
            return Err(SourceError::TooLong);
        }
        if track.filesize.is_some_and(|size| size > self.http.policy().max_track_bytes) {
            return Err(SourceError::TooLarge);
        }
        // yt-dlp's output is untrusted: its media URL is opened like a link a
        // member typed (first hop here, named hosts and redirects in the client).
        self.http.check_url(&track.media_url)?;
        let fallback = match link {
            SoundCloudLink::Track { track, .. } => track.clone(),
            SoundCloudLink::NotATrack => "SoundCloud track".to_owned(),
        };
        let mut opened = self.links().open_url(&track.media_url, fallback, track.title).await?;
        opened.source = canonical;
        // One track: whatever the stream's body listed besides.
        opened.more.clear();
        opened.notes = ResolveNotes::default();
        if opened.duration.is_none() {
            opened.duration = track.duration;
        }
        Ok(opened)
    }

    /// Resolves a relative path inside the media folder (see [`confine_in`]).
    fn confine(&self, relative: &Path) -> Result<PathBuf, SourceError> {
        confine_in(self.media_dir.as_deref(), relative)
    }
}

/// Resolves `relative` inside the media folder `dir`, following symlinks
/// first so a link pointing outside is refused too.
///
/// # Errors
/// `FilesDisabled` without a folder, `PathNotAllowed` outside it,
/// `FileNotFound` when there is no such file.
pub(crate) fn confine_in(dir: Option<&Path>, relative: &Path) -> Result<PathBuf, SourceError> {
    let dir = dir.ok_or(SourceError::FilesDisabled)?;
    let root = dir.canonicalize().map_err(|_| SourceError::FilesDisabled)?;
    let full = root.join(relative).canonicalize().map_err(|_| SourceError::FileNotFound)?;
    if !full.starts_with(&root) {
        return Err(SourceError::PathNotAllowed);
    }
    if !full.is_file() {
        return Err(SourceError::FileNotFound);
    }
    Ok(full)
}

/// Opens links and probes audio under the outbound policy: what every
/// [`Source`] opens its audio with.
#[derive(Clone)]
pub struct LinkOpener {
    http: SafeHttpClient,
    open_timeout: Duration,
}

impl LinkOpener {
    /// The outbound client (for a source's own metadata calls).
    pub fn http(&self) -> &SafeHttpClient {
        &self.http
    }

    /// Opens the http(s) link `url` with one GET. Audio is probed and
    /// played from that response (a radio's ICY titles come along in
    /// [`ResolvedSource::stream_titles`]); a playlist (M3U, PLS, XSPF) is
    /// expanded: its first playable entry is opened, the others come in
    /// [`ResolvedSource::more`]; an HLS stream plays its segments (see
    /// `playlist_links`).
    ///
    /// # Errors
    /// Any [`SourceError`]; `Refused` for an address the policy denies.
    pub async fn open_url(
        &self,
        url: &url::Url,
        fallback_title: String,
        known_title: Option<String>,
    ) -> Result<ResolvedSource, SourceError> {
        self.open_link(url, fallback_title, known_title, Expand::Queue).await
    }

    /// Like [`LinkOpener::open_url`] for one stream (a station): a playlist
    /// plays its first entry that opens (the others are mirrors), and
    /// nothing is queued after it.
    ///
    /// # Errors
    /// Any [`SourceError`]; `Refused` for an address the policy denies.
    pub async fn open_stream(
        &self,
        url: &url::Url,
        fallback_title: String,
        known_title: Option<String>,
    ) -> Result<ResolvedSource, SourceError> {
        self.open_link(url, fallback_title, known_title, Expand::One).await
    }

    async fn open_link(
        &self,
        url: &url::Url,
        fallback_title: String,
        known_title: Option<String>,
        expand: Expand,
    ) -> Result<ResolvedSource, SourceError> {
        let opening = crate::playlist_links::open(self, url, fallback_title, known_title, expand);
        tokio::time::timeout(self.open_timeout, opening).await.map_err(|e| SourceError::Unplayable(Box::new(e)))?
    }

    /// Probes `input`; the title shown is `known_title`, else the track's own
    /// metadata, else `fallback_title`.
    ///
    /// # Errors
    /// `Unplayable` when it is not audio, `TooLong`, `TooLarge`, `Refused`.
    pub async fn open_input(
        &self,
        input: Input,
        fallback_title: String,
        source: String,
        known_title: Option<String>,
    ) -> Result<ResolvedSource, SourceError> {
        self.probe(input, fallback_title, source, known_title, Length::FromContainer).await
    }

    /// Probes `input` like [`LinkOpener::open_input`]; `length` says whether
    /// the container's length counts (a live stream's or an HLS stream's
    /// container length means nothing).
    pub(crate) async fn probe(
        &self,
        input: Input,
        fallback_title: String,
        source: String,
        known_title: Option<String>,
        length: Length,
    ) -> Result<ResolvedSource, SourceError> {
        let opened =
            tokio::time::timeout(self.open_timeout, input.make_playable_async(get_codec_registry(), get_probe()))
                .await
                .map_err(|e| SourceError::Unplayable(Box::new(e)))?
                .map_err(|e| match refusal_in(&e) {
                    Some(refusal) => SourceError::Refused(refusal),
                    None if matches!(&e, MakePlayableError::Create(inner) if is_too_large(inner)) => {
                        SourceError::TooLarge
                    }
                    None => SourceError::Unplayable(Box::new(e)),
                })?;
        let mut input = opened;
        let duration = match length {
            Length::FromContainer => track_length(&mut input),
            Length::Known(duration) => duration,
        };
        if duration.is_some_and(|length| length > self.http.policy().max_track_length) {
            return Err(SourceError::TooLong);
        }
        let title = match known_title {
            Some(title) => title,
            None => input
                .aux_metadata()
                .await
                .ok()
                .and_then(|m| m.title.or(m.track))
                .filter(|t| !t.trim().is_empty())
                .unwrap_or(fallback_title),
        };
        Ok(ResolvedSource {
            input,
            title,
            source,
            duration,
            stream_titles: None,
            more: Vec::new(),
            notes: ResolveNotes::default(),
        })
    }
}

/// Where the length of a probed track comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    /// What its container says (files, downloads).
    FromContainer,
    /// Known otherwise: the sum of an HLS stream's segments, or `None` for
    /// a live stream (whatever its container claims).
    Known(Option<Duration>),
}

/// What a link that answers with a playlist becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expand {
    /// A queue: the first playable entry plays, the others follow it.
    Queue,
    /// One stream (a station): the first entry that opens plays, the
    /// others are its mirrors.
    One,
}

/// The title a link gets when its audio names none: its file name, decoded,
/// without an audio extension ("my%20song.mp3" is "my song"), else its host.
pub(crate) fn link_title(url: &url::Url) -> String {
    let name = crate::playlist_links::file_name(url);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && AUDIO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) => {
            stem.to_owned()
        }
        _ => name,
    }
}

/// File extensions of audio the player opens.
pub(crate) const AUDIO_EXTENSIONS: &[&str] = &["mp3", "wav", "flac", "ogg", "oga", "opus", "m4a", "aac", "webm", "mka"];

/// Whether `text` names a file rather than words to search for: a path,
/// or a name with an audio file's extension.
fn looks_like_path(text: &str) -> bool {
    if text.contains(['/', '\\']) {
        return true;
    }
    text.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && !ext.contains(' ') && AUDIO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    })
}

/// How long a parsed track lasts, when its container says (files, most
/// downloads); `None` for live streams.
fn track_length(input: &mut Input) -> Option<Duration> {
    let parsed = input.parsed()?;
    let params = &parsed.format.default_track()?.codec_params;
    let frames = params.n_frames?;
    let rate = params.sample_rate?;
    (rate > 0).then(|| Duration::from_secs_f64(frames as f64 / f64::from(rate)))
}

/// A refusal from the client's resolver or redirect policy, surfacing through
/// songbird. Songbird's errors report no `source()`, so the reqwest error is
/// dug out of the variant that carries it.
fn refusal_in(error: &MakePlayableError) -> Option<Refusal> {
    match error {
        MakePlayableError::Create(AudioStreamError::Fail(inner)) => Refusal::find_in(inner.as_ref()).cloned(),
        _ => None,
    }
}

impl std::fmt::Debug for SourceResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceResolver")
            .field("media_dir", &self.media_dir)
            .field("ytdlp", &self.ytdlp)
            .field("soundcloud", &self.soundcloud)
            .field("sources", &self.source_names())
            .finish()
    }
}

impl std::fmt::Debug for LinkOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkOpener").field("open_timeout", &self.open_timeout).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use timmybot_outbound::OutboundPolicy;

    use super::*;

    #[test]
    fn classify_accepts_http_links_and_relative_files() {
        assert!(matches!(classify_query("https://radio.example/stream.mp3"), Ok(SourceKind::Url(_))));
        assert!(matches!(classify_query("  http://a.b/c "), Ok(SourceKind::Url(_))));
        assert_eq!(classify_query("./tone.wav").unwrap(), SourceKind::File(PathBuf::from("./tone.wav")));
        assert_eq!(classify_query("music/a b.mp3").unwrap(), SourceKind::File(PathBuf::from("music/a b.mp3")));
    }

    #[test]
    fn notes_name_the_unmatched_escaped_and_count_the_rest() {
        assert_eq!(ResolveNotes::default().message(), None);
        let notes = ResolveNotes {
            collection: Some("Mix".into()),
            unmatched: (0..12).map(|n| format!("A – *t{n}*")).collect(),
            skipped: 1,
            truncated: false,
        };
        let text = notes.message().unwrap();
        assert!(text.starts_with("Not found on the playable sources (12): **A – \\*t0\\***"), "{text}");
        assert!(text.contains("**A – \\*t9\\*** and 2 more."), "{text}");
        assert!(!text.contains("t10"), "{text}");
        assert!(text.ends_with("1 entry was left out (not playable here)."), "{text}");
    }

    #[test]
    fn a_link_is_titled_by_its_decoded_file_name_without_the_audio_extension() {
        let title = |s: &str| link_title(&url::Url::parse(s).unwrap());
        assert_eq!(title("https://cdn.example/attachments/1/2/my%20song.MP3?ex=1"), "my song");
        assert_eq!(title("https://radio.example/live"), "live");
        assert_eq!(title("https://radio.example/stream.m3u8"), "stream.m3u8");
        assert_eq!(title("https://radio.example/"), "radio.example");
    }

    #[test]
    fn file_names_and_paths_are_not_searched_for() {
        for path in ["tone.wav", "Music/song", "a b.FLAC", "x\\y"] {
            assert!(looks_like_path(path), "{path}");
        }
        for words in ["daft punk", "song 2.0", "mr. brightside", ".wav", "the end. wav"] {
            assert!(!looks_like_path(words), "{words}");
        }
    }

    #[test]
    fn classify_refuses_other_schemes_and_escaping_paths() {
        for q in ["file:///etc/passwd", "ftp://x/y", "gopher://x", "javascript:alert(1)", "C:\\x"] {
            assert!(matches!(classify_query(q), Err(SourceError::SchemeNotAllowed)), "{q}");
        }
        for q in ["../secret.wav", "a/../../b.wav", "/etc/passwd"] {
            assert!(matches!(classify_query(q), Err(SourceError::PathNotAllowed)), "{q}");
        }
        assert!(matches!(classify_query("   "), Err(SourceError::Unsupported)));
    }

    #[tokio::test]
    async fn files_outside_the_media_folder_are_refused_even_through_symlinks() {
        let media = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.wav"), b"not audio").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.wav"), media.path().join("link.wav")).unwrap();
        let resolver =
            SourceResolver::new(SafeHttpClient::new(OutboundPolicy::default()), Some(media.path().to_path_buf()));
        assert!(matches!(resolver.resolve("link.wav").await, Err(SourceError::PathNotAllowed)));
        assert!(matches!(resolver.resolve("missing.wav").await, Err(SourceError::FileNotFound)));
    }

    #[tokio::test]
    async fn files_are_refused_when_no_media_folder_is_configured() {
        let resolver = SourceResolver::new(SafeHttpClient::new(OutboundPolicy::default()), None);
        assert!(matches!(resolver.resolve("tone.wav").await, Err(SourceError::FilesDisabled)));
    }

    #[tokio::test]
    async fn a_file_that_is_not_audio_is_unplayable() {
        let media = tempfile::tempdir().unwrap();
        std::fs::write(media.path().join("junk.wav"), vec![7u8; 4096]).unwrap();
        let resolver =
            SourceResolver::new(SafeHttpClient::new(OutboundPolicy::default()), Some(media.path().to_path_buf()));
        assert!(matches!(resolver.resolve("junk.wav").await, Err(SourceError::Unplayable(_))));
    }

    #[tokio::test]
    async fn links_to_internal_addresses_are_refused_with_the_policy_message() {
        let resolver = SourceResolver::new(SafeHttpClient::new(OutboundPolicy::default()), None);
        for query in [
            "http://127.0.0.1:9/a.mp3",
            "http://[::ffff:169.254.169.254]/latest/meta-data/",
            "http://localhost:9/a.mp3",
        ] {
            let error = resolver.resolve(query).await.unwrap_err();
            assert!(matches!(error, SourceError::Refused(_)), "{query}: {error:?}");
            assert_eq!(error.user_message(), "That address is not allowed.");
        }
    }

    #[tokio::test]
    async fn words_find_a_local_file_of_the_library_and_lib_ids_need_the_media_folder() {
        let media = tempfile::tempdir().unwrap();
        std::fs::create_dir(media.path().join("mix")).unwrap();
        timmybot_test_support::audio::write_tone_wav(media.path().join("mix/night_drive.wav"), 440.0, 1.0).unwrap();
        let library = Library::new(media.path().to_path_buf());
        library.scan().await;
        let resolver = SourceResolver::new(SafeHttpClient::new(OutboundPolicy::default()), Some(media.path().into()))
            .with_library(library.clone());
        assert_eq!(resolver.source_names(), ["Local files"]);
        let found = resolver.resolve("Night Drive").await.unwrap();
        assert_eq!((found.title.as_str(), found.source.as_str()), ("night_drive", "mix/night_drive.wav"));
        let id = library.find("night", 1)[0].id();
        let by_id = resolver.resolve(&format!("lib:{id}")).await.unwrap();
        assert_eq!(by_id.source, "mix/night_drive.wav");
        let by_path = resolver.resolve("./mix/night_drive.wav").await.unwrap();
        assert_eq!(by_path.title, "night_drive");
        assert!(matches!(resolver.resolve("no such words").await, Err(SourceError::NotFound)));

        let without = SourceResolver::new(SafeHttpClient::new(OutboundPolicy::default()), None);
        let error = without.resolve(&format!("lib:{id}")).await.unwrap_err();
        assert!(matches!(error, SourceError::FilesDisabled), "{error:?}");
    }

    #[tokio::test]
    async fn a_track_longer_than_the_policy_allows_is_refused() {
        let media = tempfile::tempdir().unwrap();
        timmybot_test_support::audio::write_tone_wav(media.path().join("three.wav"), 440.0, 3.0).unwrap();
        let short = OutboundPolicy { max_track_length: Duration::from_secs(2), ..OutboundPolicy::default() };
        let resolver = SourceResolver::new(SafeHttpClient::new(short), Some(media.path().to_path_buf()));
        let error = resolver.resolve("three.wav").await.unwrap_err();
        assert!(matches!(error, SourceError::TooLong), "{error:?}");
        assert_eq!(error.user_message(), "That track is too long.");
        let roomy = OutboundPolicy { max_track_length: Duration::from_secs(4), ..OutboundPolicy::default() };
        let resolver = SourceResolver::new(SafeHttpClient::new(roomy), Some(media.path().to_path_buf()));
        assert_eq!(resolver.resolve("three.wav").await.unwrap().title, "three");
    }

    /// Serves every request with `head` followed by `body` (then closes),
    /// counting requests by their first word.
    async fn serve(head: String, body: Vec<u8>) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let methods = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = methods.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let method = String::from_utf8_lossy(&buf[..n]).split(' ').next().unwrap_or("").to_owned();
                seen.lock().unwrap().push(method);
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            }
        });
        (port, methods)
    }

    fn loopback_policy(max_track_bytes: u64) -> OutboundPolicy {
        let allow = timmybot_outbound::AllowList::parse(["127.0.0.1/32"]).unwrap();
        OutboundPolicy { allow, max_track_bytes, ..OutboundPolicy::default() }
    }

    #[tokio::test]
    async fn a_link_blocked_in_the_bots_region_says_so() {
        let head = "HTTP/1.1 451 Unavailable For Legal Reasons\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let (port, methods) = serve(head.to_owned(), Vec::new()).await;
        let resolver = SourceResolver::new(SafeHttpClient::new(loopback_policy(1024 * 1024)), None);
        let error = resolver.resolve(&format!("http://127.0.0.1:{port}/blocked.mp3")).await.unwrap_err();
        assert_eq!(error.user_message(), "That is not available in this bot's region.", "{error:?}");
        assert_eq!(*methods.lock().unwrap(), ["GET"]);
    }

    #[tokio::test]
    async fn a_link_announcing_more_bytes_than_allowed_is_refused_on_its_one_get() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 10485760\r\n\
                    Connection: close\r\n\r\n";
        let (port, methods) = serve(head.to_owned(), Vec::new()).await;
        let resolver = SourceResolver::new(SafeHttpClient::new(loopback_policy(1024 * 1024)), None);
        let error = resolver.resolve(&format!("http://127.0.0.1:{port}/big.mp3")).await.unwrap_err();
        assert!(matches!(error, SourceError::TooLarge), "{error:?}");
        assert_eq!(error.user_message(), "That file is too large.");
        assert_eq!(*methods.lock().unwrap(), ["GET"], "one request, no HEAD first");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_link_is_opened_with_one_get_and_plays_from_it() {
        let wav = timmybot_test_support::audio::tone_wav(440.0, 1.0).unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            wav.len()
        );
        let (port, methods) = serve(head, wav).await;
        let resolver = SourceResolver::new(SafeHttpClient::new(loopback_policy(1024 * 1024)), None);
        let resolved = resolver.resolve(&format!("http://127.0.0.1:{port}/tone.wav")).await.unwrap();
        assert_eq!(resolved.duration, Some(Duration::from_secs(1)));
        let packets = tokio::task::spawn_blocking(move || decoded_packets(resolved.input, 1000)).await.unwrap();
        assert!(packets.is_ok_and(|n| n > 10), "the whole tone decodes from the same stream");
        assert_eq!(*methods.lock().unwrap(), ["GET"], "probed and played from one GET");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_that_announces_no_size_is_cut_by_the_bytes_read() {
        // Ten seconds of WAV (about 1.9 MB), sent without a Content-Length.
        let wav = timmybot_test_support::audio::tone_wav(440.0, 10.0).unwrap();
        let media = tempfile::tempdir().unwrap();
        std::fs::write(media.path().join("whole.wav"), &wav).unwrap();
        let full = wav.len();
        let head = "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nConnection: close\r\n\r\n".to_owned();
        let (port, _) = serve(head, wav).await;
        let limit = 256 * 1024;
        let resolver =
            SourceResolver::new(SafeHttpClient::new(loopback_policy(limit)), Some(media.path().to_path_buf()));
        // The same file from disk, uncapped, for the number of packets it has.
        let whole = resolver.resolve("whole.wav").await.unwrap();
        let whole = tokio::task::spawn_blocking(move || decoded_packets(whole.input, 100_000)).await.unwrap();
        let whole = whole.expect("the file decodes to its end");
        let streamed = resolver.resolve(&format!("http://127.0.0.1:{port}/endless.wav")).await.unwrap();
        let read = tokio::task::spawn_blocking(move || decoded_packets(streamed.input, 100_000)).await.unwrap();
        // songbird's adapter reports the cut as the end of the stream (the
        // track ends there) or as an error; either way it comes at the limit.
        let packets = read.unwrap_or_else(|at| at);
        let at_limit = whole * limit as usize / full;
        assert!(packets <= at_limit + 4, "read {packets} packets, the limit is about {at_limit} of {whole}");
        assert!(packets + 16 >= at_limit, "cut at {packets} packets, before the limit (about {at_limit})");
    }

    /// Reads the packets of a resolved input until it ends (`Ok(count)`) or
    /// fails (`Err(count before the failure)`). Blocking: songbird's adapter
    /// feeds the reader from the async runtime, so call it off the runtime.
    fn decoded_packets(input: Input, max: usize) -> Result<usize, usize> {
        let Input::Live(songbird::input::LiveInput::Parsed(mut parsed), _) = input else {
            panic!("resolve returns a parsed input")
        };
        for n in 0..max {
            match parsed.format.next_packet() {
                Ok(_) => {}
                Err(symphonia::core::errors::Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(n);
                }
                Err(_) => return Err(n),
            }
        }
        Ok(max)
    }

    #[tokio::test]
    async fn a_redirect_to_the_metadata_endpoint_is_refused_through_songbird() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let reply = "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n\
                             Content-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = stream.write_all(reply.as_bytes()).await;
            }
        });
        let allow = timmybot_outbound::AllowList::parse(["127.0.0.1/32"]).unwrap();
        let resolver =
            SourceResolver::new(SafeHttpClient::new(OutboundPolicy { allow, ..OutboundPolicy::default() }), None);
        let error = resolver.resolve(&format!("http://127.0.0.1:{port}/a.mp3")).await.unwrap_err();
        assert!(matches!(error, SourceError::Refused(_)), "{error:?}");
        assert_eq!(error.user_message(), "That address is not allowed.");
    }
}
