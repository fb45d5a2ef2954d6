//! Where tracks come from, as metadata: what a link, a search or a station
//! names, never its audio.
//!
//! Opening audio needs songbird and lives in `timmybot-voice`; everything
//! here is plain HTTP through the outbound client ([`timmybot_outbound`]) and
//! pure parsing, so the interactions Lambda can answer autocomplete with the
//! same code the player resolves `/play` with.
//!
//! - [`meta`]: [`TrackMeta`], what every lookup returns.
//! - [`catalog`]: [`Catalog`], a searchable source of playable tracks.
//! - [`api`]: [`ApiClient`], JSON over the outbound client, with the status
//!   codes every API here shares turned into [`LookupError`]s.
//! - [`radio_browser`]: the Radio Browser station directory.
//! - [`audius`]: the Audius open music catalog.
//! - [`playlist`]: M3U, PLS, XSPF and HLS playlists, detected and parsed
//!   (sans-IO: the caller fetches).
//! - [`icy`]: [`icy::IcyDemuxer`], the song titles Shoutcast/Icecast
//!   stations interleave with their audio.
//! - [`search`]: [`SourceSearch`], what autocomplete and `/search` use.
//! - [`config`]: [`SourcesConfig`], which sources a deployment turns on.
//! - [`links`]: Spotify, Deezer, Apple Music and YouTube links read as
//!   metadata ([`links::parse_link`], [`links::LinkResolver`]).
//! - [`matching`]: metadata-only tracks matched to playable ones of the
//!   catalogs.
#![warn(missing_docs)]

pub mod api;
pub mod audius;
pub mod catalog;
pub mod config;
pub mod error;
mod failover;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod icy;
pub mod links;
pub mod matching;
pub mod meta;
pub mod playlist;
pub mod radio_browser;
mod sanitize;
pub mod search;
mod text;

pub use api::ApiClient;
pub use catalog::Catalog;
pub use config::{EnabledSources, ServiceBases, SourcesConfig, SourcesConfigError};
pub use error::LookupError;
pub use meta::{Origin, TrackMeta};
pub use search::SourceSearch;
pub use text::MAX_TITLE_CHARS;
