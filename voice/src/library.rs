//! The media folder's index: `/library` browses and searches it, and plain
//! text in `/play` finds its files by their tags.
//!
//! A [`Library`] walks the folder (bounded: [`MAX_DEPTH`] levels,
//! [`MAX_FILES`] audio files, symlinks that leave the folder ignored),
//! reads each file's tags once (title, artist, album, duration) and keeps
//! the index in memory. Walking and reading run on tokio's blocking pool,
//! never on the async runtime, and never hold up a command: a search
//! answers from what is indexed so far (during the first scan, what was
//! read up to then). When the index is older than
//! [`LibraryLimits::rescan_after`], the next look at it starts a rescan in
//! the background, which reads tags only of files that are new or whose
//! size or modification time changed.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use songbird::input::File as FileInput;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{Limit, MetadataOptions, MetadataRevision, StandardTagKey};
use symphonia::core::probe::Hint;
use timmybot_core::player::messages::{self as player_messages, MAX_CUSTOM_ID_CHARS, PLAY_BUTTON_PREFIX};
use timmybot_core::{Button, ButtonStyle, OutgoingMessage, escape_markdown};
use timmybot_sources::{Catalog, LookupError, Origin, TrackMeta};
use tracing::{debug, info, warn};

use crate::SourceError;
use crate::registry::{Query, Source};
use crate::source::{AUDIO_EXTENSIONS, LinkOpener, ResolvedSource, confine_in};

/// How deep the walk goes below the media folder.
pub const MAX_DEPTH: usize = 8;
/// The most audio files indexed; the walk stops there.
pub const MAX_FILES: usize = 20_000;
/// How old the index may get before a look at it starts a rescan.
pub const RESCAN_AFTER: Duration = Duration::from_secs(60);
/// Files a `/library` page shows.
pub const PAGE_SIZE: usize = 10;
/// The locator scheme of a file by its id (`lib:<16 hex>`): what a
/// `/library` button sends when the file's path is too long for a button.
pub const LIBRARY_SCHEME: &str = "lib";
/// What `/library` answers on a bot without a media folder.
pub const FILES_DISABLED_MESSAGE: &str = "Local files are not enabled on this bot.";

/// Directory entries (audio or not) a walk looks at before it stops, so a
/// folder full of other files cannot keep it busy.
const MAX_WALKED_ENTRIES: usize = 200_000;
/// The longest tag kept, in characters.
const MAX_TAG_CHARS: usize = 200;
/// Tags bigger than this (bytes, as decoded) are skipped by the demuxer.
const MAX_TAG_BYTES: usize = 64 * 1024;
/// How many files the first scan reads before it shows them to searches.
const PUBLISH_EVERY: usize = 32;

/// How far a [`Library`] walks and how often it looks again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibraryLimits {
    /// Levels of folders below the media folder (default [`MAX_DEPTH`]).
    pub max_depth: usize,
    /// Audio files indexed at most (default [`MAX_FILES`]).
    pub max_files: usize,
    /// Age of the index after which a look at it rescans (default
    /// [`RESCAN_AFTER`]).
    pub rescan_after: Duration,
}

impl Default for LibraryLimits {
    fn default() -> Self {
        Self { max_depth: MAX_DEPTH, max_files: MAX_FILES, rescan_after: RESCAN_AFTER }
    }
}

/// Size and modification time: a file whose stamp is unchanged keeps the
/// tags read before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    modified: Option<SystemTime>,
}

/// One audio file of the media folder, as its tags describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryEntry {
    /// Its path below the media folder, `/`-separated.
    pub path: String,
    /// Its title tag, else its file name without the extension.
    pub title: String,
    /// Its artist tag (or album artist).
    pub artist: Option<String>,
    /// Its album tag.
    pub album: Option<String>,
    /// How long it lasts, when its container says.
    pub duration_ms: Option<u64>,
    stamp: Stamp,
    /// Title, artist, album and path, normalized for searching.
    haystack: String,
}

impl LibraryEntry {
    fn new(path: String, tags: Tags, stamp: Stamp) -> Self {
        let title = tags.title.unwrap_or_else(|| file_stem(&path));
        let haystack = normalize(&format!(
            "{title} {} {} {path}",
            tags.artist.as_deref().unwrap_or(""),
            tags.album.as_deref().unwrap_or("")
        ));
        Self { path, title, artist: tags.artist, album: tags.album, duration_ms: tags.duration_ms, stamp, haystack }
    }

    /// A short id that stays the same for the same path: 16 hex digits of
    /// a 64-bit FNV-1a hash of it.
    pub fn id(&self) -> String {
        path_id(&self.path)
    }

    /// What the player opens it by: its path (which the resolver plays as a
    /// media file), behind `./` when it has a colon so it never reads as a
    /// locator (`radio:x.mp3`).
    pub fn locator(&self) -> String {
        if self.path.contains(':') { format!("./{}", self.path) } else { self.path.clone() }
    }

