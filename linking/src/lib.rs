//! Linking members' accounts over HTTP (issue #14): the I/O half of the
//! flows whose protocol `timmybot_accounts::oauth` holds, through the
//! outbound client so every call is checked against the outbound policy.
//!
//! - [`GoogleDeviceFlow`]: Google's device authorization grant ("go to this
//!   address, enter this code"), polled at the interval Google asks for.
//! - [`SpotifyAuth`]: Spotify's authorization code flow with PKCE: the link
//!   to approve, the code exchange with the verifier, refresh.
//! - [`SpotifyLibrary`]: a linked member's playlists and liked songs, read
//!   with their token as metadata to match.
//! - [`AccountLinks`]: the service the commands and the callback call:
//!   begin a link, complete it at the callback, refresh single-flight,
//!   import, list, unlink.
#![warn(missing_docs)]

mod google;
mod links;
mod spotify;
mod spotify_library;

pub use google::{GOOGLE_SCOPE, GoogleCredentials, GoogleDeviceFlow};
pub use links::{
    AccountLinks, CallbackPage, ImportSummary, LinkError, LinkPrompt, LinkView, REFRESH_JITTER, REFRESH_LEASE,
    REFRESH_MARGIN, SPOTIFY_CALLBACK_PATH, SPOTIFY_DEVELOPMENT_GRANT, SpotifyLinking, revoke_hint, title,
    unlinked_message,
};
pub use spotify::{SPOTIFY_SCOPES, SpotifyAuth};
pub use spotify_library::{LibraryError, MAX_RETRY_WAIT, SpotifyLibrary, SpotifyLibraryRead};
