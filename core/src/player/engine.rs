//! The queue engine: every command and every playback event is a pure
//! transition of a [`PlayerState`], with a typed result the reply is made
//! from. No I/O: the player in `voice/` runs it, makes songbird follow the
//! state, and stores the state after each change.

use std::collections::HashMap;

use super::{
    HISTORY_LEN, LoopMode, MAX_QUEUE_LEN, NewTrack, NowPlaying, PlaybackClock, PlayerState, SeekTarget, Track, TrackId,
    cap_title, shuffle_seeded,
};
use crate::{ChannelId, GuildSettings, UserId};

/// The loudest volume, in percent.
pub const MAX_VOLUME: u16 = 200;

/// Where `/play` puts its tracks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// At the end of the queue (or, with the fair queue, after the
    /// requester's share of the current round).
    #[default]
    End,
    /// First in the queue (`next`).
    Next,
    /// At once, ending the current track (`now`).
    Now,
}

/// The guild's limits, from its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most tracks that may wait (at most [`MAX_QUEUE_LEN`]).
    pub max_queue_len: usize,
    /// The longest track accepted, in milliseconds (live streams are not
    /// limited here).
    pub max_track_ms: u64,
    /// Whether new tracks round-robin between requesters.
    pub fair_queue: bool,
    /// Share of the listeners whose votes skip a track, in percent.
    pub vote_skip_percent: u8,
}

impl Limits {
    /// The limits `settings` set.
    pub fn from_settings(settings: &GuildSettings) -> Self {
        Self {
            max_queue_len: (settings.max_queue_len as usize).min(MAX_QUEUE_LEN),
            max_track_ms: u64::from(settings.max_track_secs) * 1000,
            fair_queue: settings.fair_queue,
            vote_skip_percent: settings.vote_skip_percent,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_settings(&GuildSettings::defaults(crate::GuildId::new(1).expect("non-zero")))
    }
}

/// Who runs a command, and where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The member.
    pub user: UserId,
    /// Whether they may do what a DJ may (the DJ role, Manage Server, no
    /// DJ role set, or alone with the bot).
    pub dj: bool,
    /// The voice channel they sit in, if any.
    pub voice_channel: Option<ChannelId>,
    /// The text channel they ran the command in.
    pub text_channel: Option<ChannelId>,
}

/// What a command runs against besides the state.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Unix milliseconds now.
    pub now_ms: u64,
    /// The guild's limits.
    pub limits: Limits,
    /// Who runs it.
    pub caller: Caller,
}

/// A member's command to the player.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Add tracks (`/play`).
    Enqueue {
        /// The tracks, resolved.
        tracks: Vec<NewTrack>,
        /// Where they go.
        placement: Placement,
    },
    /// Pause the current track.
    Pause,
    /// Resume it (and rejoin the member's channel if the bot left).
    Resume,
    /// Pause if playing, resume if paused (the controller's button).
    TogglePause,
    /// Go to the next track.
    Skip,
    /// Go to the track at this 1-based queue position, skipping those before.
    SkipTo {
        /// The position.
        position: usize,
    },
    /// Play the last track of the history again.
    Previous,
    /// Stop, clear the queue and leave.
    Stop,
    /// Leave the channel, keeping the queue and the position.
    Leave,
    /// Remove the track at this 1-based position.
    Remove {
        /// The position.
        position: usize,
    },
    /// Move a track to another position.
    Move {
        /// Where it is.
        from: usize,
        /// Where it goes.
        to: usize,
    },
    /// Swap two tracks.
    Swap {
        /// One position.
        first: usize,
        /// The other.
        second: usize,
    },
    /// Shuffle the waiting tracks.
    Shuffle {
        /// The shuffle's seed.
        seed: u64,
    },
    /// Remove every waiting track.
    Clear,
    /// Set the loop mode.
    SetLoop(LoopMode),
    /// Step the loop mode on (the controller's button).
    CycleLoop,
    /// Move within the current track.
    Seek(SeekTarget),
    /// Set the volume in percent.
    SetVolume(u16),
    /// Vote to skip; `listeners` are the members in the bot's channel
    /// (bots not counted).
    VoteSkip {
        /// Who listens now.
        listeners: Vec<UserId>,
    },
    /// Queue a track of the history again (a copy, with a new id).
    Requeue {
        /// The history entry.
        track: TrackId,
    },
}

