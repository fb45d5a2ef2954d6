//! `/playlist import file:`: downloads the member's upload from Discord's
//! CDN through the outbound client (bounded at the import's 5 MiB), reads
//! it with `timmybot_accounts`' parsers (Spotify's data export, Exportify's
//! CSV: tracks by their metadata) or `timmybot_sources`' (M3U, PLS, XSPF:
//! links, played as they are) and saves what it holds as the sender's
//! playlists. The file is hostile input: nothing of its content
//! reaches a log, and the reply names only what was saved.

use std::sync::Arc;

use timmybot_accounts::{
    IMPORTED_PLAYLIST, ImportError, ImportReport, MAX_IMPORT_BYTES, ToSave, UNSUPPORTED_FILE, UploadFormat,
    parse_upload, to_save,
};
use timmybot_core::player::{MAX_SOURCE_BYTES, cap_title};
use timmybot_core::{
    Clock, MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, PlaylistStore, StoreErrorKind, UserId,
};
use timmybot_outbound::{FetchError, OutboundPolicy, SafeHttpClient};
use timmybot_sources::playlist::{self as link_lists, PlaylistFormat};
use tracing::{info, warn};

/// What the member is told when the upload could not be fetched.
const NOT_DOWNLOADED: &str = "I could not download that file from Discord; try uploading it again.";

/// Imports uploaded playlist files into the members' playlists.
#[derive(Clone)]
pub struct PlaylistImporter {
    http: SafeHttpClient,
    store: Arc<dyn PlaylistStore>,
    clock: Arc<dyn Clock>,
}

impl PlaylistImporter {
    /// Downloads under `policy` (its body limit raised to the import's),
    /// saves into `store`, times the playlists with `clock`.
    pub fn new(policy: &OutboundPolicy, store: Arc<dyn PlaylistStore>, clock: Arc<dyn Clock>) -> Self {
        let policy = OutboundPolicy { max_body_bytes: MAX_IMPORT_BYTES as u64, ..policy.clone() };
        Self { http: SafeHttpClient::new(policy), store, clock }
    }

    /// Imports the upload at `url` named `filename` as `owner`'s (under
    /// `name` when given and the file holds one playlist). Returns the
    /// reply and whether it failed on our side (the store, the download).
    pub async fn import(
        &self,
        owner: UserId,
        url: &str,
        filename: &str,
        name: Option<&PlaylistName>,
    ) -> (String, bool) {
        let Some(kind) = Upload::of(filename) else { return (UNSUPPORTED_FILE.to_owned(), false) };
        let Ok(url) = url::Url::parse(url) else { return (NOT_DOWNLOADED.to_owned(), false) };
        let bytes = match self.http.get_limited(&url).await {
            Ok(bytes) => bytes,
            Err(FetchError::TooLarge { .. }) => {
                return (ImportError::TooLarge { limit: MAX_IMPORT_BYTES }.user_message(), false);
            }
            Err(e) => {
                warn!(error = %e, "downloading an uploaded playlist file failed");
                return (NOT_DOWNLOADED.to_owned(), true);
            }
        };
        let now_ms = self.clock.now_unix_millis();
        let (saves, empty) = match kind {
            Upload::Export(format) => match parse_upload(format, filename, &bytes) {
                Ok(imported) => to_save(imported, owner, name, now_ms),
                Err(e) => {
                    info!(reason = %e, "an uploaded playlist file was refused");
                    return (e.user_message(), false);
                }
            },
            Upload::Links(format) => match link_lists::parse(format, &bytes, &url) {
                Ok(list) => (vec![links_to_save(list, filename, owner, name, now_ms)], 0),
                Err(e) => {
                    info!(reason = %e, "an uploaded playlist file was refused");
                    return (e.user_message().replace("That link is", "That file is"), false);
                }
            },
        };
        let mut report = ImportReport { empty, ..ImportReport::default() };
        for save in saves {
            match self.store.save_playlist(&save.playlist).await {
                Ok(()) => report.saved.push((save.playlist.name, save.playlist.entries.len(), save.skipped)),
                Err(e) if e.kind() == StoreErrorKind::LimitReached => report.over_cap += 1,
                Err(e) => {
                    warn!(error = %e, "saving an imported playlist failed");
                    let mut text = report.message();
                    text.push_str("\nSaving the rest failed; try the import again.");
                    return (text, true);
                }
            }
        }
        info!(user_id = %owner, playlists = report.saved.len(), "playlist file imported");
        (report.message(), false)
    }
}

/// What an upload is, by its name.
enum Upload {
    /// Tracks by their metadata (matched when played).
    Export(UploadFormat),
    /// Links, played as they are.
    Links(PlaylistFormat),
}

impl Upload {
    fn of(filename: &str) -> Option<Self> {
        if let Some(format) = UploadFormat::of(filename) {
            return Some(Self::Export(format));
        }
        // By the extension alone: nothing is downloaded yet.
        match link_lists::detect(None, filename, b"")? {
            format @ (PlaylistFormat::M3u | PlaylistFormat::Pls | PlaylistFormat::Xspf) => Some(Self::Links(format)),
            PlaylistFormat::Hls => None,
        }
    }
}

/// An M3U, PLS or XSPF list as the member's playlist of playable links:
/// named `name`, else the list's own title, else the file's name.
fn links_to_save(
    list: link_lists::Playlist,
    filename: &str,
    owner: UserId,
    name: Option<&PlaylistName>,
    now_ms: u64,
) -> ToSave {
    let stem = filename.rsplit_once('.').map_or(filename, |(stem, _)| stem);
    let name =
        name.cloned().unwrap_or_else(|| PlaylistName::lossy(list.title.as_deref().unwrap_or(stem), IMPORTED_PLAYLIST));
    let mut skipped = list.skipped;
    let entries: Vec<PlaylistEntry> = list
        .entries
        .into_iter()
        .filter_map(|entry| {
            let source = entry.location.to_string();
            if source.len() > MAX_SOURCE_BYTES {
                skipped += 1;
                return None;
            }
            let fallback = entry.location.path_segments().and_then(|mut s| s.next_back()).unwrap_or("").to_owned();
            let title = cap_title(entry.title.as_deref().unwrap_or(&fallback));
            Some(PlaylistEntry {
                title,
                artist: None,
                duration_ms: entry.duration_ms,
                isrc: None,
                source: Some(source),
            })
        })
        .collect();
    let playlist = MemberPlaylist { owner, name, origin: PlaylistOrigin::File, entries, updated_at_ms: now_ms };
    ToSave { playlist, skipped }
}
