//! Every guild's player: a registry of per-guild tasks.
//!
//! Each guild with something to do has one task ([`crate::player_task`])
//! that owns its [`PlayerState`]; commands, songbird's events and voice
//! state changes reach it as messages, so a guild's changes apply one at a
//! time without a lock, and a slow guild never holds up another. A task
//! ends when its guild has nothing left (not in voice, nothing kept), and
//! the next message starts a new one, which loads the stored state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use songbird::Songbird;
use songbird::tracks::{PlayMode, ReadyState, TrackHandle, TrackState};
use timmybot_core::player::{Caller, Command, Outcome, PlayerState};
use timmybot_core::{ChannelId, Clock, DiscordRest, GuildId, GuildSettings, PlayerStore, SettingsStore, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::ResolvedSource;
use crate::playback_meter::{FrameStats, RollingMinute, TrackActivity, TrackMeter};
use crate::player_task::{self, Msg};
use crate::{PlayError, SourceResolver};

/// How the players run. The defaults are production's; tests shorten them.
#[derive(Debug, Clone)]
pub struct PlayersConfig {
    /// How often the controller's progress bar is refreshed while a track
    /// plays (default 15 s; changes of track, pause and loop show at once).
    pub controller_refresh: Duration,
    /// How often the deployment's "alive" mark is written while any track
    /// plays (default 1 s): after a crash, positions are recovered to
    /// within this.
    pub alive_interval: Duration,
    /// A fixed seed for `/shuffle` (default: none, a fresh random seed each
    /// time). Tests set it to know the order.
    pub shuffle_seed: Option<u64>,
    /// How long a live stream (a radio) plays before the player moves on
    /// (default 4 hours): a stream has no end of its own.
    pub max_live_session: Duration,
    /// How often every live track's state is read for the frame statistics
    /// (default 1 s): the moment a track is paused or resumed is known to
    /// within this, and the rolling minute moves in these steps.
    pub frame_sample_interval: Duration,
}

impl Default for PlayersConfig {
    fn default() -> Self {
        Self {
            controller_refresh: Duration::from_secs(15),
            alive_interval: Duration::from_secs(1),
            shuffle_seed: None,
            max_live_session: Duration::from_secs(4 * 60 * 60),
            frame_sample_interval: Duration::from_secs(1),
        }
    }
}

/// A member's command for a player, with what it runs against.
pub struct PlayerRequest {
    /// The command.
    pub command: Command,
    /// Who runs it and where they are.
    pub caller: Caller,
    /// The guild's settings as they are now.
    pub settings: GuildSettings,
    /// Audio already opened for the first track of an `Enqueue`, used if it
    /// plays at once so it is not opened twice.
    pub prepared: Option<ResolvedSource>,
}

/// Where the bot is in a guild and who listens there, from the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceUpdate {
    /// The bot's voice channel; `None` when it is in none.
    pub bot_channel: Option<ChannelId>,
    /// Members (not bots) in the bot's channel.
    pub listeners: usize,
}

/// What the players looked like at one metrics sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaybackSample {
    /// Players with a current track (playing, paused or still opening).
    pub active_players: u64,
    /// Frames sent, nulled and behind since the previous sample, summed over
    /// players, including tracks that ended in between (see
    /// [`crate::playback_meter`] for what each count means).
    pub frames: FrameStats,
}

/// One player's frame statistics, as [`GuildPlayers::frame_stats`] reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayerFrameStats {
    /// The guild.
    pub guild: GuildId,
    /// Whether it has a current track handed to songbird now (playing,
    /// paused or waiting for its audio).
    pub has_track: bool,
    /// The last 60 s, in one-second steps (less for a player that started
    /// playing less than a minute ago).
    pub last_minute: FrameStats,
    /// Since the player joined voice.
    pub total: FrameStats,
}

/// A live track and its frame bookkeeping.
struct MeteredTrack {
    guild: GuildId,
    handle: TrackHandle,
    meter: TrackMeter,
}

/// A guild's frame counts while it is in voice.
#[derive(Default)]
struct GuildFrames {
    window: RollingMinute,
    total: FrameStats,
}

