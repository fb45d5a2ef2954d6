//! The model of one guild's player, as the engine changes it and the
//! stores keep it.

use serde::{Deserialize, Serialize};

use super::{PlaybackClock, Track, TrackId};
use crate::{ChannelId, GuildId, MessageRef, UserId};

/// The most tracks a member can queue, whatever the guild's settings say.
///
/// `/previous` puts the current track back in front of the queue, so a
/// full queue can hold up to [`HISTORY_LEN`] more: the store adapters size
/// their layout for [`MAX_STORED_UPCOMING`] tracks of the largest size
/// (`MAX_SOURCE_BYTES`, `MAX_TITLE_CHARS`).
pub const MAX_QUEUE_LEN: usize = 1000;

/// The most tracks `upcoming` can ever hold: [`MAX_QUEUE_LEN`] queued plus
/// [`HISTORY_LEN`] brought back by `/previous`.
pub const MAX_STORED_UPCOMING: usize = MAX_QUEUE_LEN + HISTORY_LEN;

/// How many played tracks the history keeps (`/history`, `/previous`).
pub const HISTORY_LEN: usize = 20;

/// What happens when a track ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopMode {
    /// Play on through the queue, then stop.
    #[default]
    Off,
    /// Play the current track again and again.
    Track,
    /// Put each track that ends at the back of the queue.
    Queue,
}

impl LoopMode {
    /// The next mode when the controller's loop button is pressed:
    /// off → track → queue → off.
    pub fn cycled(self) -> Self {
        match self {
            Self::Off => Self::Track,
            Self::Track => Self::Queue,
            Self::Queue => Self::Off,
        }
    }

    /// The word members see and type (`off`, `track`, `queue`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Track => "track",
            Self::Queue => "queue",
        }
    }

    /// Parses [`Self::as_str`]'s words.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "off" => Some(Self::Off),
            "track" => Some(Self::Track),
            "queue" => Some(Self::Queue),
            _ => None,
        }
    }
}

/// The track the player is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NowPlaying {
    /// The track.
    pub track: Track,
    /// Where in it playback is.
    pub clock: PlaybackClock,
    /// Changes whenever the audio must be (re)started or moved: a new
    /// track, a replay, a seek, a restart. The player compares it with the
    /// audio it has, and songbird's events carry it so a late event about
    /// older audio is ignored.
    pub epoch: u32,
    /// Members who voted to skip this track.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<UserId>,
    /// What a live stream says it plays now (a radio's ICY `StreamTitle`),
    /// cleaned and capped like a title; the track's own title stays the
    /// station's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_title: Option<String>,
}

/// One guild's player.
///
/// Changed only through the engine ([`PlayerState::apply`] and
/// [`PlayerState::on_event`]); stored on every change by a
/// [`PlayerStore`](crate::PlayerStore), conditional on `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerState {
    /// The guild (the partition key).
    pub guild_id: GuildId,
    /// Incremented on every save; a save names the version it read.
    pub version: u64,
    /// The track playing, paused, or waiting to be heard again.
    pub current: Option<NowPlaying>,
    /// Tracks waiting, in order (position 1 is `upcoming[0]`).
    pub upcoming: Vec<Track>,
    /// Tracks played, oldest first, at most [`HISTORY_LEN`].
    pub history: Vec<Track>,
    /// What happens when a track ends.
    pub loop_mode: LoopMode,
    /// Volume in percent, 0–200.
    pub volume: u16,
    /// Whether a member paused playback.
    pub paused: bool,
    /// The voice channel the bot is in (or is joining); `None` when it is in
    /// none: stopped, left, or disconnected with the queue kept.
    pub voice_channel: Option<ChannelId>,
    /// Where the now-playing controller is posted.
    pub text_channel: Option<ChannelId>,
    /// The controller message, once posted, so it is edited and not sent twice.
    pub controller: Option<MessageRef>,
    /// The next [`TrackId`] to hand out.
    pub next_track_id: u64,
    /// The next [`NowPlaying::epoch`].
    pub next_epoch: u32,
}

impl PlayerState {
    /// A fresh player at `volume` percent that was never saved.
    pub fn new(guild_id: GuildId, volume: u16) -> Self {
        Self {
            guild_id,
            version: 0,
            current: None,
            upcoming: Vec::new(),
            history: Vec::new(),
            loop_mode: LoopMode::Off,
            volume,
            paused: false,
            voice_channel: None,
            text_channel: None,
            controller: None,
            next_track_id: 1,
            next_epoch: 1,
        }
    }

    /// Whether the bot should be in a voice channel playing (or paused on) a
    /// track: what a restart resumes.
    pub fn is_active(&self) -> bool {
        self.voice_channel.is_some() && self.current.is_some()
    }

    /// Whether nothing plays and nothing waits.
    pub fn is_empty(&self) -> bool {
        self.current.is_none() && self.upcoming.is_empty()
    }

    /// The current track's position at `now_ms`; 0 when there is none.
    pub fn position_at(&self, now_ms: u64) -> u64 {
        self.current.as_ref().map_or(0, |c| c.clock.position_at(now_ms))
    }

    /// How long the upcoming tracks last, and how many of them have no
    /// known length (live streams).
    pub fn upcoming_duration(&self) -> (u64, usize) {
        sum_durations(&self.upcoming)
    }

    /// What is left to hear at `now_ms`: the rest of the current track and
    /// every upcoming one, and how many tracks of unknown length are among
    /// them.
    pub fn remaining_at(&self, now_ms: u64) -> (u64, usize) {
        let (upcoming, mut unknown) = self.upcoming_duration();
        let current = match &self.current {
            Some(c) => match c.track.duration_ms {
                Some(length) => length.saturating_sub(c.clock.position_at(now_ms)),
                None => {
                    unknown += 1;
                    0
                }
            },
            None => 0,
        };
        (current.saturating_add(upcoming), unknown)
    }

