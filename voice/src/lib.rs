//! Voice playback: one songbird call per guild, fed from the guild's queue.
//!
//! [`GuildPlayers`] is the only entry point. It resolves what a member asked
//! for into an audio source ([`SourceResolver`]), keeps the guild's queue in a
//! [`timmybot_core::QueueStore`], joins the voice channel through songbird and
//! plays. Songbird runs the mixer and the UDP sender on its own threads; every
//! method here is a plain async call.
#![warn(missing_docs)]

mod error;
pub mod playback_meter;
mod player;
mod source;
mod ytdlp;

pub use error::{PlayError, SourceError};
pub use player::{GuildPlayers, PlayOutcome, PlaybackSample, StopOutcome};
pub use source::{ResolvedSource, SourceKind, SourceResolver, classify_query};
pub use ytdlp::{YTDLP_ARGS, YouTubeLink, YtDlp, YtDlpError, YtDlpTrack};