/// Something that happened to the audio or the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The audio of `epoch` is playable (opened, or a seek finished).
    Started {
        /// The track.
        track: TrackId,
        /// The epoch the audio was started for.
        epoch: u32,
    },
    /// The audio of `epoch` reached its end.
    Ended {
        /// The track.
        track: TrackId,
        /// Its epoch.
        epoch: u32,
    },
    /// The audio of `epoch` could not be opened or broke.
    Failed {
        /// The track.
        track: TrackId,
        /// Its epoch.
        epoch: u32,
    },
    /// A live stream announced what it plays now (ICY `StreamTitle`).
    StreamTitle {
        /// The track.
        track: TrackId,
        /// Its epoch.
        epoch: u32,
        /// The announced title, untrusted (cleaned and capped here).
        title: String,
    },
    /// Discord moved the bot to another channel; it follows.
    Moved {
        /// The new channel.
        channel: ChannelId,
    },
    /// The bot is no longer in voice (kicked, its channel deleted, or it
    /// left): playback stops where it was and the queue is kept.
    Disconnected,
}

/// What a command did; the reply is made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Tracks were added.
    Enqueued {
        /// The first track added.
        first: Track,
        /// How many were added.
        count: usize,
        /// 1-based queue position of the first, `None` when it plays now.
        position: Option<usize>,
        /// Tracks left out because the queue was full.
        dropped_full: usize,
        /// Tracks left out for being longer than allowed.
        dropped_long: usize,
        /// A kept track that plays again because the bot rejoined.
        resumed: Option<Track>,
    },
    /// Playback paused.
    Paused(Track),
    /// Playback resumed; `rejoined` when the bot joins again to do so.
    Resumed {
        /// The track.
        track: Track,
        /// Whether the bot had left the channel.
        rejoined: bool,
    },
    /// A track was skipped.
    Skipped {
        /// The one skipped.
        skipped: Track,
        /// What plays now, if anything.
        next: Option<Track>,
    },
    /// Jumped ahead in the queue.
    SkippedTo {
        /// What plays now.
        next: Track,
        /// How many waiting tracks were passed over.
        passed: usize,
    },
    /// The previous track plays again.
    WentBack(Track),
    /// Stopped and left; the queue is empty.
    Stopped {
        /// How many tracks were dropped, the current one included.
        cleared: usize,
    },
    /// Left the channel; the queue is kept.
    Left {
        /// How many tracks are kept, the current one included.
        kept: usize,
    },
    /// A waiting track was removed.
    Removed {
        /// The track.
        track: Track,
        /// Where it was.
        position: usize,
    },
    /// A waiting track moved.
    Moved {
        /// The track.
        track: Track,
        /// Its old position.
        from: usize,
        /// Its new position.
        to: usize,
    },
    /// Two waiting tracks swapped places.
    Swapped {
        /// Now at the first position.
        first: Track,
        /// Now at the second.
        second: Track,
    },
    /// The waiting tracks were shuffled.
    Shuffled {
        /// How many.
        count: usize,
    },
    /// The waiting tracks were removed.
    Cleared {
        /// How many.
        count: usize,
    },
    /// The loop mode changed.
    LoopSet(LoopMode),
    /// Playback moved within the track.
    Seeked {
        /// The track.
        track: Track,
        /// The new position.
        to_ms: u64,
    },
    /// The volume changed.
    VolumeSet {
        /// The old volume.
        from: u16,
        /// The new one.
        to: u16,
    },
    /// A vote counted, not yet enough.
    Voted {
        /// Votes so far (of members still listening).
        votes: usize,
        /// Votes needed.
        needed: usize,
    },
    /// Enough votes: the track was skipped.
    VoteSkipped {
        /// The one skipped.
        skipped: Track,
        /// What plays now, if anything.
        next: Option<Track>,
        /// The votes that did it.
        votes: usize,
    },
    /// A history entry was queued again.
    Requeued {
        /// The new copy.
        track: Track,
        /// 1-based queue position, `None` when it plays now.
        position: Option<usize>,
    },
}