    /// The ids of the current and upcoming tracks, in play order.
    pub fn queued_ids(&self) -> Vec<TrackId> {
        self.current.iter().map(|c| c.track.id).chain(self.upcoming.iter().map(|t| t.id)).collect()
    }

    /// Prepares a stored state for a new process: no audio exists any
    /// more, so a running clock is frozen where it was at `alive_ms` (the
    /// last moment the previous process was known to be playing) and the
    /// epoch moves on so the player opens the track again at that position.
    pub fn recover(&mut self, alive_ms: u64) {
        let epoch = self.take_epoch();
        if let Some(current) = &mut self.current {
            current.clock.freeze(alive_ms);
            current.clock.ready = false;
            current.epoch = epoch;
        }
    }

    /// A fresh epoch number.
    pub(crate) fn take_epoch(&mut self) -> u32 {
        let epoch = self.next_epoch;
        self.next_epoch = self.next_epoch.wrapping_add(1).max(1);
        epoch
    }

    /// A fresh track id.
    pub(crate) fn take_track_id(&mut self) -> TrackId {
        let id = TrackId(self.next_track_id);
        self.next_track_id += 1;
        id
    }

    /// A queue stored by an older version (schema 1: a current track and the
    /// waiting ones, no ids), as a state of this version: the tracks get ids
    /// and nothing plays until a member asks (the old layout did not say
    /// where the bot was).
    pub fn from_legacy(guild_id: GuildId, version: u64, tracks: Vec<LegacyTrack>) -> Self {
        let mut state = Self::new(guild_id, 100);
        state.version = version;
        let mut tracks = tracks.into_iter();
        if let Some(first) = tracks.next() {
            let track = state.legacy_track(first);
            let epoch = state.take_epoch();
            state.current =
                Some(NowPlaying { track, clock: PlaybackClock::at(0), epoch, votes: Vec::new(), stream_title: None });
        }
        for legacy in tracks {
            let track = state.legacy_track(legacy);
            state.upcoming.push(track);
        }
        state
    }

    fn legacy_track(&mut self, legacy: LegacyTrack) -> Track {
        let id = self.take_track_id();
        Track {
            id,
            source: legacy.source,
            title: super::cap_title(&legacy.title),
            duration_ms: None,
            requested_by: legacy.requested_by,
        }
    }
}

/// A track as schema 1 stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyTrack {
    /// The source.
    pub source: String,
    /// The title.
    pub title: String,
    /// Who asked for it.
    pub requested_by: UserId,
}

fn sum_durations(tracks: &[Track]) -> (u64, usize) {
    tracks.iter().fold((0u64, 0usize), |(total, unknown), t| match t.duration_ms {
        Some(length) => (total.saturating_add(length), unknown),
        None => (total, unknown + 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(id: u64, duration_ms: Option<u64>) -> Track {
        Track {
            id: TrackId(id),
            source: format!("s{id}"),
            title: format!("t{id}"),
            duration_ms,
            requested_by: UserId::new(1).unwrap(),
        }
    }

    #[test]
    fn remaining_time_counts_the_rest_of_the_current_track_and_names_live_ones() {
        let mut state = PlayerState::new(GuildId::new(1).unwrap(), 100);
        state.current = Some(NowPlaying {
            track: track(1, Some(60_000)),
            clock: PlaybackClock { offset_ms: 10_000, since_ms: Some(1_000), ready: true },
            epoch: 1,
            votes: vec![],
            stream_title: None,
        });
        state.upcoming = vec![track(2, Some(30_000)), track(3, None)];
        assert_eq!(state.remaining_at(6_000), (60_000 - 15_000 + 30_000, 1));
        assert_eq!(state.upcoming_duration(), (30_000, 1));
    }

    #[test]
    fn recovering_freezes_the_clock_at_the_last_alive_moment_and_moves_the_epoch() {
        let mut state = PlayerState::new(GuildId::new(1).unwrap(), 100);
        state.current = Some(NowPlaying {
            track: track(1, Some(60_000)),
            clock: PlaybackClock { offset_ms: 0, since_ms: Some(1_000), ready: true },
            epoch: 4,
            votes: vec![],
            stream_title: None,
        });
        state.recover(21_000);
        let current = state.current.unwrap();
        assert_eq!(current.clock, PlaybackClock::at(20_000));
        assert_ne!(current.epoch, 4);
    }

    #[test]
    fn loop_modes_cycle_and_parse_their_words() {
        assert_eq!(LoopMode::Off.cycled(), LoopMode::Track);
        assert_eq!(LoopMode::Track.cycled(), LoopMode::Queue);
        assert_eq!(LoopMode::Queue.cycled(), LoopMode::Off);
        for mode in [LoopMode::Off, LoopMode::Track, LoopMode::Queue] {
            assert_eq!(LoopMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(LoopMode::parse("all"), None);
    }

    #[test]
    fn legacy_queues_become_states_with_ids_that_wait_for_a_member() {
        let user = UserId::new(7).unwrap();
        let legacy = |n: u32| LegacyTrack { source: format!("s{n}"), title: format!("t{n}"), requested_by: user };
        let state = PlayerState::from_legacy(GuildId::new(3).unwrap(), 9, vec![legacy(1), legacy(2)]);
        assert_eq!(state.version, 9);
        assert_eq!(state.current.as_ref().unwrap().track.source, "s1");
        assert_eq!(state.upcoming[0].source, "s2");
        assert_ne!(state.current.as_ref().unwrap().track.id, state.upcoming[0].id);
        assert!(!state.is_active(), "no voice channel is known");
    }
}