/// The frame bookkeeping of every live track and every guild in voice.
#[derive(Default)]
struct Frames {
    /// Every live track, by songbird's track id.
    tracks: HashMap<uuid::Uuid, MeteredTrack>,
    /// Guilds that played since they joined voice.
    guilds: HashMap<GuildId, GuildFrames>,
    /// Counts since the last [`GuildPlayers::playback_sample`].
    untaken: FrameStats,
}

/// A running guild task, as the registry knows it.
struct TaskEntry {
    tx: mpsc::UnboundedSender<Msg>,
    /// Distinguishes this task from a later one of the same guild.
    generation: u64,
}

/// What every guild task shares.
pub(crate) struct Shared {
    pub(crate) songbird: Arc<Songbird>,
    pub(crate) store: Arc<dyn PlayerStore>,
    pub(crate) settings: Arc<dyn SettingsStore>,
    pub(crate) resolver: SourceResolver,
    pub(crate) discord: Option<Arc<dyn DiscordRest>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: PlayersConfig,
    /// When the previous process was last known to be playing: stored
    /// running clocks are frozen there on load.
    pub(crate) alive_bound_ms: u64,
    tasks: StdMutex<HashMap<GuildId, TaskEntry>>,
    next_generation: AtomicU64,
    /// Guilds whose task is in voice now.
    in_voice: StdMutex<HashMap<GuildId, ()>>,
    /// Players with audible audio now (the alive mark is written while > 0).
    audible: AtomicUsize,
    /// Frame statistics, apart from the tasks so a reader never waits for one.
    frames: StdMutex<Frames>,
    /// Second 0 of the rolling minutes.
    frames_origin: Instant,
    /// One sampling pass at a time, so observations reach each meter in order.
    sampling: tokio::sync::Mutex<()>,
}

