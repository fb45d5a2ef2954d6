//! One player per guild: the queue engine driving a songbird call.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use songbird::Songbird;
use songbird::events::{Event, EventContext, EventHandler, TrackEvent};
use songbird::tracks::{PlayMode, ReadyState, TrackHandle, TrackState};
use timmybot_core::{ChannelId, GuildId, GuildQueue, QueueStore, QueuedTrack, StoreErrorKind, UserId};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::playback_meter::TrackMeter;
use crate::{PlayError, SourceResolver};

/// How many times a conditional queue save is retried after a conflict.
const SAVE_ATTEMPTS: usize = 3;

/// What `/play` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayOutcome {
    /// The track started playing now.
    NowPlaying {
        /// Its title.
        title: String,
    },
    /// The track waits behind others.
    Queued {
        /// Its title.
        title: String,
        /// 1-based place among the waiting tracks.
        position: usize,
    },
}

/// What `/stop` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// Playback stopped, the queue was cleared and the bot left the channel.
    Stopped,
    /// Nothing was playing and the bot was in no channel.
    NothingPlaying,
}

/// What the players looked like at one metrics sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaybackSample {
    /// Players with a current track (playing, paused or still opening).
    pub active_players: u64,
    /// 20 ms frames the tracks fell behind wall-clock time since the previous
    /// sample, summed over players (see [`TrackMeter`] for how).
    pub frame_deficit: u64,
}

/// A live track and its deficit bookkeeping.
struct MeteredTrack {
    handle: TrackHandle,
    meter: TrackMeter,
}

/// In-memory state of one guild's player; the queue itself is in the store.
#[derive(Default)]
struct GuildPlayer {
    current: Option<TrackHandle>,
}

struct Inner {
    songbird: Arc<Songbird>,
    queues: Arc<dyn QueueStore>,
    resolver: SourceResolver,
    guilds: StdMutex<HashMap<GuildId, Arc<Mutex<GuildPlayer>>>>,
    /// Every live track, by songbird's track id; apart from the guild locks
    /// so a metrics sample never waits for a `/play` that is resolving.
    meters: StdMutex<HashMap<uuid::Uuid, MeteredTrack>>,
    /// Deficit frames of tracks that ended since the last sample.
    ended_deficit: AtomicU64,
}

impl Inner {
    fn meters(&self) -> std::sync::MutexGuard<'_, HashMap<uuid::Uuid, MeteredTrack>> {
        self.meters.lock().expect("meter map lock poisoned")
    }

    /// Observes a track at `now`; the new deficit frames, 0 for an unknown track.
    fn observe(&self, track: uuid::Uuid, now: Instant, state: &TrackState) -> u64 {
        self.meters().get_mut(&track).map_or(0, |t| t.meter.observe(now, is_playing(state), state.play_time))
    }

    /// Stops metering a track that ended at `now`, having played `play_time`
    /// (`None`: unknown, its last interval is not counted).
    fn finish(&self, track: uuid::Uuid, now: Instant, play_time: Option<Duration>) {
        let Some(mut ended) = self.meters().remove(&track) else { return };
        if let Some(play_time) = play_time {
            let frames = ended.meter.observe(now, true, play_time);
            self.ended_deficit.fetch_add(frames, Ordering::Relaxed);
        }
    }
}

/// Every guild's player. Cheap to clone; clones share the players.
///
/// Calls for one guild run one at a time (a per-guild lock), so commands of a
/// guild take effect in the order they arrive; guilds do not wait on each other.
#[derive(Clone)]
pub struct GuildPlayers {
    inner: Arc<Inner>,
}

impl GuildPlayers {
    /// Players that join through `songbird`, keep queues in `queues` and open
    /// sources with `resolver`.
    pub fn new(songbird: Arc<Songbird>, queues: Arc<dyn QueueStore>, resolver: SourceResolver) -> Self {
        Self {
            inner: Arc::new(Inner {
                songbird,
                queues,
                resolver,
                guilds: StdMutex::new(HashMap::new()),
                meters: StdMutex::new(HashMap::new()),
                ended_deficit: AtomicU64::new(0),
            }),
        }
    }

    fn player(&self, guild: GuildId) -> Arc<Mutex<GuildPlayer>> {
        let mut guilds = self.inner.guilds.lock().expect("player map lock poisoned");
        guilds.entry(guild).or_default().clone()
    }