/// What an event did to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventOutcome {
    /// Nothing: the event was about older audio, or changed nothing visible.
    Ignored,
    /// The current track became audible.
    Started(Track),
    /// A track ended (or failed) and the next one is current.
    Advanced {
        /// The track that ended.
        finished: Track,
        /// Whether it failed rather than ended.
        failed: bool,
        /// The next track; `None` when the queue is finished.
        next: Option<Track>,
    },
    /// The same track plays again (loop track).
    Replayed(Track),
    /// A live stream's announced title changed to this one.
    Retitled(String),
    /// The bot follows a move.
    Followed(ChannelId),
    /// The bot is out of voice; the queue is kept.
    Disconnected,
}

/// Something a DJ may do that others may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DjAction {
    /// Skip someone else's track.
    Skip,
    /// Stop and clear everything.
    Stop,
    /// Clear the queue.
    Clear,
    /// Move someone else's track.
    Move,
    /// Remove someone else's track.
    Remove,
}

impl DjAction {
    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Skip => "skip other members' tracks",
            Self::Stop => "stop the player",
            Self::Clear => "clear the queue",
            Self::Move => "move other members' tracks",
            Self::Remove => "remove other members' tracks",
        }
    }
}

/// Why a command changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlayerError {
    /// The member is in no voice channel.
    #[error("member not in a voice channel")]
    NotInVoice,
    /// The member is in another channel than the bot.
    #[error("member in another voice channel than the bot")]
    NotInBotChannel {
        /// Where the bot is.
        bot_channel: ChannelId,
    },
    /// Nothing plays.
    #[error("nothing playing")]
    NothingPlaying,
    /// Nothing waits.
    #[error("queue empty")]
    QueueEmpty,
    /// A position outside the queue.
    #[error("position {position} outside the queue of {len}")]
    PositionOutOfRange {
        /// The position given.
        position: usize,
        /// How many tracks wait.
        len: usize,
    },
    /// The queue is full.
    #[error("queue full ({max} tracks)")]
    QueueFull {
        /// The limit.
        max: usize,
    },
    /// Every track was longer than allowed.
    #[error("track longer than {max_ms} ms")]
    TrackTooLong {
        /// The limit.
        max_ms: u64,
    },
    /// The source link is too long to keep.
    #[error("track source too long")]
    SourceTooLong,
    /// A seek at or past the end of the track.
    #[error("seek past the end ({length_ms} ms)")]
    SeekPastEnd {
        /// The track's length.
        length_ms: u64,
    },
    /// A live stream cannot be moved in.
    #[error("live track not seekable")]
    NotSeekable,
    /// Already paused.
    #[error("already paused")]
    AlreadyPaused,
    /// Not paused.
    #[error("not paused")]
    NotPaused,
    /// No history to go back to.
    #[error("nothing played before")]
    NoPrevious,
    /// A volume above [`MAX_VOLUME`].
    #[error("volume {given} above {MAX_VOLUME}")]
    VolumeOutOfRange {
        /// The volume given.
        given: u16,
    },
    /// The member needs the DJ role for this.
    #[error("needs a dj to {}", .0.verb())]
    NeedsDj(DjAction),
    /// The member already voted for this track.
    #[error("already voted")]
    AlreadyVoted {
        /// Votes so far.
        votes: usize,
        /// Votes needed.
        needed: usize,
    },
    /// The history entry is gone.
    #[error("history entry not found")]
    UnknownTrack,
}