    /// "Artist – Title", or the title alone.
    pub fn display_title(&self) -> String {
        match &self.artist {
            Some(artist) => format!("{artist} – {}", self.title),
            None => self.title.clone(),
        }
    }

    /// The track the catalog returns for it.
    pub fn to_meta(&self) -> TrackMeta {
        let mut meta = TrackMeta::new(Origin::File, self.path.clone(), self.title.clone());
        meta.artist = self.artist.clone();
        meta.duration_ms = self.duration_ms;
        meta.locator = Some(self.locator());
        meta
    }

    /// What a `/library` button queuing it sends: its locator when that
    /// fits a button's 100 characters, else `lib:<id>`.
    pub fn button_query(&self) -> String {
        let locator = self.locator();
        if PLAY_BUTTON_PREFIX.len() + locator.chars().count() <= MAX_CUSTOM_ID_CHARS && !locator.contains(':') {
            locator
        } else {
            format!("{LIBRARY_SCHEME}:{}", self.id())
        }
    }
}

/// The id [`LibraryEntry::id`] gives the file at `path`.
pub fn path_id(path: &str) -> String {
    // FNV-1a: fixed, so ids on buttons survive restarts and builds.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// What one scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanStats {
    /// Audio files indexed.
    pub files: usize,
    /// Files whose tags were read (new or changed).
    pub tags_read: usize,
    /// Files whose tags were kept from the scan before (unchanged).
    pub reused: usize,
    /// Whether the walk stopped at a limit (files or entries).
    pub truncated: bool,
}

/// The index as searches see it.
#[derive(Debug, Default)]
struct Index {
    /// In path order (the walk's).
    entries: Vec<LibraryEntry>,
    /// Whether a whole scan finished at least once.
    complete: bool,
    /// When the last scan finished.
    scanned_at: Option<Instant>,
    /// Whether the last scan stopped at a limit.
    truncated: bool,
}

struct Shared {
    root: PathBuf,
    limits: LibraryLimits,
    index: RwLock<Index>,
    /// Held by the scan that runs; a second one waits or is not started.
    scan_lock: Arc<tokio::sync::Mutex<()>>,
    /// Whether a scan runs (so `refresh` starts none).
    scanning: AtomicBool,
}

/// The index of a media folder. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct Library {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library").field("root", &self.shared.root).field("files", &self.len()).finish()
    }
}

impl Library {
    /// The index of the folder `root`, with the default limits. Nothing is
    /// read until [`Library::refresh`] or [`Library::scan`].
    pub fn new(root: PathBuf) -> Self {
        Self::with_limits(root, LibraryLimits::default())
    }