    /// Resolves `query`, queues it, and plays it at once when nothing plays,
    /// joining `channel` first.
    ///
    /// # Errors
    /// [`PlayError`] with a member-facing message; on error the queue is as before.
    pub async fn play(
        &self,
        guild: GuildId,
        channel: ChannelId,
        user: UserId,
        query: &str,
    ) -> Result<PlayOutcome, PlayError> {
        let player = self.player(guild);
        let mut player = player.lock().await;
        let resolved = self.inner.resolver.resolve(query).await?;
        let track = QueuedTrack { source: resolved.source.clone(), title: resolved.title.clone(), requested_by: user };
        let live = player.current.is_some();

        // Record the track first, so a crash after this point loses nothing.
        let queue = self
            .update_queue(guild, |q| {
                if live {
                    q.enqueue(track.clone()).map(|_| ())
                } else {
                    // Nothing is audible: whatever the stored queue says is
                    // playing is stale (a restart), so the new track plays now.
                    q.play_now(track.clone());
                    Ok(())
                }
            })
            .await?;

        if live {
            let position = queue.upcoming.len();
            info!(guild_id = %guild, position, "track queued");
            return Ok(PlayOutcome::Queued { title: resolved.title, position });
        }

        let call = match self.inner.songbird.join(songbird_guild(guild), songbird_channel(channel)).await {
            Ok(call) => call,
            Err(e) => {
                // Undo the enqueue: the member was told it failed.
                let _ = self
                    .update_queue(guild, |q| {
                        q.now_playing = None;
                        Ok(())
                    })
                    .await;
                let _ = self.inner.songbird.remove(songbird_guild(guild)).await;
                return Err(PlayError::Join(Box::new(e)));
            }
        };
        let handle = call.lock().await.play_only_input(resolved.input);
        self.watch_track_end(guild, &handle);
        player.current = Some(handle);
        info!(guild_id = %guild, channel_id = %channel, "track started");
        Ok(PlayOutcome::NowPlaying { title: resolved.title })
    }

    /// Stops playback, clears the queue and leaves the voice channel.
    ///
    /// # Errors
    /// [`PlayError::Store`] when the cleared queue cannot be saved.
    pub async fn stop(&self, guild: GuildId) -> Result<StopOutcome, PlayError> {
        let player = self.player(guild);
        let mut player = player.lock().await;
        let had_track = match player.current.take() {
            Some(handle) => {
                self.finish_metering(&handle).await;
                handle.stop().is_ok()
            }
            None => false,
        };
        let in_call = self.inner.songbird.get(songbird_guild(guild)).is_some();
        self.update_queue(guild, |q| {
            q.clear();
            Ok(())
        })
        .await?;
        if in_call && let Err(e) = self.inner.songbird.remove(songbird_guild(guild)).await {
            warn!(guild_id = %guild, error = %e, "leaving voice failed");
        }
        Ok(if had_track || in_call { StopOutcome::Stopped } else { StopOutcome::NothingPlaying })
    }

    /// Leaves every voice channel without touching the stored queues, so a
    /// restart can pick them up (graceful shutdown).
    pub async fn leave_all(&self) {
        let guilds: Vec<GuildId> =
            self.inner.guilds.lock().expect("player map lock poisoned").keys().copied().collect();
        for guild in guilds {
            let player = self.player(guild);
            let mut player = player.lock().await;
            if let Some(handle) = player.current.take() {
                self.finish_metering(&handle).await;
                let _ = handle.stop();
            }
            if self.inner.songbird.get(songbird_guild(guild)).is_some() {
                let _ = self.inner.songbird.remove(songbird_guild(guild)).await;
            }
        }
    }

    /// Guilds where the bot is in a voice channel or has a track.
    pub async fn active_guilds(&self) -> Vec<GuildId> {
        let known: Vec<GuildId> = self.inner.guilds.lock().expect("player map lock poisoned").keys().copied().collect();
        let mut active = Vec::new();
        for guild in known {
            let playing = self.player(guild).lock().await.current.is_some();
            if playing || self.inner.songbird.get(songbird_guild(guild)).is_some() {
                active.push(guild);
            }
        }
        active
    }

    /// Whether a track is audible in `guild` now.
    pub async fn is_playing(&self, guild: GuildId) -> bool {
        self.player(guild).lock().await.current.is_some()
    }

    /// Samples every live track for the metrics: how many there are, and how
    /// many frames they fell behind since the previous sample (including
    /// tracks that ended in between). Does not wait on the guild locks.
    pub async fn playback_sample(&self) -> PlaybackSample {
        let tracks: Vec<(uuid::Uuid, TrackHandle)> =
            self.inner.meters().iter().map(|(id, t)| (*id, t.handle.clone())).collect();
        let mut sample = PlaybackSample::default();
        for (id, handle) in tracks {
            // The instant is taken before asking, so the mixer's answer is
            // never older than it: a sample can under-count, not over-count.
            let now = Instant::now();
            match handle.get_info().await {
                Ok(state) if !state.playing.is_done() => {
                    sample.active_players += 1;
                    sample.frame_deficit += self.inner.observe(id, now, &state);
                }
                // Ended at an unknown moment before `now` (its end event, which
                // counts to the end, has not run yet), or dropped by the mixer
                // with its call: counting up to `now` would over-count.
                Ok(_) | Err(_) => self.inner.finish(id, now, None),
            }
        }
        sample.frame_deficit += self.inner.ended_deficit.swap(0, Ordering::Relaxed);
        sample
    }

    /// Ends a track's metering with its play time now, before it is stopped.
    async fn finish_metering(&self, handle: &TrackHandle) {
        let now = Instant::now();
        let play_time = handle.get_info().await.ok().map(|s| s.play_time);
        self.inner.finish(handle.uuid(), now, play_time);
    }