impl Shared {
    fn frames(&self) -> std::sync::MutexGuard<'_, Frames> {
        self.frames.lock().expect("frame stats lock poisoned")
    }

    /// The rolling-minute second of `now`.
    fn second(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.frames_origin).as_secs()
    }

    /// Adds `added`, observed at `now`, to `guild` and to the untaken counts.
    fn credit(&self, frames: &mut Frames, guild: GuildId, now: Instant, added: FrameStats) {
        frames.untaken += added;
        if let Some(counts) = frames.guilds.get_mut(&guild) {
            counts.window.add(self.second(now), added);
            counts.total += added;
        }
    }

    /// Starts metering `handle`, `guild`'s new current track.
    pub(crate) fn meter(&self, guild: GuildId, handle: &TrackHandle) {
        let mut frames = self.frames();
        frames.guilds.entry(guild).or_default();
        frames.tracks.insert(handle.uuid(), MeteredTrack { guild, handle: handle.clone(), meter: TrackMeter::new() });
    }

    /// Observes a track at `now` (taken before asking songbird for `state`);
    /// an unknown track is ignored.
    pub(crate) fn observe(&self, track: uuid::Uuid, now: Instant, state: &TrackState) {
        let mut frames = self.frames();
        let Some(metered) = frames.tracks.get_mut(&track) else { return };
        let guild = metered.guild;
        let added = metered.meter.observe(now, activity(state), state.play_time);
        self.credit(&mut frames, guild, now, added);
    }

    /// Stops metering a track that ended (or was stopped) at `now`, having
    /// played `play_time`; its last span counts as played to the end.
    /// `None`: unknown, its last span is not counted.
    pub(crate) fn finish_meter(&self, track: uuid::Uuid, now: Instant, play_time: Option<Duration>) {
        let mut frames = self.frames();
        let Some(mut ended) = frames.tracks.remove(&track) else { return };
        if let Some(play_time) = play_time {
            let added = ended.meter.observe(now, TrackActivity::Playing, play_time);
            self.credit(&mut frames, ended.guild, now, added);
        }
    }

    /// Reads every live track's state once and feeds the meters; returns
    /// how many tracks are live (not done).
    async fn sample_tracks(&self) -> u64 {
        let _one_pass = self.sampling.lock().await;
        let tracks: Vec<(uuid::Uuid, TrackHandle)> =
            self.frames().tracks.iter().map(|(id, t)| (*id, t.handle.clone())).collect();
        let mut live = 0;
        for (id, handle) in tracks {
            // The instant is taken before asking, so the mixer's answer is
            // never older than it: a deficit can be under-counted, not
            // over-counted.
            let now = Instant::now();
            match track_info(&handle).await {
                Ok(state) if !state.playing.is_done() => {
                    live += 1;
                    self.observe(id, now, &state);
                }
                // Ended at an unknown moment before `now` (its end event,
                // which counts to the end, has not run yet): its sent frames
                // count, its last span does not.
                Ok(state) => {
                    let mut frames = self.frames();
                    if let Some(mut ended) = frames.tracks.remove(&id) {
                        let added = ended.meter.observe(now, TrackActivity::Idle, state.play_time);
                        self.credit(&mut frames, ended.guild, now, added);
                    }
                }
                // Dropped by the mixer with its call.
                Err(TrackInfoError::Gone) => self.finish_meter(id, now, None),
                // The call is down: nothing is known about this span.
                Err(TrackInfoError::NoAnswer) => {}
            }
        }
        live
    }

    /// Counts a player as audible or not.
    pub(crate) fn set_audible(&self, audible: bool) {
        if audible {
            self.audible.fetch_add(1, Ordering::Relaxed);
        } else {
            self.audible.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Notes whether `guild`'s task is in voice; leaving voice ends the
    /// guild's frame statistics.
    pub(crate) fn set_in_voice(&self, guild: GuildId, in_voice: bool) {
        let mut map = self.in_voice.lock().expect("voice map lock poisoned");
        if in_voice {
            map.insert(guild, ());
        } else {
            map.remove(&guild);
            self.frames().guilds.remove(&guild);
        }
    }

    /// Removes `guild`'s task from the registry if it is still `generation`
    /// and nothing was sent to it meanwhile; returns whether it may end.
    pub(crate) fn retire(&self, guild: GuildId, generation: u64, rx: &mpsc::UnboundedReceiver<Msg>) -> bool {
        let mut tasks = self.tasks.lock().expect("task map lock poisoned");
        // Senders hold this lock while sending, so nothing can arrive
        // between this check and the removal.
        if !rx.is_empty() {
            return false;
        }
        if tasks.get(&guild).is_some_and(|t| t.generation == generation) {
            tasks.remove(&guild);
        }
        true
    }
}

/// What the mixer does with the track: mixes it (playing and playable),
/// skips it for want of audio (playing, not playable yet), or nothing.
/// How long anything waits for songbird to say where a track is.
const TRACK_INFO_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a track's state is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackInfoError {
    /// The mixer dropped the track (with its call, or it ended).
    Gone,
    /// The mixer did not answer in time: songbird's mixer only reads track
    /// requests while it runs a connection, so after songbird gave up on a
    /// call (or while it connects again) the question waits for the next
    /// connection. Bounded, so no player task or sampling pass hangs on it.
    NoAnswer,
}

/// The track's state from the mixer, within [`TRACK_INFO_TIMEOUT`].
pub(crate) async fn track_info(handle: &TrackHandle) -> Result<TrackState, TrackInfoError> {
    match tokio::time::timeout(TRACK_INFO_TIMEOUT, handle.get_info()).await {
        Ok(Ok(state)) => Ok(state),
        Ok(Err(_)) => Err(TrackInfoError::Gone),
        Err(_) => Err(TrackInfoError::NoAnswer),
    }
}

fn activity(state: &TrackState) -> TrackActivity {
    match (&state.playing, state.ready) {
        (PlayMode::Play, ReadyState::Playable) => TrackActivity::Playing,
        (PlayMode::Play, _) => TrackActivity::Waiting,
        _ => TrackActivity::Idle,
    }
}

/// Every guild's player. Cheap to clone; clones share the players.
#[derive(Clone)]
pub struct GuildPlayers {
    shared: Arc<Shared>,
}