    /// The index of the folder `root`, walked within `limits`.
    pub fn with_limits(root: PathBuf, limits: LibraryLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                root,
                limits,
                index: RwLock::new(Index::default()),
                scan_lock: Arc::new(tokio::sync::Mutex::new(())),
                scanning: AtomicBool::new(false),
            }),
        }
    }

    /// The media folder.
    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// Scans the folder now, on the blocking pool, and waits for it (after
    /// a scan already running).
    pub async fn scan(&self) -> ScanStats {
        let guard = self.shared.scan_lock.clone().lock_owned().await;
        self.run_scan(guard).await
    }

    /// Starts a scan in the background when the index was never read or is
    /// older than [`LibraryLimits::rescan_after`] and none runs; returns at
    /// once. Needs a tokio runtime (does nothing outside one).
    pub fn refresh(&self) {
        if !self.is_stale() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let Ok(guard) = self.shared.scan_lock.clone().try_lock_owned() else { return };
        let library = self.clone();
        tokio::spawn(async move {
            library.run_scan(guard).await;
        });
    }

    async fn run_scan(&self, guard: tokio::sync::OwnedMutexGuard<()>) -> ScanStats {
        self.shared.scanning.store(true, Ordering::SeqCst);
        let shared = self.shared.clone();
        let started = Instant::now();
        let stats = tokio::task::spawn_blocking(move || scan_blocking(&shared)).await.unwrap_or_else(|e| {
            warn!(error = %e, "the media folder scan stopped");
            ScanStats::default()
        });
        self.shared.scanning.store(false, Ordering::SeqCst);
        drop(guard);
        info!(
            files = stats.files,
            tags_read = stats.tags_read,
            reused = stats.reused,
            truncated = stats.truncated,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "media folder indexed"
        );
        stats
    }

    fn is_stale(&self) -> bool {
        if self.shared.scanning.load(Ordering::SeqCst) {
            return false;
        }
        let index = self.read();
        match index.scanned_at {
            None => true,
            Some(at) => at.elapsed() >= self.shared.limits.rescan_after,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.shared.index.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the first scan is still running (searches see only part of
    /// the folder).
    pub fn is_indexing(&self) -> bool {
        !self.read().complete
    }

    /// How many files are indexed.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether no file is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `limit` files matching every word of `query` (in the title,
    /// artist, album or path), best first: the title itself, then titles
    /// holding the words as typed, then the rest in path order. Starts a
    /// rescan when the index is old.
    pub fn find(&self, query: &str, limit: usize) -> Vec<LibraryEntry> {
        self.refresh();
        let index = self.read();
        let mut found = matches(&index.entries, query);
        found.truncate(limit);
        found.into_iter().map(|(_, entry)| entry.clone()).collect()
    }

    /// Page `page` (from 1; past the last is the last) of the files
    /// matching `query`, or of every file. Starts a rescan when the index is
    /// old.
    pub fn page(&self, query: Option<&str>, page: usize) -> LibraryPage {
        self.refresh();
        let index = self.read();
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        let found: Vec<&LibraryEntry> = match query {
            Some(q) => matches(&index.entries, q).into_iter().map(|(_, e)| e).collect(),
            None => index.entries.iter().collect(),
        };
        let pages = found.len().div_ceil(PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        LibraryPage {
            entries: found.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).map(|e| (*e).clone()).collect(),
            page,
            pages,
            matching: found.len(),
            total: index.entries.len(),
            query: query.map(str::to_owned),
            indexing: !index.complete,
            truncated: index.truncated,
        }
    }

    /// The file whose [`LibraryEntry::id`] is `id`.
    pub fn by_id(&self, id: &str) -> Option<LibraryEntry> {
        self.refresh();
        self.read().entries.iter().find(|e| e.id() == id).cloned()
    }

    /// The file at `path` below the media folder (`./` and repeated
    /// separators ignored).
    pub fn by_path(&self, path: &str) -> Option<LibraryEntry> {
        let wanted = normal_path(Path::new(path))?;
        self.read().entries.iter().find(|e| e.path == wanted).cloned()
    }
}

#[async_trait]
impl Catalog for Library {
    fn name(&self) -> &'static str {
        "Local files"
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<TrackMeta>, LookupError> {
        Ok(self.find(query, limit).iter().map(LibraryEntry::to_meta).collect())
    }
}

/// `path` as the index spells it: its normal components joined with `/`;
/// `None` for one that leaves the folder or is not UTF-8.
fn normal_path(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The entries matching every word of `query`, best first (stable: path
/// order within a rank).
fn matches<'a>(entries: &'a [LibraryEntry], query: &str) -> Vec<(u8, &'a LibraryEntry)> {
    let phrase = normalize(query);
    let words: Vec<&str> = phrase.split_whitespace().collect();
    if words.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<(u8, &LibraryEntry)> = entries
        .iter()
        .filter(|e| words.iter().all(|w| e.haystack.contains(w)))
        .map(|e| {
            let title = normalize(&e.title);
            let rank = if title == phrase {
                3
            } else if title.contains(&phrase) {
                2
            } else if normalize(&e.display_title()).contains(&phrase) {
                1
            } else {
                0
            };
            (rank, e)
        })
        .collect();
    found.sort_by_key(|(rank, _)| std::cmp::Reverse(*rank));
    found
}

/// Lower case, with separators file names use instead of spaces (`_`,
/// `-`, `.`) read as spaces, and runs of spaces as one.
fn normalize(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '\'' { c } else { ' ' })
        .flat_map(char::to_lowercase)
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The file name of `path` without its extension.
fn file_stem(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => name.to_owned(),
    }
}

/// One page of `/library`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryPage {
    /// The files of this page, at most [`PAGE_SIZE`].
    pub entries: Vec<LibraryEntry>,
    /// Which page, from 1.
    pub page: usize,
    /// How many pages there are (at least 1).
    pub pages: usize,
    /// How many files match (every file without a query).
    pub matching: usize,
    /// How many files are indexed.
    pub total: usize,
    /// The words looked for.
    pub query: Option<String>,
    /// Whether the first scan is still running.
    pub indexing: bool,
    /// Whether the folder has more files than are indexed.
    pub truncated: bool,
}

/// The longest title a `/library` line shows, escaped.
const LINE_TITLE_CHARS: usize = 80;
/// The longest path a `/library` line shows, escaped.
const LINE_PATH_CHARS: usize = 70;
/// The longest query the header repeats, escaped.
const HEADER_QUERY_CHARS: usize = 60;

impl LibraryPage {
    /// The reply: a line per file ("Artist – Title (3:21) · path",
    /// escaped), a button per file that queues it, and page buttons. Fits
    /// Discord's 2000 characters whatever the tags and paths hold.
    pub fn message(&self) -> OutgoingMessage {
        let query = self.query.as_deref().map(|q| fit_escaped(q, HEADER_QUERY_CHARS));
        let mut text = String::new();
        if self.entries.is_empty() {
            text.push_str(&match &query {
                Some(q) => format!("No file of the media folder matches “{q}”."),
                None => "The media folder has no audio files.".to_owned(),
            });
        } else {
            text.push_str(&match &query {
                Some(q) => format!(
                    "📁 {} of {} file{} match “{q}” · page {}/{} — press a number to queue it:\n",
                    self.matching,
                    self.total,
                    plural(self.total),
                    self.page,
                    self.pages
                ),
                None => format!(
                    "📁 Media folder: {} file{} · page {}/{} — press a number to queue it:\n",
                    self.total,
                    plural(self.total),
                    self.page,
                    self.pages
                ),
            });
            let first = (self.page - 1) * PAGE_SIZE;
            for (n, entry) in self.entries.iter().enumerate() {
                let length = entry.duration_ms.map(|ms| format!(" ({})", player_messages::duration(ms)));
                text.push_str(&format!(
                    "`{}` **{}**{} · {}\n",
                    first + n + 1,
                    fit_escaped(&entry.display_title(), LINE_TITLE_CHARS),
                    length.unwrap_or_default(),
                    fit_escaped(&entry.path, LINE_PATH_CHARS),
                ));
            }
        }
        if self.indexing {
            text.push_str(&format!("\n(Still reading the media folder: {} files so far.)", self.total));
        } else if self.truncated {
            text.push_str(&format!("\n(Only the first {} files of the media folder are listed.)", self.total));
        }
        let first = (self.page - 1) * PAGE_SIZE;
        let mut buttons: Vec<Button> = self
            .entries
            .iter()
            .enumerate()
            .map(|(n, entry)| Button {
                custom_id: format!("{PLAY_BUTTON_PREFIX}{}", entry.button_query()),
                label: (first + n + 1).to_string(),
                style: ButtonStyle::Secondary,
            })
            .collect();
        let nav = |label: &str, to: usize| {
            player_messages::library_page_id(to, self.query.as_deref()).map(|custom_id| Button {
                custom_id,
                label: label.to_owned(),
                style: ButtonStyle::Primary,
            })
        };
        if self.page > 1 {
            buttons.extend(nav("◀ Previous", self.page - 1));
        }
        if self.page < self.pages {
            buttons.extend(nav("Next ▶", self.page + 1));
        }
        OutgoingMessage { content: text.trim_end().to_owned(), buttons }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `text` escaped, cut (with "…") so the escaped text has at most `max`
/// characters.
fn fit_escaped(text: &str, max: usize) -> String {
    let escaped = escape_markdown(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let piece = escape_markdown(c.encode_utf8(&mut [0; 4]));
        let len = piece.chars().count();
        if used + len + 1 > max {
            break;
        }
        used += len;
        out.push_str(&piece);
    }
    out.push('…');
    out
}

/// A file the walk found.
struct Found {
    path: String,
    full: PathBuf,
    stamp: Stamp,
}

/// Walks the folder and reads the tags of new and changed files; during
/// the first scan, shows what was read every few files.
fn scan_blocking(shared: &Shared) -> ScanStats {
    let root = match shared.root.canonicalize() {
        Ok(root) => root,
        Err(e) => {
            warn!(error = %e, "the media folder cannot be read");
            return ScanStats::default();
        }
    };
    let (found, truncated) = walk(&root, &shared.limits);
    let (previous, first_scan) = {
        let index = shared.index.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let previous: HashMap<String, LibraryEntry> =
            index.entries.iter().map(|e| (e.path.clone(), e.clone())).collect();
        (previous, !index.complete)
    };
    let mut stats = ScanStats { files: found.len(), truncated, ..ScanStats::default() };
    let mut entries = Vec::with_capacity(found.len());
    let mut published = 0;
    for file in found {
        match previous.get(&file.path).filter(|e| e.stamp == file.stamp) {
            Some(known) => {
                stats.reused += 1;
                entries.push(known.clone());
            }
            None => {
                stats.tags_read += 1;
                let tags = read_tags(&file.full);
                entries.push(LibraryEntry::new(file.path, tags, file.stamp));
            }
        }
        if first_scan && entries.len() - published >= PUBLISH_EVERY {
            let mut index = shared.index.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            index.entries.extend_from_slice(&entries[published..]);
            published = entries.len();
        }
    }
    let mut index = shared.index.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    *index = Index { entries, complete: true, scanned_at: Some(Instant::now()), truncated };
    stats
}

/// The audio files below `root` (canonical), in path order, within
/// `limits`; and whether a limit cut the walk short.
fn walk(root: &Path, limits: &LibraryLimits) -> (Vec<Found>, bool) {
    let mut found = Vec::new();
    let mut walked = 0usize;
    let mut truncated = false;
    // Depth first, names sorted, so the index (and a partial one) is in
    // path order.
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), String::new(), 0)];
    'walk: while let Some((dir, prefix, depth)) = stack.pop() {
        let Ok(reader) = fs::read_dir(&dir) else { continue };
        let mut children: Vec<(String, fs::DirEntry)> = Vec::new();
        for entry in reader.flatten() {
            walked += 1;
            if walked > MAX_WALKED_ENTRIES {
                truncated = true;
                break;
            }
            // Names that are not UTF-8 cannot be typed or shown; dot files
            // are the system's (.Trash, .DS_Store).
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if !name.starts_with('.') {
                children.push((name, entry));
            }
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));
        let mut subdirs = Vec::new();
        for (name, entry) in children {
            let Ok(kind) = entry.file_type() else { continue };
            let full = entry.path();
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let is_file = if kind.is_symlink() {
                // Like `confine`: a link is followed only when its target
                // is inside the folder. Linked folders are not walked (their
                // files are indexed where they are, and a loop cannot form).
                match full.canonicalize() {
                    Ok(target) if target.starts_with(root) && target.is_file() => true,
                    _ => continue,
                }
            } else if kind.is_dir() {
                if depth < limits.max_depth {
                    subdirs.push((full, path, depth + 1));
                }
                continue;
            } else {
                kind.is_file()
            };
            if !is_file || !is_audio_name(&name) {
                continue;
            }
            if found.len() >= limits.max_files {
                truncated = true;
                break 'walk;
            }
            let Ok(meta) = fs::metadata(&full) else { continue };
            found.push(Found { path, full, stamp: Stamp { size: meta.len(), modified: meta.modified().ok() } });
        }
        if walked > MAX_WALKED_ENTRIES {
            break;
        }
        // Pushed in reverse so the first name is walked first.
        stack.extend(subdirs.into_iter().rev());
    }
    // Files of a folder come before its subfolders' files; sort the whole
    // list so the index reads in path order.
    found.sort_by(|a, b| a.path.cmp(&b.path));
    (found, truncated)
}