/// Votes needed to skip among `listeners` at `percent`: more than
/// `percent` of them (a majority at 50), at least one, at most all.
pub fn votes_needed(listeners: usize, percent: u8) -> usize {
    let share = listeners * usize::from(percent.clamp(1, 100)) / 100;
    (share + 1).clamp(1, listeners.max(1))
}

impl PlayerState {
    /// Runs a member's command.
    ///
    /// # Errors
    /// [`PlayerError`] saying why nothing changed; the state is then exactly
    /// as before.
    pub fn apply(&mut self, command: Command, ctx: &Context) -> Result<Outcome, PlayerError> {
        let mut next = self.clone();
        let outcome = next.run(command, ctx)?;
        *self = next;
        Ok(outcome)
    }

    fn run(&mut self, command: Command, ctx: &Context) -> Result<Outcome, PlayerError> {
        let joins = matches!(command, Command::Enqueue { .. } | Command::Resume | Command::Requeue { .. })
            || (matches!(command, Command::TogglePause) && self.paused);
        self.check_channel(&ctx.caller, joins)?;
        let now = ctx.now_ms;
        match command {
            Command::Enqueue { tracks, placement } => self.enqueue(tracks, placement, ctx),
            Command::Pause => self.pause(now),
            Command::Resume => self.resume(ctx),
            Command::TogglePause => {
                if self.paused {
                    self.resume(ctx)
                } else {
                    self.pause(now)
                }
            }
            Command::Skip => {
                let current = self.current.as_ref().ok_or(PlayerError::NothingPlaying)?;
                if !ctx.caller.dj && current.track.requested_by != ctx.caller.user {
                    return Err(PlayerError::NeedsDj(DjAction::Skip));
                }
                let skipped = self.finish_current(Finish::Skipped).expect("checked above");
                let next = self.start_next();
                Ok(Outcome::Skipped { skipped, next })
            }
            Command::SkipTo { position } => {
                self.check_position(position)?;
                let passed = &self.upcoming[..position - 1];
                let own = passed.iter().all(|t| t.requested_by == ctx.caller.user)
                    && self.current.as_ref().is_none_or(|c| c.track.requested_by == ctx.caller.user);
                if !ctx.caller.dj && !own {
                    return Err(PlayerError::NeedsDj(DjAction::Skip));
                }
                let passed: Vec<Track> = self.upcoming.drain(..position - 1).collect();
                let count = passed.len();
                self.finish_current(Finish::Skipped);
                for track in passed {
                    self.finished(track, Finish::Skipped);
                }
                let next = self.start_next().expect("the target track waits");
                Ok(Outcome::SkippedTo { next, passed: count })
            }
            Command::Previous => self.previous(),
            Command::Stop => {
                if !ctx.caller.dj {
                    return Err(PlayerError::NeedsDj(DjAction::Stop));
                }
                if self.current.is_none() && self.upcoming.is_empty() && self.voice_channel.is_none() {
                    return Err(PlayerError::NothingPlaying);
                }
                let cleared = usize::from(self.current.is_some()) + self.upcoming.len();
                if let Some(current) = self.current.take() {
                    // It was heard: the history keeps it.
                    self.log_played(current.track);
                }
                self.upcoming.clear();
                self.paused = false;
                self.voice_channel = None;
                Ok(Outcome::Stopped { cleared })
            }
            Command::Leave => {
                if self.voice_channel.is_none() {
                    return Err(PlayerError::NothingPlaying);
                }
                self.voice_channel = None;
                if let Some(current) = &mut self.current {
                    current.clock.freeze(now);
                    current.clock.ready = false;
                }
                Ok(Outcome::Left { kept: usize::from(self.current.is_some()) + self.upcoming.len() })
            }
            Command::Remove { position } => {
                self.check_position(position)?;
                if !ctx.caller.dj && self.upcoming[position - 1].requested_by != ctx.caller.user {
                    return Err(PlayerError::NeedsDj(DjAction::Remove));
                }
                let track = self.upcoming.remove(position - 1);
                Ok(Outcome::Removed { track, position })
            }
            Command::Move { from, to } => {
                self.check_position(from)?;
                self.check_position(to)?;
                if !ctx.caller.dj && self.upcoming[from - 1].requested_by != ctx.caller.user {
                    return Err(PlayerError::NeedsDj(DjAction::Move));
                }
                let track = self.upcoming.remove(from - 1);
                self.upcoming.insert(to - 1, track.clone());
                Ok(Outcome::Moved { track, from, to })
            }
            Command::Swap { first, second } => {
                self.check_position(first)?;
                self.check_position(second)?;
                let own = |t: &Track| t.requested_by == ctx.caller.user;
                let both_own = own(&self.upcoming[first - 1]) && own(&self.upcoming[second - 1]);
                if !ctx.caller.dj && !both_own {
                    return Err(PlayerError::NeedsDj(DjAction::Move));
                }
                self.upcoming.swap(first - 1, second - 1);
                Ok(Outcome::Swapped {
                    first: self.upcoming[first - 1].clone(),
                    second: self.upcoming[second - 1].clone(),
                })
            }
            Command::Shuffle { seed } => {
                if self.upcoming.is_empty() {
                    return Err(PlayerError::QueueEmpty);
                }
                shuffle_seeded(&mut self.upcoming, seed);
                Ok(Outcome::Shuffled { count: self.upcoming.len() })
            }
            Command::Clear => {
                if !ctx.caller.dj {
                    return Err(PlayerError::NeedsDj(DjAction::Clear));
                }
                if self.upcoming.is_empty() {
                    return Err(PlayerError::QueueEmpty);
                }
                let count = self.upcoming.len();
                self.upcoming.clear();
                Ok(Outcome::Cleared { count })
            }
            Command::SetLoop(mode) => {
                self.loop_mode = mode;
                Ok(Outcome::LoopSet(mode))
            }
            Command::CycleLoop => {
                self.loop_mode = self.loop_mode.cycled();
                Ok(Outcome::LoopSet(self.loop_mode))
            }
            Command::Seek(target) => self.seek(target, now),
            Command::SetVolume(volume) => {
                if volume > MAX_VOLUME {
                    return Err(PlayerError::VolumeOutOfRange { given: volume });
                }
                let from = std::mem::replace(&mut self.volume, volume);
                Ok(Outcome::VolumeSet { from, to: volume })
            }
            Command::VoteSkip { listeners } => self.vote_skip(&listeners, ctx),
            Command::Requeue { track } => {
                let entry =
                    self.history.iter().rev().find(|t| t.id == track).cloned().ok_or(PlayerError::UnknownTrack)?;
                let new = NewTrack {
                    source: entry.source,
                    title: entry.title,
                    duration_ms: entry.duration_ms,
                    requested_by: ctx.caller.user,
                };
                match self.enqueue(vec![new], Placement::End, ctx)? {
                    Outcome::Enqueued { first, position, .. } => Ok(Outcome::Requeued { track: first, position }),
                    other => Ok(other),
                }
            }
        }
    }

