//! Linked accounts ("bring your own library"): a member's own Google, Spotify
//! or Plex account, and the token vault that keeps their OAuth tokens.
//!
//! Why a vault: a linked account means holding a refresh token that acts as
//! the member on another service. Those tokens rest in the bot's store
//! (DynamoDB on AWS, SQLite on one machine), and anyone who can read a table
//! backup, an export or a stray log of items must not be able to use them. So
//! every token is sealed with AES-256-GCM before it is stored, under a key
//! that lives only in the application secret (Secrets Manager, or the local
//! secrets file) and never in the store.
//!
//! - [`Provider`]: which service an account belongs to.
//! - [`KeyRing`] and [`TokenKey`]: the versioned keys, parsed from the
//!   application secret; one current key seals, older keys still open old
//!   records, so the key can rotate.
//! - [`TokenVault`]: [`seal`](TokenVault::seal) and
//!   [`open`](TokenVault::open). Each sealed value is bound to its user and
//!   provider, so a record copied to another member's row, or to another
//!   provider, does not open.
//! - [`SealedToken`]: the sealed value and its compact stored form.
//!
//! And file import, which needs no account: [`parse_spotify_export`] and
//! [`parse_exportify_csv`] read an uploaded Spotify data export or
//! Exportify CSV into [`ImportedPlaylist`]s (see the `import` module docs
//! for the shapes assumed and the limits), and [`to_save`] makes
//! them the member's playlists.
//!
//! And [`oauth`], the linking flows' protocol: the link `state`, PKCE, the
//! device grant's answers and polling rules, token answers classified.
//!
//! This crate does no I/O: no store, no HTTP, no AWS SDK.
#![warn(missing_docs)]

mod error;
mod import;
mod key_ring;
pub mod oauth;
mod sealed_token;
mod vault;

pub use error::{ImportError, KeyRingError, MalformedTokenError, OpenError};
pub use import::{
    IMPORTED_PLAYLIST, ImportReport, ImportedPlaylist, ImportedTrack, LIKED_SONGS, MAX_IMPORT_BYTES, MAX_IMPORT_TRACKS,
    ToSave, UNSUPPORTED_FILE, UNTITLED_PLAYLIST, UploadFormat, linked_to_save, parse_exportify_csv,
    parse_spotify_export, parse_upload, to_save,
};
pub use key_ring::{GENERATED_KEY_CONTEXT, GENERATED_KEY_VERSION, KeyRing, TokenKey};
pub use sealed_token::{NONCE_LEN, SealedToken};
pub use timmybot_core::{ParseProviderError, Provider};
pub use vault::TokenVault;