fn is_audio_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && AUDIO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// What a file's tags say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tags {
    title: Option<String>,
    artist: Option<String>,
    album: Option<String>,
    duration_ms: Option<u64>,
}

/// Reads `path`'s tags with symphonia's probe: the container's own tags
/// (Vorbis comments, RIFF INFO, MP4 atoms) and those before it (ID3v2).
/// A file that does not probe has none (it is listed by its file name).
fn read_tags(path: &Path) -> Tags {
    let Ok(file) = fs::File::open(path) else { return Tags::default() };
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    // Pictures are never needed; big tags are skipped.
    let options =
        MetadataOptions { limit_metadata_bytes: Limit::Maximum(MAX_TAG_BYTES), limit_visual_bytes: Limit::Maximum(0) };
    let mut probed = match symphonia::default::get_probe().format(&hint, stream, &FormatOptions::default(), &options) {
        Ok(probed) => probed,
        Err(e) => {
            debug!(error = %e, "a media file's tags could not be read");
            return Tags::default();
        }
    };
    let mut tags = Tags::default();
    if let Some(track) = probed.format.default_track() {
        let params = &track.codec_params;
        if let (Some(frames), Some(rate)) = (params.n_frames, params.sample_rate.filter(|r| *r > 0)) {
            tags.duration_ms = Some(frames.saturating_mul(1000) / u64::from(rate));
        }
    }
    if let Some(revision) = probed.format.metadata().current() {
        apply_tags(&mut tags, revision);
    }
    if let Some(metadata) = probed.metadata.get()
        && let Some(revision) = metadata.current()
    {
        apply_tags(&mut tags, revision);
    }
    tags
}

