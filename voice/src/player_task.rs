//! One guild's player task: owns the guild's [`PlayerState`], applies
//! commands and events to it through the queue engine, stores it after
//! every change, then makes songbird follow it ([`Task::reconcile`]).
//!
//! Everything slow happens off this task or is bounded: sources are opened
//! on spawned tasks (the result comes back as [`Msg::Opened`]), seeks report
//! back as [`Msg::Seeked`], the controller has its own worker. Joining a
//! channel is awaited here (songbird bounds it), which only holds up this
//! guild.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use songbird::events::context_data::DisconnectReason;
use songbird::events::{CoreEvent, Event as SongbirdEvent, EventContext, EventHandler, TrackEvent};
use songbird::model::CloseCode as VoiceCloseCode;
use songbird::tracks::TrackHandle;
use timmybot_core::player::{
    Caller, Command, Context, Event, EventOutcome, Limits, NowPlaying, Outcome, PlayerState, TrackId, messages,
};
use timmybot_core::{ChannelId, GuildId, GuildSettings, MessageRef, OutgoingMessage, StoreErrorKind};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::controller::{Controller, ControllerView};
use crate::players::{PlayerRequest, Shared, VoiceUpdate, track_info};
use crate::{PlayError, ResolvedSource, SourceError};

/// How often a task looks at its timers (idle and alone leave, the
/// controller's progress).
const TICK: Duration = Duration::from_secs(1);
/// How often loading a stored state is tried before the task gives up.
const LOAD_ATTEMPTS: u32 = 3;
/// How long the player waits before each of its own rejoins once songbird
/// gave up on the call (a close it does not resume, or a reconnect that
/// failed all of songbird's retries); after the last one fails it leaves,
/// keeping the queue, and says so once. Each join is bounded by songbird
/// (gateway answer within 10 s, then its connection attempts with their
/// own retries).
const REJOIN_DELAYS: [Duration; 3] = [Duration::from_millis(500), Duration::from_secs(2), Duration::from_secs(8)];
/// What the member is told when the player could not get back in.
/// What members read when the voice server closed with 4017.
const DAVE_REQUIRED: &str = "Discord's voice server asked for end-to-end encryption (DAVE) and the connection could not set it up, so I left the channel. The queue is kept: `/play` or `/resume` tries again.";

const REJOIN_FAILED: &str =
    "I lost the voice connection and could not get back in. The queue is kept: `/play` or `/resume` brings me back.";

/// What reaches a guild's task.
pub(crate) enum Msg {
    /// A member's command; the reply goes back on `reply`.
    Command { request: Box<PlayerRequest>, reply: oneshot::Sender<Result<Outcome, PlayError>> },
    /// songbird reported on the audio of `(track, epoch)`.
    Audio { event: AudioEvent, track: TrackId, epoch: u32, play_time: Option<Duration> },
    /// A source finished opening.
    Opened { track: TrackId, epoch: u32, result: Box<Result<ResolvedSource, SourceError>> },
    /// The live stream of `(track, epoch)` announced what it plays.
    StreamTitle { track: TrackId, epoch: u32, title: String },
    /// A seek finished.
    Seeked { track: TrackId, epoch: u32, ok: bool },
    /// Where the bot is and who listens, from the gateway.
    Voice(VoiceUpdate),
    /// The controller worker posted the controller here.
    ControllerPosted(MessageRef),
    /// Load the stored state and resume it (a restart).
    Wake,
    /// Stop, clear and leave, whoever asked (a revoked guild).
    SystemStop,
    /// Store the exact position, leave voice, end (graceful shutdown).
    Suspend { done: oneshot::Sender<()> },
    /// songbird's voice connection went down (`reason`: why, `None` when
    /// asked to) or came back; `rejoin`: songbird gave up on a call the
    /// player should get back into by itself.
    Driver { connected: bool, reason: Option<String>, after: AfterLoss },
    /// Time for rejoin attempt `attempt` (an index into [`REJOIN_DELAYS`]).
    Rejoin { attempt: usize },
}

/// What songbird said about a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AudioEvent {
    Playable,
    Ended,
    Errored,
}

/// The audio songbird is playing for the current track.
struct Live {
    track: TrackId,
    epoch: u32,
    handle: TrackHandle,
    paused: bool,
    volume: u16,
    /// Started at an offset: it counts as started once the seek is done.
    seeking: bool,
}

/// Why the bot leaves on its own.
#[derive(Debug, Clone, Copy)]
enum AutoLeave {
    Idle,
    Alone,
}

