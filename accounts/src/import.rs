//! File import, no account needed: a playlist file a member uploads becomes
//! tracks to save as a playlist (#14).
//!
//! Two formats live here, the ones nothing else in the workspace reads:
//!
//! - [`parse_spotify_export`]: the JSON of Spotify's "Download your data"
//!   (`Playlist1.json`, `YourLibrary.json`).
//! - [`parse_exportify_csv`]: the CSV that Exportify (and tools copying its
//!   columns) writes for one playlist.
//!
//! M3U and XSPF files are read by `timmybot_sources::playlist`, not here.
//!
//! Sans-IO and hostile input: the caller hands over the uploaded bytes.
//! Files over [`MAX_IMPORT_BYTES`] and playlists over [`MAX_IMPORT_TRACKS`]
//! entries are refused, and no [`ImportError`] repeats the file's content.
//! Entries that cannot become a track (a podcast episode, a local file, a
//! row without a title) are left out and counted in
//! [`ImportedPlaylist::skipped`], so the member can be told.

mod csv;
mod exportify;
mod spotify_export;
mod upload;

pub use exportify::parse_exportify_csv;
pub use spotify_export::{LIKED_SONGS, UNTITLED_PLAYLIST, parse_spotify_export};
pub use upload::{
    IMPORTED_PLAYLIST, ImportReport, ToSave, UNSUPPORTED_FILE, UploadFormat, linked_to_save, parse_upload, to_save,
};

use crate::ImportError;

/// Largest file the import reads: 5 MiB.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;

/// Most entries (tracks, and entries skipped) one imported playlist may
/// have: 10,000, Spotify's own cap on a playlist.
pub const MAX_IMPORT_TRACKS: usize = 10_000;

/// One track read from an imported file, ready to be matched to something
/// the bot can play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedTrack {
    /// The track's title; never empty.
    pub title: String,
    /// The artist, or several joined by `", "`; may be empty.
    pub artist: String,
    /// The album, when the file names one.
    pub album: Option<String>,
    /// The length in milliseconds, when the file gives it.
    pub duration_ms: Option<u64>,
    /// The track's ISRC, when the file gives it.
    pub isrc: Option<String>,
    /// The track's Spotify URI (`spotify:track:<id>`), when the file gives
    /// one; other URIs (local files, episodes) are not kept.
    pub spotify_uri: Option<String>,
}

/// One playlist read from an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPlaylist {
    /// The playlist's name, trimmed.
    pub name: String,
    /// Its tracks, in file order.
    pub tracks: Vec<ImportedTrack>,
    /// How many entries were left out: episodes, audiobooks, local files,
    /// entries without a track, or without a title.
    pub skipped: usize,
}

/// Refuses a file over [`MAX_IMPORT_BYTES`], and strips a UTF-8 byte order
/// mark.
fn check_size(bytes: &[u8]) -> Result<&[u8], ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge { limit: MAX_IMPORT_BYTES });
    }
    Ok(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

/// Refuses a playlist whose `entries` exceed [`MAX_IMPORT_TRACKS`].
fn check_entries(entries: usize) -> Result<(), ImportError> {
    if entries > MAX_IMPORT_TRACKS {
        return Err(ImportError::TooManyTracks { limit: MAX_IMPORT_TRACKS });
    }
    Ok(())
}

/// The trimmed text, or `None` when nothing is left.
fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The URI when it names a Spotify track.
fn track_uri(uri: &str) -> Option<String> {
    let uri = uri.trim();
    let id = uri.strip_prefix("spotify:track:")?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| uri.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_size_strips_a_byte_order_mark() {
        assert_eq!(check_size(b"\xEF\xBB\xBFabc").unwrap(), b"abc");
        assert_eq!(check_size(b"abc").unwrap(), b"abc");
    }

    #[test]
    fn check_size_refuses_one_byte_over_the_limit() {
        assert!(check_size(&vec![b' '; MAX_IMPORT_BYTES]).is_ok());
        assert_eq!(
            check_size(&vec![b' '; MAX_IMPORT_BYTES + 1]),
            Err(ImportError::TooLarge { limit: MAX_IMPORT_BYTES })
        );
    }

    #[test]
    fn track_uri_keeps_only_spotify_track_uris() {
        assert_eq!(
            track_uri(" spotify:track:4uLU6hMCjMI75M1A2tKUQC ").as_deref(),
            Some("spotify:track:4uLU6hMCjMI75M1A2tKUQC")
        );
        assert_eq!(track_uri("spotify:local:Artist:Album:Title:200"), None);
        assert_eq!(track_uri("spotify:episode:abc"), None);
        assert_eq!(track_uri("spotify:track:"), None);
        assert_eq!(track_uri("spotify:track:a/b"), None);
    }
}