    /// Applies a playback or connection event; never fails (an event about
    /// audio that is no longer current is ignored).
    pub fn on_event(&mut self, event: Event, now_ms: u64) -> EventOutcome {
        match event {
            Event::Started { track, epoch } => {
                let paused = self.paused;
                let Some(current) = self.current_at(track, epoch).filter(|c| !c.clock.ready) else {
                    return EventOutcome::Ignored;
                };
                current.clock.ready = true;
                if !paused {
                    current.clock.run(now_ms);
                }
                EventOutcome::Started(current.track.clone())
            }
            Event::Ended { track, epoch } => {
                if self.current_at(track, epoch).is_none() {
                    return EventOutcome::Ignored;
                }
                if self.loop_mode == LoopMode::Track {
                    let epoch = self.take_epoch();
                    let current = self.current.as_mut().expect("checked above");
                    current.clock = PlaybackClock::at(0);
                    current.epoch = epoch;
                    current.votes.clear();
                    return EventOutcome::Replayed(current.track.clone());
                }
                let finished = self.finish_current(Finish::Played).expect("checked above");
                let next = self.start_next();
                EventOutcome::Advanced { finished, failed: false, next }
            }
            Event::Failed { track, epoch } => {
                if self.current_at(track, epoch).is_none() {
                    return EventOutcome::Ignored;
                }
                let finished = self.finish_current(Finish::Failed).expect("checked above");
                let next = self.start_next();
                EventOutcome::Advanced { finished, failed: true, next }
            }
            Event::StreamTitle { track, epoch, title } => {
                let Some(current) = self.current_at(track, epoch) else {
                    return EventOutcome::Ignored;
                };
                // An empty title (between songs) clears what was shown.
                let title = (!title.trim().is_empty()).then(|| cap_title(&title));
                if current.stream_title == title {
                    return EventOutcome::Ignored;
                }
                current.stream_title.clone_from(&title);
                EventOutcome::Retitled(title.unwrap_or_default())
            }
            Event::Moved { channel } => {
                if self.voice_channel.is_none() || self.voice_channel == Some(channel) {
                    return EventOutcome::Ignored;
                }
                self.voice_channel = Some(channel);
                EventOutcome::Followed(channel)
            }
            Event::Disconnected => {
                if self.voice_channel.is_none() {
                    return EventOutcome::Ignored;
                }
                self.voice_channel = None;
                if let Some(current) = &mut self.current {
                    current.clock.freeze(now_ms);
                    current.clock.ready = false;
                }
                EventOutcome::Disconnected
            }
        }
    }