/// Runs `guild`'s task until it has nothing left to do.
pub(crate) async fn run(
    guild: GuildId,
    generation: u64,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Msg>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    let span = info_span!("player", guild_id = %guild);
    async move {
        let Some(mut task) = Task::load(guild, shared.clone(), tx).await else {
            // The store is down: refuse what waits, then let the next
            // message try again with a new task.
            loop {
                while let Ok(msg) = rx.try_recv() {
                    refuse(msg);
                }
                if shared.retire(guild, generation, &rx) {
                    return;
                }
            }
        };
        task.reconcile_logged().await;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Suspend { done }) => {
                        task.suspend().await;
                        let _ = done.send(());
                        // The process is stopping: nothing more for this guild.
                        while let Ok(msg) = rx.try_recv() {
                            refuse(msg);
                        }
                        shared.retire(guild, generation, &rx);
                        break;
                    }
                    Some(msg) => task.handle(msg).await,
                    None => break,
                },
                _ = tick.tick() => task.on_tick().await,
            }
            if task.is_done() && shared.retire(guild, generation, &rx) {
                debug!("player task ends");
                break;
            }
        }
        task.release();
    }
    .instrument(span)
    .await;
}

/// Answers a message the task cannot handle.
fn refuse(msg: Msg) {
    match msg {
        Msg::Command { reply, .. } => {
            let _ = reply.send(Err(PlayError::Unavailable));
        }
        Msg::Suspend { done } => {
            let _ = done.send(());
        }
        _ => {}
    }
}

struct Task {
    guild: GuildId,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Msg>,
    state: PlayerState,
    settings: GuildSettings,
    live: Option<Live>,
    /// The `(track, epoch)` whose source is being opened.
    opening: Option<(TrackId, u32)>,
    /// Audio opened by `/play` for a track that starts at once.
    prepared: Option<(TrackId, ResolvedSource)>,
    /// Whether this task counts in the shared audible count.
    audible: bool,
    /// Whether songbird holds a call this task joined.
    in_voice: bool,
    /// The bot's channel as the gateway last reported it.
    bot_channel_seen: Option<ChannelId>,
    /// Members listening in the bot's channel, once the gateway said.
    listeners: Option<usize>,
    idle_since: Option<Instant>,
    alone_since: Option<Instant>,
    controller: Option<Controller>,
    last_refresh: Instant,
    /// Whether the current call reports its connection events here.
    driver_watched: bool,
    /// The rejoin attempt scheduled or running, while the player gets back
    /// into a call songbird gave up on.
    rejoining: Option<usize>,
}

impl Task {
    /// Loads the guild's settings and stored state, preparing a state left
    /// by another process: its running clock is frozen where that process
    /// was last known alive, and it is only in voice if it was playing.
    async fn load(guild: GuildId, shared: Arc<Shared>, tx: mpsc::UnboundedSender<Msg>) -> Option<Self> {
        let mut attempt = 0;
        let (settings, state) = loop {
            attempt += 1;
            let loaded = async {
                let settings = shared.settings.load_settings(guild).await?;
                let state = shared.store.load(guild).await?;
                Ok::<_, timmybot_core::StoreError>((settings, state))
            }
            .await;
            match loaded {
                Ok(found) => break found,
                Err(e) if attempt < LOAD_ATTEMPTS => {
                    warn!(error = %e, attempt, "loading the player failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(e) => {
                    warn!(error = %e, "loading the player failed");
                    return None;
                }
            }
        };
        let settings = settings.unwrap_or_else(|| GuildSettings::defaults(guild));
        let mut state = state.unwrap_or_else(|| PlayerState::new(guild, settings.default_volume));
        state.recover(shared.alive_bound_ms);
        if !state.is_active() {
            state.voice_channel = None;
        }
        Some(Self {
            guild,
            shared,
            tx,
            state,
            settings,
            live: None,
            opening: None,
            prepared: None,
            audible: false,
            in_voice: false,
            bot_channel_seen: None,
            listeners: None,
            idle_since: None,
            alone_since: None,
            controller: None,
            last_refresh: Instant::now(),
            driver_watched: false,
            rejoining: None,
        })
    }

    fn now_ms(&self) -> u64 {
        self.shared.clock.now_unix_millis()
    }

    /// Whether the task can end: out of voice, no audio, nothing kept to resume.
    fn is_done(&self) -> bool {
        !self.in_voice && self.live.is_none() && self.opening.is_none() && !self.state.is_active()
    }

    /// Gives back what this task counted in the shared state.
    fn release(&mut self) {
        self.set_audible(false);
        self.shared.set_in_voice(self.guild, false);
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Command { request, reply } => {
                let result = self.command(*request).await;
                let _ = reply.send(result);
            }
            Msg::Audio { event, track, epoch, play_time } => self.audio(event, track, epoch, play_time).await,
            Msg::Opened { track, epoch, result } => self.opened(track, epoch, *result).await,
            Msg::StreamTitle { track, epoch, title } => self.event(Event::StreamTitle { track, epoch, title }).await,
            Msg::Seeked { track, epoch, ok } => {
                let Some(live) = self.live.as_mut().filter(|l| l.track == track && l.epoch == epoch) else { return };
                live.seeking = false;
                if !ok {
                    warn!(track_id = %track, "seeking failed; playing on from where the audio is");
                }
                self.sync_live();
                self.event(Event::Started { track, epoch }).await;
            }
            Msg::Voice(update) => self.voice(update).await,
            Msg::ControllerPosted(at) => {
                if self.state.controller != Some(at) {
                    self.state.controller = Some(at);
                    self.save_logged().await;
                }
            }
            Msg::Wake => self.reconcile_logged().await,
            Msg::SystemStop => {
                let caller = self.system_caller();
                let controller = self.state.controller;
                if self.apply(Command::Stop, caller).await.is_ok() {
                    info!("player stopped by the deployment");
                    self.reconcile_logged().await;
                    self.show_last_controller(controller);
                }
            }
            Msg::Suspend { .. } => unreachable!("handled by the loop"),
            Msg::Driver { connected: true, .. } => self.voice_back().await,
            Msg::Driver { connected: false, reason: None, .. } => debug!("voice connection closed as asked"),
            Msg::Driver { connected: false, reason: Some(reason), after: AfterLoss::Rejoin } => {
                self.voice_lost(reason).await;
            }
            Msg::Driver { connected: false, reason: Some(reason), after: AfterLoss::DaveRequired } => {
                self.dave_required(reason).await;
            }
            // A kick or a deleted channel (4014) also arrives as the bot's
            // voice state, which stops the player with the queue kept; a
            // discarded attempt was replaced by a newer one.
            Msg::Driver { connected: false, reason: Some(reason), after: AfterLoss::Nothing } => {
                warn!(reason, "voice connection closed for good");
            }
            Msg::Rejoin { attempt } => self.rejoin(attempt).await,
        }
    }

