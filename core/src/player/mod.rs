//! The queue engine: a guild's player as a pure state machine.
//!
//! [`PlayerState`] is the whole model (current track and its position,
//! upcoming, history, loop mode, volume, paused, voice channel). Members'
//! commands ([`Command`]) and playback events ([`Event`]) are transitions
//! with typed results ([`Outcome`], [`EventOutcome`], [`PlayerError`]);
//! [`messages`] turns those into what members read. The player in `voice/`
//! drives it; a [`PlayerStore`](crate::PlayerStore) keeps it.

mod clock;
mod engine;
pub mod messages;
mod seek;
mod shuffle;
mod state;
mod track;

pub use clock::PlaybackClock;
pub use engine::{
    Caller, Command, Context, DjAction, Event, EventOutcome, Limits, MAX_VOLUME, Outcome, Placement, PlayerError,
    fair_position, votes_needed,
};
pub use seek::{SeekParseError, SeekTarget};
pub use shuffle::{SeededRng, shuffle_seeded};
pub use state::{HISTORY_LEN, LegacyTrack, LoopMode, MAX_QUEUE_LEN, MAX_STORED_UPCOMING, NowPlaying, PlayerState};
pub use track::{MAX_SOURCE_BYTES, MAX_TITLE_CHARS, NewTrack, SourceTooLong, Track, TrackId, cap_title};

#[cfg(test)]
mod engine_tests;