    /// Loads the queue, applies `change`, saves it; retries on a conflict.
    async fn update_queue(
        &self,
        guild: GuildId,
        change: impl Fn(&mut GuildQueue) -> Result<(), timmybot_core::QueueError>,
    ) -> Result<GuildQueue, PlayError> {
        let mut last_err = None;
        for _ in 0..SAVE_ATTEMPTS {
            let mut queue = self.inner.queues.load(guild).await?.unwrap_or_else(|| GuildQueue::empty(guild));
            change(&mut queue)?;
            match self.inner.queues.save(&queue).await {
                Ok(version) => {
                    queue.version = version;
                    return Ok(queue);
                }
                Err(e) if e.kind() == StoreErrorKind::Conflict => last_err = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last_err.expect("at least one attempt").into())
    }

    fn watch_track_end(&self, guild: GuildId, handle: &TrackHandle) {
        self.inner.meters().insert(handle.uuid(), MeteredTrack { handle: handle.clone(), meter: TrackMeter::new() });
        let playable = PlayableWatcher { players: Arc::downgrade(&self.inner), track: handle.uuid() };
        if let Err(e) = handle.add_event(Event::Track(TrackEvent::Playable), playable) {
            warn!(guild_id = %guild, error = %e, "could not watch track start");
        }
        let watcher = TrackEndWatcher { players: Arc::downgrade(&self.inner), guild, track: handle.uuid() };
        for event in [TrackEvent::End, TrackEvent::Error] {
            if let Err(e) = handle.add_event(Event::Track(event), watcher.clone()) {
                warn!(guild_id = %guild, error = %e, "could not watch track end");
            }
        }
    }

    /// Plays the next track after `ended` finished; does nothing when a newer
    /// command already replaced it.
    async fn advance(&self, guild: GuildId, ended: songbird::tracks::TrackHandle) {
        let player = self.player(guild);
        let mut player = player.lock().await;
        if player.current.as_ref().map(TrackHandle::uuid) != Some(ended.uuid()) {
            return;
        }
        player.current = None;
        // Skip tracks that no longer open (a dead link), up to the queue's end.
        loop {
            let queue = match self
                .update_queue(guild, |q| {
                    q.advance();
                    Ok(())
                })
                .await
            {
                Ok(q) => q,
                Err(e) => {
                    warn!(guild_id = %guild, error = %e, "advancing the queue failed");
                    return;
                }
            };
            let Some(next) = queue.now_playing else {
                info!(guild_id = %guild, "queue finished");
                return;
            };
            match self.inner.resolver.resolve(&next.source).await {
                Ok(resolved) => {
                    let Some(call) = self.inner.songbird.get(songbird_guild(guild)) else { return };
                    let handle = call.lock().await.play_only_input(resolved.input);
                    self.watch_track_end(guild, &handle);
                    player.current = Some(handle);
                    info!(guild_id = %guild, "next track started");
                    return;
                }
                Err(e) => warn!(guild_id = %guild, error = %e, "skipping a track that no longer opens"),
            }
        }
    }
}

#[derive(Clone)]
struct TrackEndWatcher {
    players: Weak<Inner>,
    guild: GuildId,
    track: uuid::Uuid,
}

#[async_trait]
impl EventHandler for TrackEndWatcher {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<Event> {
        let EventContext::Track(tracks) = ctx else { return None };
        let (state, ended) = tracks.iter().find(|(_, h)| h.uuid() == self.track).map(|(s, h)| (*s, (*h).clone()))?;
        let inner = self.players.upgrade()?;
        inner.finish(self.track, Instant::now(), Some(state.play_time));
        let players = GuildPlayers { inner };
        let guild = self.guild;
        // The handler runs on songbird's event task; queue work may wait on
        // the store, so it happens on its own task.
        tokio::spawn(async move { players.advance(guild, ended).await });
        Some(Event::Cancel)
    }
}

/// Starts a track's deficit baseline the moment songbird can play it, so the
/// time it took to open the source is not counted as falling behind.
#[derive(Clone)]
struct PlayableWatcher {
    players: Weak<Inner>,
    track: uuid::Uuid,
}

#[async_trait]
impl EventHandler for PlayableWatcher {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<Event> {
        let EventContext::Track(tracks) = ctx else { return None };
        let (state, _) = tracks.iter().find(|(_, h)| h.uuid() == self.track)?;
        let inner = self.players.upgrade()?;
        let now = Instant::now();
        inner.observe(self.track, now, state);
        None
    }
}

/// Whether the mixer is advancing the track: playable and not paused.
fn is_playing(state: &TrackState) -> bool {
    matches!(state.playing, PlayMode::Play) && state.ready == ReadyState::Playable
}

fn songbird_guild(guild: GuildId) -> songbird::id::GuildId {
    songbird::id::GuildId(NonZeroU64::new(guild.get()).expect("guild ids are non-zero"))
}

fn songbird_channel(channel: ChannelId) -> songbird::id::ChannelId {
    songbird::id::ChannelId(NonZeroU64::new(channel.get()).expect("channel ids are non-zero"))
}