    /// songbird gave up on the call while the player still wants to be in
    /// it: the audio stopped where it was, so the clock stops there too,
    /// and the player rejoins after a short wait.
    async fn voice_lost(&mut self, reason: String) {
        if !self.in_voice || self.state.voice_channel.is_none() {
            debug!(reason, "voice connection lost while leaving");
            return;
        }
        if self.rejoining.is_some() {
            debug!(reason, "voice connection lost again while rejoining");
            return;
        }
        warn!(reason, "voice connection lost; rejoining");
        let now = self.now_ms();
        if let Some(current) = self.state.current.as_mut().filter(|c| c.clock.is_running()) {
            current.clock.freeze(now);
            self.save_logged().await;
        }
        self.set_audible(false);
        self.schedule_rejoin(0);
    }

    /// The voice server closed with 4017: it requires DAVE, which this
    /// connection did not negotiate. Rejoining would be closed the same way
    /// (songbird offers DAVE on every connection, so this means its DAVE
    /// setup failed, or Discord changed the protocol): say so in the log
    /// and to the members, and leave with the queue kept.
    async fn dave_required(&mut self, reason: String) {
        if !self.in_voice || self.state.voice_channel.is_none() {
            debug!(reason, "4017 while leaving");
            return;
        }
        error!(
            reason,
            "the voice server requires DAVE end-to-end encryption (close 4017) and this connection did not set it \
             up; leaving with the queue kept"
        );
        self.rejoining = None;
        // The audio stopped with the close; the clock stops now too (the
        // event freezes it).
        self.set_audible(false);
        self.event(Event::Disconnected).await;
        self.notice(DAVE_REQUIRED.to_owned());
    }

