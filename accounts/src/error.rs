//! Errors of the accounts crate.
//!
//! None of them carries key bytes, key text or a token: each names what was
//! wrong (a position, a version, a length), never the value. In particular no
//! base64 decoder error is kept as a source, because it quotes the offending
//! byte of the input.

/// The key ring text in the application secret is not valid.
///
/// `position` counts the comma-separated entries from 1 (the current key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    /// No key at all.
    #[error("key ring is empty")]
    Empty,
    /// An entry is not `v<version>:<base64 key>`.
    #[error("key ring entry {position} is not of the form v<version>:<base64 key>")]
    MalformedEntry {
        /// Which entry, from 1.
        position: usize,
    },
    /// An entry's version is not a decimal `u32` without leading zeros.
    #[error("key ring entry {position} has an invalid version (expected v followed by a number)")]
    InvalidVersion {
        /// Which entry, from 1.
        position: usize,
    },
    /// An entry's key is not standard base64.
    #[error("key ring entry {position} (key v{version}) is not valid base64")]
    InvalidBase64 {
        /// Which entry, from 1.
        position: usize,
        /// The entry's key version.
        version: u32,
    },
    /// An entry's key does not decode to 32 bytes.
    #[error("key ring entry {position} (key v{version}) is {length} bytes, expected 32")]
    WrongLength {
        /// Which entry, from 1.
        position: usize,
        /// The entry's key version.
        version: u32,
        /// How many bytes it decoded to.
        length: usize,
    },
    /// Two keys share a version, so a record's version would not say which
    /// key sealed it.
    #[error("key ring has key version {version} more than once")]
    DuplicateVersion {
        /// The repeated version.
        version: u32,
    },
}

/// A stored token string is not `v<version>.<nonce>.<ciphertext>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stored token is malformed: {reason}")]
pub struct MalformedTokenError {
    reason: &'static str,
}

impl MalformedTokenError {
    pub(crate) const fn new(reason: &'static str) -> Self {
        Self { reason }
    }
}

/// A sealed token could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The token was sealed with a key the ring no longer (or not yet) holds:
    /// the key was retired too early, or the secret is out of date.
    #[error("token was sealed with key v{version}, which the key ring does not hold")]
    UnknownKeyVersion {
        /// The version recorded in the token.
        version: u32,
    },
    /// Authentication failed: the record was altered, or it was sealed for
    /// another user or provider. Treat the account as unlinked.
    #[error("token failed authentication: altered, or sealed for another user or provider")]
    Rejected,
    /// The stored form could not be parsed.
    #[error(transparent)]
    Malformed(#[from] MalformedTokenError),
}

/// An uploaded playlist file that cannot be imported.
///
/// Uploaded files are hostile input, so no message repeats their content:
/// the most any variant names is one of our own column names. In particular
/// no `serde_json` error is kept as a source, because it quotes the value it
/// choked on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file is larger than the import limit.
    #[error("file is larger than {limit} bytes")]
    TooLarge {
        /// The limit, [`MAX_IMPORT_BYTES`](crate::MAX_IMPORT_BYTES).
        limit: usize,
    },
    /// One playlist in the file has more entries than the import limit.
    #[error("a playlist has more than {limit} tracks")]
    TooManyTracks {
        /// The limit, [`MAX_IMPORT_TRACKS`](crate::MAX_IMPORT_TRACKS).
        limit: usize,
    },
    /// The file is not valid JSON.
    #[error("file is not valid JSON")]
    NotJson,
    /// The file is JSON, but holds neither `playlists` nor `tracks` as
    /// Spotify's data export does.
    #[error("file is not a Spotify data export (expected a playlists or tracks list)")]
    NotSpotifyExport,
    /// The file is not CSV: not UTF-8, a quoted field never closes, or a row
    /// has far more fields than any export writes.
    #[error("file is not a valid CSV file")]
    NotCsv,
    /// The CSV header lacks a column the import needs.
    #[error("CSV file has no \"{name}\" column")]
    MissingColumn {
        /// The column's name, as Exportify writes it.
        name: &'static str,
    },
    /// The file holds no playlist at all (no bytes, no header row, or an
    /// export whose lists are empty).
    #[error("file holds no playlist")]
    Empty,
}