    /// The current track if it is `track` at `epoch`.
    fn current_at(&mut self, track: TrackId, epoch: u32) -> Option<&mut NowPlaying> {
        self.current.as_mut().filter(|c| c.track.id == track && c.epoch == epoch)
    }

    /// Where the member must be for a command: in the bot's channel when it
    /// is in one; in some channel when the command makes it join.
    fn check_channel(&self, caller: &Caller, joins: bool) -> Result<(), PlayerError> {
        match (self.voice_channel, caller.voice_channel) {
            (Some(bot), Some(member)) if bot == member => Ok(()),
            (Some(bot), Some(_)) => Err(PlayerError::NotInBotChannel { bot_channel: bot }),
            (Some(_), None) => Err(PlayerError::NotInVoice),
            (None, None) if joins => Err(PlayerError::NotInVoice),
            (None, _) => Ok(()),
        }
    }

    fn check_position(&self, position: usize) -> Result<(), PlayerError> {
        if position == 0 || position > self.upcoming.len() {
            return Err(PlayerError::PositionOutOfRange { position, len: self.upcoming.len() });
        }
        Ok(())
    }

    /// Joins the caller's channel when the bot is in none, noting where the
    /// controller goes; returns whether it joined.
    fn join_caller(&mut self, caller: &Caller) -> bool {
        if self.voice_channel.is_some() {
            return false;
        }
        self.voice_channel = caller.voice_channel;
        if caller.text_channel.is_some() {
            self.text_channel = caller.text_channel;
        }
        true
    }

