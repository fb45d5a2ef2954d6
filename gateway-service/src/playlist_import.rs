//! `/playlist import file:`: downloads the member's upload from Discord's
//! CDN through the outbound client (bounded at the import's 5 MiB), reads
//! it with `timmybot_accounts`' parsers and saves what it holds as the
//! sender's playlists. The file is hostile input: nothing of its content
//! reaches a log, and the reply names only what was saved.

use std::sync::Arc;

use timmybot_accounts::{
    ImportError, ImportReport, MAX_IMPORT_BYTES, UNSUPPORTED_FILE, UploadFormat, parse_upload, to_save,
};
use timmybot_core::{Clock, PlaylistName, PlaylistStore, StoreErrorKind, UserId};
use timmybot_outbound::{FetchError, OutboundPolicy, SafeHttpClient};
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
        let Some(format) = UploadFormat::of(filename) else { return (UNSUPPORTED_FILE.to_owned(), false) };
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
        let imported = match parse_upload(format, filename, &bytes) {
            Ok(imported) => imported,
            Err(e) => {
                info!(reason = %e, "an uploaded playlist file was refused");
                return (e.user_message(), false);
            }
        };
        let (saves, empty) = to_save(imported, owner, name, self.clock.now_unix_millis());
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