/// Fills what `tags` lacks from `revision`.
fn apply_tags(tags: &mut Tags, revision: &MetadataRevision) {
    let mut album_artist = None;
    for tag in revision.tags() {
        let slot = match tag.std_key {
            Some(StandardTagKey::TrackTitle) => &mut tags.title,
            Some(StandardTagKey::Artist) => &mut tags.artist,
            Some(StandardTagKey::Album) => &mut tags.album,
            Some(StandardTagKey::AlbumArtist) => &mut album_artist,
            _ => continue,
        };
        if slot.is_none() {
            *slot = clean_tag(&tag.value.to_string());
        }
    }
    if tags.artist.is_none() {
        tags.artist = album_artist;
    }
}

/// A tag's text trimmed, without control characters, at most
/// [`MAX_TAG_CHARS`]; `None` when nothing is left.
fn clean_tag(value: &str) -> Option<String> {
    let text: String = value.chars().filter(|c| !c.is_control()).take(MAX_TAG_CHARS).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The media folder as a [`Source`]: `lib:<id>` (a `/library` button for a
/// long path) and, through its [`Catalog`], plain-text searches.
#[derive(Debug, Clone)]
pub struct LibrarySource {
    library: Library,
}

impl LibrarySource {
    /// The files of `library`.
    pub fn new(library: Library) -> Self {
        Self { library }
    }
}

#[async_trait]
impl Source for LibrarySource {
    fn name(&self) -> &'static str {
        "Local files"
    }

    fn claims(&self, query: &Query<'_>) -> bool {
        matches!(query, Query::Locator { scheme: LIBRARY_SCHEME, .. })
    }

    async fn lookup(&self, query: &Query<'_>) -> Result<Vec<TrackMeta>, SourceError> {
        let Query::Locator { rest, .. } = query else { return Err(SourceError::Unsupported) };
        let entry = self.library.by_id(rest).ok_or(SourceError::FileNotFound)?;
        Ok(vec![entry.to_meta()])
    }

    async fn open(&self, track: &TrackMeta, links: &LinkOpener) -> Result<ResolvedSource, SourceError> {
        let locator = track.locator.as_deref().ok_or(SourceError::FileNotFound)?;
        let path = confine_in(Some(self.library.root()), Path::new(locator))?;
        let input = FileInput::new(path).into();
        let mut opened =
            links.open_input(input, track.title.clone(), locator.to_owned(), Some(track.display_title())).await?;
        if opened.duration.is_none() {
            opened.duration = track.duration_ms.map(Duration::from_millis);
        }
        Ok(opened)
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(&self.library)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_test_support::audio::tone_wav;

    /// A WAV tone with a RIFF INFO list (title, artist, album) before its
    /// data, where symphonia reads it.
    fn tagged_wav(hz: f64, secs: f64, title: &str, artist: &str, album: &str) -> Vec<u8> {
        let wav = tone_wav(hz, secs).unwrap();
        let mut info = b"INFO".to_vec();
        for (id, text) in [(b"INAM", title), (b"IART", artist), (b"IPRD", album)] {
            let mut value = text.as_bytes().to_vec();
            value.push(0);
            info.extend_from_slice(id);
            info.extend_from_slice(&(value.len() as u32).to_le_bytes());
            if value.len() % 2 == 1 {
                value.push(0);
            }
            info.extend_from_slice(&value);
        }
        let mut list = b"LIST".to_vec();
        list.extend_from_slice(&(info.len() as u32).to_le_bytes());
        list.extend_from_slice(&info);
        // The canonical header: RIFF(12) + fmt (24), then data.
        let mut out = wav[..36].to_vec();
        out.extend_from_slice(&list);
        out.extend_from_slice(&wav[36..]);
        let riff = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&riff.to_le_bytes());
        out
    }

    fn quick(root: &Path) -> Library {
        Library::with_limits(root.to_path_buf(), LibraryLimits { rescan_after: Duration::ZERO, ..Default::default() })
    }

    #[tokio::test]
    async fn tags_are_read_and_untagged_files_are_named_by_their_file_name() {
        let media = tempfile::tempdir().unwrap();
        fs::create_dir(media.path().join("album")).unwrap();
        fs::write(media.path().join("album/01.wav"), tagged_wav(440.0, 1.5, "Night Drive", "The Tones", "Sines"))
            .unwrap();
        fs::write(media.path().join("plain_song.wav"), tone_wav(660.0, 1.0).unwrap()).unwrap();
        fs::write(media.path().join("notes.txt"), "not audio").unwrap();
        let library = quick(media.path());
        let stats = library.scan().await;
        assert_eq!(stats, ScanStats { files: 2, tags_read: 2, reused: 0, truncated: false });
        let tagged = library.by_path("./album/01.wav").unwrap();
        assert_eq!(tagged.title, "Night Drive");
        assert_eq!(tagged.artist.as_deref(), Some("The Tones"));
        assert_eq!(tagged.album.as_deref(), Some("Sines"));
        assert_eq!(tagged.duration_ms, Some(1500));
        let plain = library.by_path("plain_song.wav").unwrap();
        assert_eq!((plain.title.as_str(), plain.artist.as_deref()), ("plain_song", None));
        assert_eq!(plain.duration_ms, Some(1000));
        // Words find tags, file names (underscores are spaces) and albums.
        assert_eq!(library.find("night drive", 5)[0].path, "album/01.wav");
        assert_eq!(library.find("TONES sines", 5)[0].path, "album/01.wav");
        assert_eq!(library.find("plain song", 5)[0].path, "plain_song.wav");
        assert!(library.find("nothing like it", 5).is_empty());
        assert!(library.find("   ", 5).is_empty());
    }

    #[tokio::test]
    async fn the_title_itself_ranks_before_files_that_only_mention_the_words() {
        let media = tempfile::tempdir().unwrap();
        fs::write(media.path().join("a.wav"), tagged_wav(440.0, 0.5, "Blue Night Drive", "X", "Drive")).unwrap();
        fs::write(media.path().join("b.wav"), tagged_wav(440.0, 0.5, "Other", "Drive Band", "Blue")).unwrap();
        fs::write(media.path().join("c.wav"), tagged_wav(440.0, 0.5, "Drive", "Y", "Z")).unwrap();
        let library = quick(media.path());
        library.scan().await;
        let order: Vec<String> = library.find("drive", 10).into_iter().map(|e| e.path).collect();
        assert_eq!(order, ["c.wav", "a.wav", "b.wav"]);
    }

    #[tokio::test]
    async fn the_walk_is_bounded_in_depth_and_files_and_ignores_links_out_of_the_folder() {
        let media = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let tone = tone_wav(440.0, 0.2).unwrap();
        fs::write(outside.path().join("secret.wav"), &tone).unwrap();
        fs::create_dir(outside.path().join("dir")).unwrap();
        fs::write(outside.path().join("dir/also.wav"), &tone).unwrap();
        let mut deep = media.path().to_path_buf();
        for level in 1..=3 {
            deep = deep.join(format!("d{level}"));
            fs::create_dir(&deep).unwrap();
            fs::write(deep.join(format!("level{level}.wav")), &tone).unwrap();
        }
        fs::write(media.path().join("top.wav"), &tone).unwrap();
        fs::write(media.path().join(".hidden.wav"), &tone).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.wav"), media.path().join("link_out.wav")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("dir"), media.path().join("dir_out")).unwrap();
        std::os::unix::fs::symlink(media.path().join("top.wav"), media.path().join("link_in.wav")).unwrap();

        let limits = LibraryLimits { max_depth: 2, max_files: 100, rescan_after: Duration::ZERO };
        let library = Library::with_limits(media.path().to_path_buf(), limits);
        let stats = library.scan().await;
        let page = library.page(None, 1);
        let paths: Vec<&str> = page.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["d1/d2/level2.wav", "d1/level1.wav", "link_in.wav", "top.wav"]);
        assert!(!stats.truncated);

        let limits = LibraryLimits { max_depth: 8, max_files: 3, rescan_after: Duration::ZERO };
        let library = Library::with_limits(media.path().to_path_buf(), limits);
        let stats = library.scan().await;
        assert_eq!((stats.files, stats.truncated), (3, true));
        let page = library.page(None, 1);
        assert!(page.truncated);
        assert!(page.message().content.contains("Only the first 3 files"), "{}", page.message().content);
    }

    #[tokio::test]
    async fn a_rescan_reads_tags_of_new_and_changed_files_only() {
        let media = tempfile::tempdir().unwrap();
        fs::write(media.path().join("same.wav"), tagged_wav(440.0, 0.5, "Same", "A", "B")).unwrap();
        fs::write(media.path().join("changed.wav"), tagged_wav(440.0, 0.5, "Before", "A", "B")).unwrap();
        fs::write(media.path().join("gone.wav"), tagged_wav(440.0, 0.5, "Gone", "A", "B")).unwrap();
        let library = quick(media.path());
        assert_eq!(library.scan().await.tags_read, 3);

        fs::write(media.path().join("changed.wav"), tagged_wav(440.0, 0.7, "After", "A", "B")).unwrap();
        fs::remove_file(media.path().join("gone.wav")).unwrap();
        fs::write(media.path().join("new.wav"), tagged_wav(440.0, 0.5, "New", "A", "B")).unwrap();
        let stats = library.scan().await;
        assert_eq!(stats, ScanStats { files: 3, tags_read: 2, reused: 1, truncated: false });
        assert_eq!(library.by_path("changed.wav").unwrap().title, "After");
        assert_eq!(library.by_path("new.wav").unwrap().title, "New");
        assert!(library.by_path("gone.wav").is_none());
        assert_eq!(library.scan().await, ScanStats { files: 3, tags_read: 0, reused: 3, truncated: false });
    }

    #[tokio::test]
    async fn a_look_at_an_old_index_rescans_in_the_background_and_answers_at_once() {
        let media = tempfile::tempdir().unwrap();
        fs::write(media.path().join("one.wav"), tone_wav(440.0, 0.2).unwrap()).unwrap();
        let library = quick(media.path());
        // Never scanned: the first look starts the scan and answers with
        // what there is (nothing yet, and says so).
        let first = library.page(None, 1);
        assert!(first.indexing);
        assert!(first.message().content.contains("Still reading the media folder"), "{:?}", first.message());
        let deadline = Instant::now() + Duration::from_secs(10);
        while library.is_indexing() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(library.len(), 1);
        fs::write(media.path().join("two.wav"), tone_wav(440.0, 0.2).unwrap()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while library.find("two", 1).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(library.find("two", 1)[0].path, "two.wav", "the old index rescanned on a look");
    }

    #[tokio::test]
    async fn a_page_lists_ten_files_escaped_with_buttons_that_queue_them_and_page_buttons() {
        let media = tempfile::tempdir().unwrap();
        let tone = tone_wav(440.0, 0.2).unwrap();
        for n in 0..23 {
            fs::write(media.path().join(format!("track_{n:02}.wav")), &tone).unwrap();
        }
        fs::write(media.path().join("x.wav"), tagged_wav(440.0, 2.0, "*Bold* `code`", "@everyone", "")).unwrap();
        let library = quick(media.path());
        library.scan().await;
        let page = library.page(None, 1);
        assert_eq!((page.page, page.pages, page.total, page.entries.len()), (1, 3, 24, 10));
        let message = page.message();
        assert!(message.content.starts_with("📁 Media folder: 24 files · page 1/3"), "{}", message.content);
        assert!(message.content.contains("`1` **track\\_00** (0:00) · track\\_00.wav"), "{}", message.content);
        assert!(message.content.contains("`10` **track\\_09**"), "{}", message.content);
        assert_eq!(message.buttons.len(), 11, "ten files and Next");
        assert_eq!(message.buttons[0].custom_id, "search:play:track_00.wav");
        assert_eq!(message.buttons[0].label, "1");
        assert_eq!(message.buttons[10].custom_id, "library:page:2:");

        let last = library.page(None, 99);
        assert_eq!((last.page, last.entries.len()), (3, 4));
        let message = last.message();
        assert!(
            message.content.contains("`24` **\\@everyone – \\*Bold\\* \\`code\\`** (0:02) · x.wav"),
            "{}",
            message.content
        );
        assert_eq!(message.buttons.last().unwrap().custom_id, "library:page:2:");
        assert_eq!(message.buttons[0].label, "21");

        let found = library.page(Some("track 2"), 1).message();
        assert!(found.content.starts_with("📁 5 of 24 files match “track 2” · page 1/1"), "{}", found.content);
        assert_eq!(found.buttons.len(), 5, "one page: no page buttons");
        let none = library.page(Some("zzz"), 1).message();
        assert_eq!(none.content, "No file of the media folder matches “zzz”.");
        assert!(none.buttons.is_empty());
    }

    #[tokio::test]
    async fn a_long_path_gets_a_short_id_its_button_sends_and_the_source_plays() {
        let media = tempfile::tempdir().unwrap();
        let dir = media.path().join("a very long folder name that goes on and on".repeat(2));
        fs::create_dir(&dir).unwrap();
        let name = "an even longer file name, with words: enough to overflow a button.wav";
        fs::write(dir.join(name), tagged_wav(523.0, 1.0, "Long One", "Far", "Deep")).unwrap();
        let library = quick(media.path());
        library.scan().await;
        let entry = library.find("long one", 1).remove(0);
        assert!(entry.path.chars().count() > 100, "{}", entry.path);
        assert_eq!(entry.button_query(), format!("lib:{}", entry.id()));
        assert_eq!(entry.id().len(), 16);
        assert_eq!(entry.id(), path_id(&entry.path), "stable: the same path, the same id");
        let message = library.page(None, 1).message();
        assert_eq!(message.buttons[0].custom_id, format!("search:play:lib:{}", entry.id()));
        assert!(message.buttons.iter().all(|b| b.custom_id.chars().count() <= MAX_CUSTOM_ID_CHARS));
        assert!(message.content.chars().count() < 2000);
        assert_eq!(entry.locator(), format!("./{}", entry.path), "a colon in the path: behind ./");

        let source = LibrarySource::new(library.clone());
        let id = entry.id();
        let query = Query::Locator { scheme: LIBRARY_SCHEME, rest: &id };
        assert!(source.claims(&query));
        assert!(!source.claims(&Query::Text("long one")));
        let found = source.lookup(&query).await.unwrap();
        assert_eq!(found[0].display_title(), "Far – Long One");
        let links = crate::SourceResolver::new(
            timmybot_outbound::SafeHttpClient::new(timmybot_outbound::OutboundPolicy::default()),
            None,
        )
        .links();
        let opened = source.open(&found[0], &links).await.unwrap();
        assert_eq!(opened.title, "Far – Long One");
        assert_eq!(opened.source, entry.locator());
        assert_eq!(opened.duration, Some(Duration::from_secs(1)));
        let missing = Query::Locator { scheme: LIBRARY_SCHEME, rest: "0000000000000000" };
        assert!(matches!(source.lookup(&missing).await, Err(SourceError::FileNotFound)));
    }

    #[test]
    fn messages_fit_discord_whatever_the_tags_hold() {
        let long = "*".repeat(500);
        let entry = |n: usize| {
            let tags = Tags { title: Some(long.clone()), artist: Some(long.clone()), ..Tags::default() };
            LibraryEntry::new(format!("{}/{n}.wav", "_".repeat(300)), tags, Stamp { size: 0, modified: None })
        };
        let page = LibraryPage {
            entries: (0..PAGE_SIZE).map(entry).collect(),
            page: 2,
            pages: 3,
            matching: 30,
            total: 30,
            query: Some("`".repeat(80)),
            indexing: true,
            truncated: false,
        };
        let message = page.message();
        assert!(message.content.chars().count() <= 2000, "{}", message.content.chars().count());
        assert_eq!(message.buttons.len(), 12);
        assert!(message.buttons.iter().all(|b| b.custom_id.chars().count() <= MAX_CUSTOM_ID_CHARS));
        assert_eq!(fit_escaped("a*b", 10), "a\\*b");
        assert_eq!(fit_escaped("abcdef", 4), "abc…");
        assert_eq!(clean_tag("  \u{7}Title\n "), Some("Title".to_owned()));
        assert_eq!(clean_tag(" \n "), None);
    }
}