    fn enqueue(&mut self, tracks: Vec<NewTrack>, placement: Placement, ctx: &Context) -> Result<Outcome, PlayerError> {
        let limits = ctx.limits;
        let max = limits.max_queue_len.min(MAX_QUEUE_LEN);
        let offered = tracks.len();
        let mut accepted = Vec::new();
        let mut dropped_long = 0;
        for new in tracks {
            if new.duration_ms.is_some_and(|length| length > limits.max_track_ms) {
                dropped_long += 1;
                continue;
            }
            // Ids are only handed out to tracks that are kept.
            let id = TrackId(self.next_track_id + accepted.len() as u64);
            match Track::from_new(id, new) {
                Ok(track) => accepted.push(track),
                Err(_) if offered == 1 => return Err(PlayerError::SourceTooLong),
                Err(_) => dropped_long += 1,
            }
        }
        if accepted.is_empty() {
            return Err(PlayerError::TrackTooLong { max_ms: limits.max_track_ms });
        }
        // The track that plays now does not wait, unless the one it
        // interrupts goes back to the queue (loop queue).
        let frees_a_slot = self.current.is_none() || (placement == Placement::Now && self.loop_mode != LoopMode::Queue);
        let room = max.saturating_sub(self.upcoming.len()) + usize::from(frees_a_slot);
        if room == 0 {
            return Err(PlayerError::QueueFull { max });
        }
        let dropped_full = accepted.len().saturating_sub(room);
        accepted.truncate(room);
        self.next_track_id += accepted.len() as u64;
        let count = accepted.len();
        let first = accepted[0].clone();

        let joined = self.join_caller(&ctx.caller);
        // A kept track (the bot had left, or a restart) plays on from where
        // it was when the bot rejoins; it is never replaced silently.
        let resumed = if joined && placement != Placement::Now {
            self.current.as_mut().map(|current| {
                current.clock.ready = false;
                current.track.clone()
            })
        } else {
            None
        };
        if joined && resumed.is_some() {
            let epoch = self.take_epoch();
            if let Some(current) = &mut self.current {
                current.epoch = epoch;
            }
            self.paused = false;
        }

        let mut rest = accepted.into_iter();
        let position = if placement == Placement::Now || self.current.is_none() {
            let track = rest.next().expect("at least one");
            if self.current.is_some() {
                self.finish_current(Finish::Skipped);
            }
            self.start(track);
            self.paused = false;
            // The rest of a playlist played "now" comes right after it.
            for (offset, track) in rest.enumerate() {
                self.upcoming.insert(offset, track);
            }
            None
        } else {
            match placement {
                Placement::Next => {
                    for (offset, track) in rest.enumerate() {
                        self.upcoming.insert(offset, track);
                    }
                    Some(1)
                }
                _ if limits.fair_queue => {
                    let mut first_position = None;
                    for track in rest {
                        let at = fair_position(&self.upcoming, track.requested_by);
                        first_position.get_or_insert(at + 1);
                        self.upcoming.insert(at, track);
                    }
                    first_position
                }
                _ => {
                    let position = self.upcoming.len() + 1;
                    self.upcoming.extend(rest);
                    Some(position)
                }
            }
        };
        Ok(Outcome::Enqueued { first, count, position, dropped_full, dropped_long, resumed })
    }

    fn pause(&mut self, now: u64) -> Result<Outcome, PlayerError> {
        let current = self.current.as_mut().ok_or(PlayerError::NothingPlaying)?;
        if self.paused {
            return Err(PlayerError::AlreadyPaused);
        }
        self.paused = true;
        current.clock.freeze(now);
        Ok(Outcome::Paused(current.track.clone()))
    }

    fn resume(&mut self, ctx: &Context) -> Result<Outcome, PlayerError> {
        if self.current.is_none() {
            return Err(PlayerError::NothingPlaying);
        }
        let rejoined = self.join_caller(&ctx.caller);
        if !self.paused && !rejoined {
            return Err(PlayerError::NotPaused);
        }
        self.paused = false;
        let epoch = rejoined.then(|| self.take_epoch());
        let current = self.current.as_mut().expect("checked above");
        if let Some(epoch) = epoch {
            // The audio is gone: it is opened again at the kept position.
            current.epoch = epoch;
            current.clock.ready = false;
        } else if current.clock.ready {
            current.clock.run(ctx.now_ms);
        }
        Ok(Outcome::Resumed { track: current.track.clone(), rejoined })
    }

    fn previous(&mut self) -> Result<Outcome, PlayerError> {
        let track = self.history.pop().ok_or(PlayerError::NoPrevious)?;
        // With loop queue, the track is also waiting at the back: it moves
        // rather than being there twice.
        self.upcoming.retain(|t| t.id != track.id);
        if let Some(current) = self.current.take()
            && current.track.id != track.id
        {
            self.upcoming.insert(0, current.track);
        }
        self.start(track.clone());
        self.paused = false;
        Ok(Outcome::WentBack(track))
    }