    fn schedule_rejoin(&mut self, attempt: usize) {
        self.rejoining = Some(attempt);
        let tx = self.tx.clone();
        let delay = REJOIN_DELAYS[attempt];
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Msg::Rejoin { attempt });
        });
    }

    /// Joins the stored channel again, as a fresh join: songbird forgets the
    /// dead connection (nothing is sent for that), then asks the gateway for
    /// the channel, and Discord answers with a voice server and a new token.
    /// The track stays in songbird's mixer and goes on from where the audio
    /// stopped.
    async fn rejoin(&mut self, attempt: usize) {
        if self.rejoining != Some(attempt) {
            return; // Back already, or left meanwhile.
        }
        let Some(channel) = self.state.voice_channel.filter(|_| self.in_voice) else {
            self.rejoining = None;
            return;
        };
        let guild = songbird_guild(self.guild);
        if let Some(call) = self.shared.songbird.get(guild) {
            call.lock().await.update_state(String::new(), None::<songbird::id::ChannelId>);
        }
        match self.shared.songbird.join(guild, songbird_channel(channel)).await {
            Ok(_) => {
                info!(attempt, channel_id = %channel, "rejoined voice");
                self.voice_back().await;
            }
            Err(e) if attempt + 1 < REJOIN_DELAYS.len() => {
                warn!(attempt, error = %e, "rejoining voice failed; trying again");
                self.schedule_rejoin(attempt + 1);
            }
            Err(e) => {
                warn!(attempt, error = %e, "rejoining voice failed; leaving with the queue kept");
                self.rejoining = None;
                self.sync_clock_to_audio(false).await;
                self.event(Event::Disconnected).await;
                self.notice(REJOIN_FAILED.to_owned());
            }
        }
    }

    /// The call is connected again (songbird reconnected, or the player
    /// rejoined): a rejoin still waiting is not needed, and the clock goes
    /// on from where the audio is.
    async fn voice_back(&mut self) {
        if self.rejoining.take().is_none() {
            debug!("voice connection up");
            return;
        }
        info!("voice connection back");
        self.sync_clock_to_audio(true).await;
        self.sync_live();
    }

    /// Sets the current track's clock to where its audio is in songbird,
    /// running (when `run`, and the track plays) or not.
    async fn sync_clock_to_audio(&mut self, run: bool) {
        let Some(live) = self.live.as_ref().filter(|l| !l.seeking) else { return };
        // After songbird gave up on a call its mixer does not answer until
        // the next connection: bounded, so the player task cannot hang.
        let Ok(info) = track_info(&live.handle).await else {
            debug!("no answer from the mixer about the track; the clock stays where it is");
            return;
        };
        let (track, epoch) = (live.track, live.epoch);
        let now = self.now_ms();
        let paused = self.state.paused;
        let Some(current) = self.state.current.as_mut().filter(|c| c.track.id == track && c.epoch == epoch) else {
            return;
        };
        current.clock.offset_ms = u64::try_from(info.position.as_millis()).unwrap_or(u64::MAX);
        current.clock.since_ms = None;
        if run && !paused && current.clock.ready {
            current.clock.run(now);
        }
        self.save_logged().await;
    }

    /// A caller with every right, in the bot's channel: the deployment
    /// itself (idle leave, a revocation).
    fn system_caller(&self) -> Caller {
        Caller {
            user: timmybot_core::UserId::new(1).expect("non-zero"),
            dj: true,
            voice_channel: self.state.voice_channel,
            text_channel: None,
        }
    }

    async fn command(&mut self, request: PlayerRequest) -> Result<Outcome, PlayError> {
        let PlayerRequest { command, caller, settings, prepared } = request;
        self.settings = settings;
        let is_enqueue = matches!(command, Command::Enqueue { .. });
        let controller = self.state.controller;
        let outcome = self.apply(command, caller).await?;
        if let (true, Some(input), Outcome::Enqueued { first, position: None, .. }) = (is_enqueue, prepared, &outcome) {
            // Opened by /play: it plays without being opened a second time.
            self.prepared = Some((first.id, input));
        }
        self.reconcile().await?;
        if matches!(outcome, Outcome::Stopped { .. }) {
            // The last edit goes to the controller the session had.
            self.show_last_controller(controller);
        } else {
            self.show_controller();
        }
        Ok(outcome)
    }

    /// Applies a command and stores the result; on a failed save the state
    /// stays as it was.
    async fn apply(&mut self, command: Command, caller: Caller) -> Result<Outcome, PlayError> {
        let ctx = Context { now_ms: self.now_ms(), limits: Limits::from_settings(&self.settings), caller };
        let before = self.state.clone();
        let outcome = self.state.apply(command, &ctx)?;
        if matches!(outcome, Outcome::Stopped { .. }) {
            // The next session posts a controller of its own.
            self.state.controller = None;
        }
        if let Err(e) = self.save().await {
            self.state = before;
            return Err(e);
        }
        debug!(?outcome, "command applied");
        Ok(outcome)
    }

    /// Stores the state; the state's version moves on.
    async fn save(&mut self) -> Result<(), PlayError> {
        match self.shared.store.save(&self.state).await {
            Ok(version) => {
                self.state.version = version;
                Ok(())
            }
            Err(e) => {
                if e.kind() == StoreErrorKind::Conflict {
                    // Another process wrote this guild's player: take its
                    // version so the next change can land.
                    warn!("the stored player changed under this task; reloading it");
                    if let Ok(Some(stored)) = self.shared.store.load(self.guild).await {
                        self.state.version = stored.version;
                    }
                }
                Err(PlayError::Store(e))
            }
        }
    }

    async fn save_logged(&mut self) {
        if let Err(e) = self.save().await {
            warn!(error = %e, "saving the player failed");
        }
    }

    /// Applies a playback or connection event, stores the result, and
    /// makes the audio and the controller follow.
    async fn event(&mut self, event: Event) {
        let outcome = self.state.on_event(event, self.now_ms());
        if outcome == EventOutcome::Ignored {
            return;
        }
        self.save_logged().await;
        if let Some(notice) = messages::event_notice(&outcome) {
            self.notice(notice);
        }
        self.reconcile_logged().await;
        self.show_controller();
    }

    async fn reconcile_logged(&mut self) {
        if let Err(e) = self.reconcile().await {
            warn!(error = %e, "could not resume in voice");
        }
    }

    /// Makes songbird follow the state: in the stored voice channel or in
    /// none, playing the current track at its position, paused or not, at
    /// the state's volume.
    async fn reconcile(&mut self) -> Result<(), PlayError> {
        let guild = songbird_guild(self.guild);
        let Some(want) = self.state.voice_channel else {
            self.drop_audio().await;
            if self.shared.songbird.get(guild).is_some()
                && let Err(e) = self.shared.songbird.remove(guild).await
            {
                warn!(error = %e, "leaving voice failed");
            }
            self.set_in_voice(false);
            return Ok(());
        };
        let have = match self.shared.songbird.get(guild) {
            Some(call) => call.lock().await.current_channel(),
            None => None,
        };
        if have != Some(songbird_channel(want)) {
            self.drop_audio().await;
            if let Err(e) = self.shared.songbird.join(guild, songbird_channel(want)).await {
                warn!(channel_id = %want, error = %e, "joining voice failed");
                let _ = self.shared.songbird.remove(guild).await;
                self.set_in_voice(false);
                // Out of voice, the queue kept: the next /play tries again.
                self.state.on_event(Event::Disconnected, self.now_ms());
                self.save_logged().await;
                return Err(PlayError::Join(Box::new(e)));
            }
            info!(channel_id = %want, "joined voice");
        }
        self.watch_driver().await;
        self.set_in_voice(true);
        self.follow_audio().await;
        Ok(())
    }

    /// Brings the audio in line with the current track.
    async fn follow_audio(&mut self) {
        let Some(current) = self.state.current.clone() else {
            self.drop_audio().await;
            return;
        };
        let (id, epoch) = (current.track.id, current.epoch);
        match &mut self.live {
            Some(live) if live.track == id && live.epoch == epoch => {}
            Some(live) if live.track == id => {
                // Same audio, new position (a seek): move it.
                live.epoch = epoch;
                live.seeking = true;
                let handle = live.handle.clone();
                let tx = self.tx.clone();
                let offset = Duration::from_millis(current.clock.offset_ms);
                tokio::spawn(async move {
                    let ok = handle.seek_async(offset).await.is_ok();
                    let _ = tx.send(Msg::Seeked { track: id, epoch, ok });
                });
            }
            _ => {
                self.drop_audio().await;
                if self.opening == Some((id, epoch)) {
                    return;
                }
                match self.prepared.take() {
                    Some((prepared, input)) if prepared == id && current.clock.offset_ms == 0 => {
                        self.start_audio(input, &current).await;
                    }
                    _ => self.open(&current),
                }
            }
        }
        self.sync_live();
    }

    /// Opens the current track's source on its own task.
    fn open(&mut self, current: &NowPlaying) {
        let (track, epoch) = (current.track.id, current.epoch);
        debug!(track_id = %track, epoch, "opening the track's source");
        self.opening = Some((track, epoch));
        let resolver = self.shared.resolver.clone();
        let source = current.track.source.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = Box::new(resolver.resolve(&source).await);
            let _ = tx.send(Msg::Opened { track, epoch, result });
        });
    }

    async fn opened(&mut self, track: TrackId, epoch: u32, result: Result<ResolvedSource, SourceError>) {
        if self.opening == Some((track, epoch)) {
            self.opening = None;
        }
        let Some(current) = self.state.current.clone().filter(|c| c.track.id == track && c.epoch == epoch) else {
            return; // Moved on meanwhile.
        };
        match result {
            Ok(input) if self.in_voice => {
                self.start_audio(input, &current).await;
                self.sync_live();
            }
            Ok(_) => {}
            Err(e) => {
                info!(track_id = %track, error = %e, "a track did not open; moving on");
                self.event(Event::Failed { track, epoch }).await;
            }
        }
    }

    /// Plays `opened` as the current track, at its position.
    async fn start_audio(&mut self, opened: ResolvedSource, current: &NowPlaying) {
        let Some(call) = self.shared.songbird.get(songbird_guild(self.guild)) else { return };
        let ResolvedSource { input, stream_titles, .. } = opened;
        let offset = current.clock.offset_ms;
        let mut track = songbird::tracks::Track::new(input).volume(volume(self.state.volume));
        // Started at a position, it waits paused until the seek lands, so
        // the start of the track is never heard first.
        let paused = self.state.paused || offset > 0;
        if paused {
            track = track.pause();
        }
        let handle = call.lock().await.play_only(track);
        let (id, epoch) = (current.track.id, current.epoch);
        for (event, kind) in [(TrackEvent::End, AudioEvent::Ended), (TrackEvent::Error, AudioEvent::Errored)] {
            let watcher = AudioWatcher { tx: self.tx.clone(), uuid: handle.uuid(), track: id, epoch, kind };
            if let Err(e) = handle.add_event(SongbirdEvent::Track(event), watcher) {
                warn!(error = %e, "could not watch the track");
            }
        }
        self.shared.meter(self.guild, &handle);
        if let Some(mut titles) = stream_titles {
            // Ends with the stream (the sender lives in its reader).
            let tx = self.tx.clone();
            tokio::spawn(async move {
                while let Some(title) = titles.recv().await {
                    if tx.send(Msg::StreamTitle { track: id, epoch, title }).is_err() {
                        break;
                    }
                }
            });
        }
        if offset == 0 {
            // The resolver hands over audio already opened and probed:
            // songbird plays it from its next 20 ms tick, and reports no
            // "playable" event for it, so the player says so itself.
            let _ = self.tx.send(Msg::Audio { event: AudioEvent::Playable, track: id, epoch, play_time: None });
        } else {
            let (handle, tx) = (handle.clone(), self.tx.clone());
            tokio::spawn(async move {
                let ok = handle.seek_async(Duration::from_millis(offset)).await.is_ok();
                let _ = tx.send(Msg::Seeked { track: id, epoch, ok });
            });
        }
        self.live = Some(Live { track: id, epoch, handle, paused, volume: self.state.volume, seeking: offset > 0 });
        info!(track_id = %id, offset_ms = offset, "track started");
    }

    /// Applies pause and volume to the live audio.
    fn sync_live(&mut self) {
        let (paused, vol) = (self.state.paused, self.state.volume);
        let Some(live) = self.live.as_mut() else {
            self.set_audible(false);
            return;
        };
        // A track waiting for its first seek stays paused until it lands.
        let paused = paused || (live.seeking && live.paused);
        if live.paused != paused {
            let _ = if paused { live.handle.pause() } else { live.handle.play() };
            live.paused = paused;
        }
        if live.volume != vol {
            let _ = live.handle.set_volume(volume(vol));
            live.volume = vol;
        }
        self.set_audible(!paused);
    }

    /// Stops the live audio, closing its deficit bookkeeping.
    async fn drop_audio(&mut self) {
        // Audio opened by /play stays only while its track is the current
        // one at its start: it plays as soon as the bot is in voice.
        let current = self.state.current.as_ref().filter(|c| c.clock.offset_ms == 0).map(|c| c.track.id);
        if self.prepared.as_ref().is_some_and(|(id, _)| Some(*id) != current) {
            self.prepared = None;
        }
        if let Some(live) = self.live.take() {
            let now = Instant::now();
            let play_time = track_info(&live.handle).await.ok().map(|s| s.play_time);
            self.shared.finish_meter(live.handle.uuid(), now, play_time);
            let _ = live.handle.stop();
        }
        self.set_audible(false);
    }

    async fn audio(&mut self, event: AudioEvent, track: TrackId, epoch: u32, play_time: Option<Duration>) {
        let Some(live) = self.live.as_ref().filter(|l| l.track == track && l.epoch == epoch) else { return };
        match event {
            AudioEvent::Playable => {
                let handle = live.handle.clone();
                let seeking = live.seeking;
                if let Ok(info) = track_info(&handle).await {
                    // The deficit baseline starts when the audio can play.
                    self.shared.observe(handle.uuid(), Instant::now(), &info);
                }
                if !seeking {
                    self.event(Event::Started { track, epoch }).await;
                }
            }
            AudioEvent::Ended | AudioEvent::Errored => {
                let live = self.live.take().expect("checked above");
                self.shared.finish_meter(live.handle.uuid(), Instant::now(), play_time);
                self.set_audible(false);
                let event = if event == AudioEvent::Ended {
                    Event::Ended { track, epoch }
                } else {
                    Event::Failed { track, epoch }
                };
                self.event(event).await;
            }
        }
    }

    async fn voice(&mut self, update: VoiceUpdate) {
        self.listeners = Some(update.listeners);
        let before = std::mem::replace(&mut self.bot_channel_seen, update.bot_channel);
        match (before, update.bot_channel) {
            (_, Some(channel)) if self.state.voice_channel.is_some_and(|c| c != channel) => {
                info!(channel_id = %channel, "moved to another channel; following");
                self.event(Event::Moved { channel }).await;
            }
            (Some(_), None) if self.in_voice && self.state.voice_channel.is_some() => {
                info!("disconnected from voice; the queue is kept");
                self.event(Event::Disconnected).await;
            }
            _ => {}
        }
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        let playing = self.live.as_ref().is_some_and(|l| !l.paused);
        if playing && now.duration_since(self.last_refresh) >= self.shared.config.controller_refresh {
            self.show_controller();
        }
        if let Some((track, epoch)) = self.live_session_over() {
            info!(track_id = %track, "a live stream reached its longest session; moving on");
            self.event(Event::Ended { track, epoch }).await;
        }
        if self.state.voice_channel.is_none() || !self.in_voice || self.settings.always_on {
            self.idle_since = None;
            self.alone_since = None;
            return;
        }
        let idle = self.state.current.is_none();
        let due = |since: &mut Option<Instant>, active: bool, secs: u32| {
            if !active || secs == 0 {
                *since = None;
                return false;
            }
            now.duration_since(*since.get_or_insert(now)) >= Duration::from_secs(u64::from(secs))
        };
        let idle_secs = self.settings.idle_leave_secs;
        let alone_secs = self.settings.alone_leave_secs;
        if due(&mut self.idle_since, idle, idle_secs) {
            self.auto_leave(AutoLeave::Idle).await;
        } else if due(&mut self.alone_since, self.listeners == Some(0), alone_secs) {
            self.auto_leave(AutoLeave::Alone).await;
        }
    }

    /// The current live track, when it has played its longest session.
    fn live_session_over(&self) -> Option<(TrackId, u32)> {
        let current = self.state.current.as_ref().filter(|c| c.track.is_live() && c.clock.ready)?;
        let limit = u64::try_from(self.shared.config.max_live_session.as_millis()).unwrap_or(u64::MAX);
        (current.clock.position_at(self.now_ms()) >= limit).then_some((current.track.id, current.epoch))
    }

    async fn auto_leave(&mut self, why: AutoLeave) {
        self.idle_since = None;
        self.alone_since = None;
        let caller = self.system_caller();
        if self.apply(Command::Leave, caller).await.is_err() {
            return;
        }
        info!(reason = ?why, "left voice on its own");
        self.reconcile_logged().await;
        self.show_controller();
        self.notice(match why {
            AutoLeave::Idle => "Left the voice channel: nothing was playing.".to_owned(),
            AutoLeave::Alone => "Left the voice channel: nobody was listening. The queue is kept.".to_owned(),
        });
    }

    /// Graceful shutdown: the exact position is stored, the channel kept so
    /// the next process rejoins, and the bot leaves voice.
    async fn suspend(&mut self) {
        let now = self.now_ms();
        if let Some(current) = &mut self.state.current {
            current.clock.freeze(now);
            current.clock.ready = false;
        }
        self.save_logged().await;
        self.drop_audio().await;
        let guild = songbird_guild(self.guild);
        if self.shared.songbird.get(guild).is_some() {
            let _ = self.shared.songbird.remove(guild).await;
        }
        self.set_in_voice(false);
    }

    fn set_audible(&mut self, audible: bool) {
        if self.audible != audible {
            self.audible = audible;
            self.shared.set_audible(audible);
        }
    }

    /// Has the call report its connection going down and coming back.
    async fn watch_driver(&mut self) {
        if self.driver_watched {
            return;
        }
        let Some(call) = self.shared.songbird.get(songbird_guild(self.guild)) else { return };
        let mut call = call.lock().await;
        for (event, connected) in
            [(CoreEvent::DriverDisconnect, false), (CoreEvent::DriverConnect, true), (CoreEvent::DriverReconnect, true)]
        {
            call.add_global_event(SongbirdEvent::Core(event), DriverWatcher { tx: self.tx.clone(), connected });
        }
        self.driver_watched = true;
    }

    fn set_in_voice(&mut self, in_voice: bool) {
        if !in_voice {
            // The call is gone with its handlers; the next one needs its own.
            self.driver_watched = false;
            self.rejoining = None;
        }
        self.in_voice = in_voice;
        self.shared.set_in_voice(self.guild, in_voice);
    }

    /// The channel the controller and notices go to.
    fn announce_channel(&self) -> Option<ChannelId> {
        self.settings.announce_channel.or(self.state.text_channel)
    }

    /// Shows the state on the controller.
    fn show_controller(&mut self) {
        let body = messages::controller(&self.state, self.now_ms());
        self.show(body, self.state.controller, false);
    }

    /// Edits the controller `at` one last time: the player stopped, and the
    /// next session posts a new one.
    fn show_last_controller(&mut self, at: Option<MessageRef>) {
        let body = OutgoingMessage::text("⏹ Stopped. `/play` to start again.");
        self.show(body, at, true);
    }

    fn show(&mut self, body: OutgoingMessage, message: Option<MessageRef>, last: bool) {
        let Some(discord) = self.shared.discord.clone() else { return };
        let Some(channel) = self.announce_channel() else { return };
        let view = ControllerView { channel, message, body, last };
        let tx = self.tx.clone();
        self.controller.get_or_insert_with(|| Controller::start(discord, tx)).show(view);
        self.last_refresh = Instant::now();
    }

    /// Posts a one-off message in the announce channel.
    fn notice(&self, text: String) {
        let (Some(discord), Some(channel)) = (self.shared.discord.clone(), self.announce_channel()) else { return };
        tokio::spawn(async move {
            if let Err(e) = discord.create_message(channel, &OutgoingMessage::text(text)).await {
                warn!(channel_id = %channel, error = %e, "posting a notice failed");
            }
        });
    }
}

