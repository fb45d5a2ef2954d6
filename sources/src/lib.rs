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
//! - [`links`]: Spotify, Deezer, Apple Music and YouTube links read as
//!   metadata ([`links::parse_link`], [`links::LinkResolver`]).
//! - [`matching`]: metadata-only tracks matched to playable ones of the
//!   catalogs.
#![warn(missing_docs)]

pub mod api;
pub mod catalog;
pub mod error;
pub mod links;
pub mod matching;
pub mod meta;

pub use api::ApiClient;
pub use catalog::Catalog;
pub use error::LookupError;
pub use meta::{Origin, TrackMeta};
