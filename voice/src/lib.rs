//! Voice playback: one task per guild drives a songbird call from the
//! guild's [`PlayerState`](timmybot_core::player::PlayerState).
//!
//! [`GuildPlayers`] is the only entry point. Each guild's task applies
//! members' commands and songbird's events through the queue engine
//! (`timmybot_core::player`), stores the state on every change in a
//! [`timmybot_core::PlayerStore`], and makes songbird follow it: in the
//! right channel, playing the current track at its position, paused or not,
//! at its volume. [`SourceResolver`] opens what members ask for. Songbird
//! runs the mixer and the UDP sender on its own threads; every method here
//! is a plain async call.
#![warn(missing_docs)]

mod controller;
mod directory_sources;
mod error;
mod hls;
mod http_source;
mod library;
mod member_playlists;
pub mod playback_meter;
mod player_task;
mod players;
mod playlist_links;
mod registry;
mod service_links;
mod source;
mod track_matcher;
mod ytdlp;

pub use directory_sources::{AudiusSource, RadioSource};
pub use error::{PlayError, SourceError};
pub use http_source::TooLarge;
pub use library::{
    FILES_DISABLED_MESSAGE, LIBRARY_SCHEME, Library, LibraryEntry, LibraryLimits, LibraryPage, LibrarySource,
    MAX_DEPTH, MAX_FILES, PAGE_SIZE, RESCAN_AFTER, ScanStats, path_id,
};
pub use member_playlists::{FIRST_TRACK_ATTEMPTS, OpenedPlaylist};
pub use playback_meter::FrameStats;
pub use players::{
    GuildPlayers, PlaybackSample, PlayerFrameStats, PlayerRequest, PlayersConfig, PlayersDeps, VoiceUpdate,
};
pub use registry::{LOCATOR_SCHEMES, Lookup, Query, Source};
pub use service_links::{LINK_TTL, MAX_MATCHED_TRACKS, ServiceLinkSource, link_key};
pub use source::{LinkOpener, ResolveNotes, ResolvedSource, SourceKind, SourceResolver, StreamTitles, classify_query};
pub use track_matcher::{MATCH_TTL, MISS_TTL, TrackMatcher, match_key};
pub use ytdlp::{
    SOUNDCLOUD_FORMAT, SoundCloudLink, YTDLP_ARGS, YouTubeLink, YtDlp, YtDlpError, YtDlpTrack, soundcloud_args,
};