/// The parts the players are built from.
pub struct PlayersDeps {
    /// Joins and plays.
    pub songbird: Arc<Songbird>,
    /// Where players are kept.
    pub store: Arc<dyn PlayerStore>,
    /// Where guild settings are read.
    pub settings: Arc<dyn SettingsStore>,
    /// Opens sources.
    pub resolver: SourceResolver,
    /// Posts the now-playing controller; `None` posts none.
    pub discord: Option<Arc<dyn DiscordRest>>,
    /// Wall-clock time.
    pub clock: Arc<dyn Clock>,
}

impl GuildPlayers {
    /// Builds the players and starts the alive mark writer (until `stop`).
    ///
    /// Reads the previous process's last alive mark first, so positions it
    /// left running are recovered from then, not from now.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn start(deps: PlayersDeps, config: PlayersConfig, stop: CancellationToken) -> Result<Self, StoreError> {
        let now = deps.clock.now_unix_millis();
        let alive_bound_ms = deps.store.last_alive().await?.map_or(now, |at| at.min(now));
        let shared = Arc::new(Shared {
            songbird: deps.songbird,
            store: deps.store,
            settings: deps.settings,
            resolver: deps.resolver,
            discord: deps.discord,
            clock: deps.clock,
            config,
            alive_bound_ms,
            tasks: StdMutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            in_voice: StdMutex::new(HashMap::new()),
            audible: AtomicUsize::new(0),
            frames: StdMutex::new(Frames::default()),
            frames_origin: Instant::now(),
            sampling: tokio::sync::Mutex::new(()),
        });
        tokio::spawn(every(Arc::downgrade(&shared), |c| c.alive_interval, stop.clone(), write_alive_mark));
        // Every live track's state, for the frame statistics.
        tokio::spawn(every(
            Arc::downgrade(&shared),
            |c| c.frame_sample_interval,
            stop,
            |shared: Arc<Shared>| async move {
                shared.sample_tracks().await;
            },
        ));
        Ok(Self { shared })
    }

    /// The resolver `/play` opens sources with.
    pub fn resolver(&self) -> &SourceResolver {
        &self.shared.resolver
    }

    /// The seed for the next `/shuffle`.
    pub fn shuffle_seed(&self) -> u64 {
        self.shared.config.shuffle_seed.unwrap_or_else(rand_seed)
    }

    /// Sends `msg` to `guild`'s task, starting one when it has none.
    fn send(&self, guild: GuildId, msg: Msg) {
        let mut tasks = self.shared.tasks.lock().expect("task map lock poisoned");
        let msg = match tasks.get(&guild) {
            Some(task) => match task.tx.send(msg) {
                Ok(()) => return,
                Err(mpsc::error::SendError(msg)) => msg,
            },
            None => msg,
        };
        let generation = self.shared.next_generation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(msg).expect("receiver is alive");
        tasks.insert(guild, TaskEntry { tx: tx.clone(), generation });
        tokio::spawn(player_task::run(guild, generation, self.shared.clone(), tx, rx));
    }

    /// Runs a member's command in `guild`'s player.
    ///
    /// # Errors
    /// [`PlayError`] with a member-facing message; on error the player is as before.
    pub async fn command(&self, guild: GuildId, request: PlayerRequest) -> Result<Outcome, PlayError> {
        let (reply, answer) = oneshot::channel();
        self.send(guild, Msg::Command { request: Box::new(request), reply });
        answer.await.unwrap_or(Err(PlayError::Unavailable))
    }

    /// Tells `guild`'s player where the bot is and who listens (the gateway
    /// calls it on every voice state change in the guild). Starts no task:
    /// a guild without a player has nothing to update.
    pub fn voice_update(&self, guild: GuildId, update: VoiceUpdate) {
        let tasks = self.shared.tasks.lock().expect("task map lock poisoned");
        if let Some(task) = tasks.get(&guild) {
            let _ = task.tx.send(Msg::Voice(update));
        }
    }

    /// Starts the players whose stored state says they were playing (a
    /// restart, or a new task after the old one stopped); returns how many.
    ///
    /// # Errors
    /// The store's index of active players cannot be read.
    pub async fn resume_active(&self) -> Result<usize, StoreError> {
        let guilds = self.shared.store.active_guilds().await?;
        for guild in &guilds {
            self.send(*guild, Msg::Wake);
        }
        if !guilds.is_empty() {
            info!(guilds = guilds.len(), "resuming stored players");
        }
        Ok(guilds.len())
    }

    /// Stops `guild`'s player, clears its queue and leaves voice, whoever
    /// runs it (the access watch, for a revoked guild). Does not wait.
    pub fn stop(&self, guild: GuildId) {
        let tasks = self.shared.tasks.lock().expect("task map lock poisoned");
        if let Some(task) = tasks.get(&guild) {
            let _ = task.tx.send(Msg::SystemStop);
        }
    }

    /// Graceful shutdown: every player stores its exact position, keeping
    /// its voice channel so the next process rejoins, then leaves voice.
    pub async fn suspend_all(&self) {
        let senders: Vec<mpsc::UnboundedSender<Msg>> =
            self.shared.tasks.lock().expect("task map lock poisoned").values().map(|t| t.tx.clone()).collect();
        let mut waits = Vec::new();
        for tx in senders {
            let (done, wait) = oneshot::channel();
            if tx.send(Msg::Suspend { done }).is_ok() {
                waits.push(wait);
            }
        }
        for wait in waits {
            let _ = wait.await;
        }
    }

    /// Guilds where the bot is in a voice channel.
    pub fn active_guilds(&self) -> Vec<GuildId> {
        self.shared.in_voice.lock().expect("voice map lock poisoned").keys().copied().collect()
    }

    /// Whether `guild` has a running player task.
    pub fn has_player(&self, guild: GuildId) -> bool {
        self.shared.tasks.lock().expect("task map lock poisoned").contains_key(&guild)
    }

    /// Samples every live track for the metrics record: how many there are
    /// now, and the frames counted since the previous call (including
    /// tracks that ended in between), summed over players. Reads each
    /// track's state first, so the counts are current; never waits on the
    /// players' tasks.
    pub async fn playback_sample(&self) -> PlaybackSample {
        let active_players = self.shared.sample_tracks().await;
        let frames = std::mem::take(&mut self.shared.frames().untaken);
        PlaybackSample { active_players, frames }
    }

    /// Every player in voice that has played since it joined: its frames
    /// over the last minute and in total, as of the last sampling pass (at
    /// most [`PlayersConfig::frame_sample_interval`] old), by guild id.
    pub fn frame_stats(&self) -> Vec<PlayerFrameStats> {
        let now = self.shared.second(Instant::now());
        let frames = self.shared.frames();
        let mut stats: Vec<PlayerFrameStats> = frames
            .guilds
            .iter()
            .map(|(guild, counts)| PlayerFrameStats {
                guild: *guild,
                has_track: frames.tracks.values().any(|t| t.guild == *guild),
                last_minute: counts.window.last_minute(now),
                total: counts.total,
            })
            .collect();
        stats.sort_by_key(|s| s.guild.get());
        stats
    }

    /// The stored state of `guild`'s player, as the store has it.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn stored(&self, guild: GuildId) -> Result<Option<PlayerState>, StoreError> {
        self.shared.store.load(guild).await
    }
}

/// Runs `work` every `interval` (read from the config) until `stop`, or
/// until the players are gone.
async fn every<F, Fut>(
    shared: std::sync::Weak<Shared>,
    interval: fn(&PlayersConfig) -> Duration,
    stop: CancellationToken,
    work: F,
) where
    F: Fn(Arc<Shared>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let interval = match shared.upgrade() {
        Some(shared) => interval(&shared.config),
        None => return,
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let Some(shared) = shared.upgrade() else { return };
        work(shared).await;
    }
}

/// Writes the alive mark while any track plays.
async fn write_alive_mark(shared: Arc<Shared>) {
    if shared.audible.load(Ordering::Relaxed) == 0 {
        return;
    }
    let now = shared.clock.now_unix_millis();
    if let Err(e) = shared.store.mark_alive(now).await {
        warn!(error = %e, "writing the alive mark failed");
    }
}

fn rand_seed() -> u64 {
    // Only needs to differ between shuffles.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos());
    (nanos as u64) ^ ((nanos >> 64) as u64).rotate_left(17) ^ 0x5DEE_CE66_D1CE_4E5B
}