/// Forwards one songbird event of one track to its guild's task.
struct AudioWatcher {
    tx: mpsc::UnboundedSender<Msg>,
    uuid: uuid::Uuid,
    track: TrackId,
    epoch: u32,
    kind: AudioEvent,
}

#[async_trait]
impl EventHandler for AudioWatcher {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<SongbirdEvent> {
        let EventContext::Track(tracks) = ctx else { return None };
        let (state, _) = tracks.iter().find(|(_, h)| h.uuid() == self.uuid)?;
        let msg =
            Msg::Audio { event: self.kind, track: self.track, epoch: self.epoch, play_time: Some(state.play_time) };
        if self.tx.send(msg).is_err() || self.kind != AudioEvent::Playable {
            return Some(SongbirdEvent::Cancel);
        }
        None
    }
}

/// Forwards the call's connection events to its guild's task.
struct DriverWatcher {
    tx: mpsc::UnboundedSender<Msg>,
    connected: bool,
}

#[async_trait]
impl EventHandler for DriverWatcher {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<SongbirdEvent> {
        let (reason, after) = match ctx {
            EventContext::DriverDisconnect(data) => {
                (data.reason.map(|r| format!("{r:?}")), data.reason.map_or(AfterLoss::Nothing, |r| after_loss(&r)))
            }
            _ => (None, AfterLoss::Nothing),
        };
        if self.tx.send(Msg::Driver { connected: self.connected, reason, after }).is_err() {
            return Some(SongbirdEvent::Cancel);
        }
        None
    }
}