    fn seek(&mut self, target: SeekTarget, now: u64) -> Result<Outcome, PlayerError> {
        let position = self.position_at(now);
        let epoch = self.next_epoch;
        let current = self.current.as_mut().ok_or(PlayerError::NothingPlaying)?;
        let length = current.track.duration_ms.ok_or(PlayerError::NotSeekable)?;
        let to_ms = target.from_position(position);
        if to_ms >= length {
            return Err(PlayerError::SeekPastEnd { length_ms: length });
        }
        current.clock = PlaybackClock::at(to_ms);
        current.epoch = epoch;
        let track = current.track.clone();
        self.take_epoch();
        Ok(Outcome::Seeked { track, to_ms })
    }

    fn vote_skip(&mut self, listeners: &[UserId], ctx: &Context) -> Result<Outcome, PlayerError> {
        let current = self.current.as_mut().ok_or(PlayerError::NothingPlaying)?;
        let needed = votes_needed(listeners.len(), ctx.limits.vote_skip_percent);
        let user = ctx.caller.user;
        if !ctx.caller.dj {
            if current.votes.contains(&user) {
                let votes = current.votes.iter().filter(|v| listeners.contains(v)).count();
                return Err(PlayerError::AlreadyVoted { votes, needed });
            }
            current.votes.push(user);
        }
        // Members who left the channel no longer count.
        let votes = current.votes.iter().filter(|v| listeners.contains(v)).count();
        if !ctx.caller.dj && votes < needed {
            return Ok(Outcome::Voted { votes, needed });
        }
        let skipped = self.finish_current(Finish::Skipped).expect("checked above");
        let next = self.start_next();
        Ok(Outcome::VoteSkipped { skipped, next, votes })
    }

    /// Makes `track` current, waiting to be heard from its start.
    fn start(&mut self, track: Track) {
        let epoch = self.take_epoch();
        self.current =
            Some(NowPlaying { track, clock: PlaybackClock::at(0), epoch, votes: Vec::new(), stream_title: None });
    }

    /// The next waiting track becomes current; `None` when none waits.
    fn start_next(&mut self) -> Option<Track> {
        if self.upcoming.is_empty() {
            self.current = None;
            self.paused = false;
            return None;
        }
        let track = self.upcoming.remove(0);
        self.start(track.clone());
        Some(track)
    }

    /// Takes the current track away, logging it as `how` says.
    fn finish_current(&mut self, how: Finish) -> Option<Track> {
        let current = self.current.take()?;
        self.finished(current.track.clone(), how);
        Some(current.track)
    }

    /// Logs a track that stopped being current (or was passed over).
    fn finished(&mut self, track: Track, how: Finish) {
        if how == Finish::Failed {
            // A dead track is neither history nor looped (it would fail again).
            return;
        }
        if self.loop_mode == LoopMode::Queue {
            self.upcoming.push(track.clone());
        }
        self.log_played(track);
    }

    /// Adds `track` to the history, keeping the newest [`HISTORY_LEN`].
    fn log_played(&mut self, track: Track) {
        self.history.push(track);
        if self.history.len() > HISTORY_LEN {
            let excess = self.history.len() - HISTORY_LEN;
            self.history.drain(..excess);
        }
    }
}

/// How a track stopped being current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Played,
    Skipped,
    Failed,
}

/// Where the fair queue puts a new track of `requester`: after every track
/// of the rounds up to theirs. A track's round is how many tracks of its
/// requester are at or before it; the new one's round is one more than the
/// requester has waiting, so each member gets one track per round.
pub fn fair_position(upcoming: &[Track], requester: UserId) -> usize {
    let round = upcoming.iter().filter(|t| t.requested_by == requester).count() + 1;
    let mut seen: HashMap<UserId, usize> = HashMap::new();
    let mut at = 0;
    for (i, track) in upcoming.iter().enumerate() {
        let count = seen.entry(track.requested_by).or_insert(0);
        *count += 1;
        if *count <= round {
            at = i + 1;
        }
    }
    at
}