/// What the player does once songbird gave up on a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterLoss {
    /// Joins again by itself.
    Rejoin,
    /// Nothing: it asked to leave, or the gateway's voice state says why.
    Nothing,
    /// Tells the members the voice server required DAVE (4017) and leaves.
    DaveRequired,
}

fn after_loss(reason: &DisconnectReason) -> AfterLoss {
    match reason {
        DisconnectReason::WsClosed(Some(VoiceCloseCode::DaveProtocolRequired)) => AfterLoss::DaveRequired,
        reason if rejoins_after(reason) => AfterLoss::Rejoin,
        _ => AfterLoss::Nothing,
    }
}

/// Whether the player gets back into a call songbird gave up on for
/// `reason`: not after its own leave, a kick or a deleted channel (4014,
/// 4022: the gateway's voice state says what happened), nor for an attempt
/// songbird replaced with a newer one.
fn rejoins_after(reason: &DisconnectReason) -> bool {
    !matches!(
        reason,
        DisconnectReason::Requested
            | DisconnectReason::AttemptDiscarded
            | DisconnectReason::WsClosed(Some(VoiceCloseCode::Disconnected | VoiceCloseCode::CallTerminated))
    )
}

/// songbird's volume: 1.0 is 100 %.
fn volume(percent: u16) -> f32 {
    f32::from(percent) / 100.0
}

fn songbird_guild(guild: GuildId) -> songbird::id::GuildId {
    songbird::id::GuildId(std::num::NonZeroU64::new(guild.get()).expect("guild ids are non-zero"))
}

fn songbird_channel(channel: ChannelId) -> songbird::id::ChannelId {
    songbird::id::ChannelId(std::num::NonZeroU64::new(channel.get()).expect("channel ids are non-zero"))
}
