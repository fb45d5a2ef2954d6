//! Wiring of the gateway service: shards, songbird, players, consumer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use timmybot_sources::{Catalog, EnabledSources};
use timmybot_voice::{AudiusSource, Library, RadioSource, ServiceLinkSource, TrackMatcher};

use anyhow::Context as _;
use songbird::Songbird;
use songbird::shards::TwilightMap;
use timmybot_allowlist::Allowlist;
use timmybot_core::metrics::MetricsRecorder;
use timmybot_core::{
    ApplicationId, Clock, CommandBus, CommandLedger, DiscordReplies, DiscordRest, GatewaySessionStore, PlayerStore,
    PlaylistStore, SavedGatewaySessions, Secret, SettingsStore, SystemClock, TrackCache,
};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_voice::{GuildPlayers, PlayersConfig, PlayersDeps, SourceResolver};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{ConfigBuilder, Intents, Session};

use crate::access_watch::{self, AccessWatchSettings};
use crate::gateway_interactions::GatewayInteractions;
use crate::gateway_start::{self, IDENTIFY_WINDOW, IdentifySettings, StartLimit};
use crate::idle_stop::{IdleStop, ScaleToZero};
use crate::shard_runner::{self, ShardContext};
use crate::{CommandProcessor, Health, PlayerStats, TwilightReplies, VoiceStateCache, consumer, metrics};

/// Where Discord is. Both unset in production; tests and the sandbox point
/// them at the fake Discord.
#[derive(Debug, Clone, Default)]
pub struct DiscordEndpoints {
    /// `host:port` of a plain-HTTP stand-in for `discord.com` (default: unset).
    pub rest_proxy: Option<String>,
    /// `ws://` URL of a stand-in gateway (default: unset, Discord's own).
    pub gateway_url: Option<String>,
}

/// Settings of the gateway service.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The bot token.
    pub token: Secret,
    /// The application the bot belongs to.
    pub application_id: ApplicationId,
    /// Where Discord is.
    pub endpoints: DiscordEndpoints,
    /// Folder local files may be played from (default: none, files disabled).
    pub media_dir: Option<PathBuf>,
    /// How long shutdown waits for in-flight commands (default 10 s).
    pub shutdown_grace: Duration,
    /// Where links members play may lead and how much they may take
    /// (default: `OutboundPolicy::default()`, every internal address denied).
    pub outbound: OutboundPolicy,
    /// How revocations are enforced on running players.
    pub access_watch: AccessWatchSettings,
    /// The yt-dlp executable that resolves YouTube links (default: none,
    /// YouTube links are refused).
    pub ytdlp: Option<PathBuf>,
    /// Whether SoundCloud track links go to yt-dlp (`TIMMYBOT_SOUNDCLOUD`;
    /// default false: they are refused). Needs [`Self::ytdlp`].
    pub soundcloud: bool,
    /// How the players run (default: [`PlayersConfig::default`]).
    pub players: PlayersConfig,
    /// The enabled directory and catalog clients (default: none).
    pub sources: EnabledSources,
    /// The guards on Discord's daily identify allowance.
    pub identify: IdentifySettings,
}

/// The ports the gateway service runs on.
#[derive(Clone)]
pub struct GatewayDeps {
    /// Where commands come from.
    pub bus: Arc<dyn CommandBus>,
    /// Where players (queues, positions) live.
    pub players: Arc<dyn PlayerStore>,
    /// Where guild settings live.
    pub settings: Arc<dyn SettingsStore>,
    /// Which bus commands already took effect, so a redelivery runs none
    /// twice.
    pub ledger: Arc<dyn CommandLedger>,
    /// Handler for interactions arriving over the gateway; `None` when
    /// Discord sends them to an HTTP endpoint instead.
    pub gateway_interactions: Option<Arc<dyn GatewayInteractions>>,
    /// Health counters, shared with the health endpoint.
    pub health: Health,
    /// The allowlist whose revocations stop players; `None` = open bot.
    pub allowlist: Option<Arc<Allowlist>>,
    /// Discord REST for leaving revoked guilds; `None` never leaves.
    pub discord: Option<Arc<dyn DiscordRest>>,
    /// Where the minute's metrics record goes (players, frames, commands);
    /// `None` = no records. The AWS deployment passes an adapter that prints
    /// each record as an EMF line on stdout.
    pub metrics: Option<Arc<dyn MetricsRecorder>>,
    /// The players' frame statistics for `GET /metrics`, filled in once the
    /// players start.
    pub player_stats: PlayerStats,
    /// Where what music-service links resolved to is kept for a while;
    /// `None` resolves every link afresh.
    pub track_cache: Option<Arc<dyn TrackCache>>,
    /// Heartbeat and idle stop ([`crate::idle_stop`]); `None` (`timmybot
    /// serve`, a gateway always up) writes no heartbeat and never stops
    /// by itself.
    pub scale_to_zero: Option<ScaleToZero>,
    /// Where the shards' sessions are left for the next task and identifies
    /// are counted; `None` always identifies and counts nothing.
    pub sessions: Option<Arc<dyn GatewaySessionStore>>,
    /// Members' own playlists, played by `/playlist load` and `/play
    /// playlist:`; `None` refuses those as unavailable.
    pub playlists: Option<Arc<dyn PlaylistStore>>,
}

/// Resumes the stored players once every shard is connected (joining
/// needs the guild's shard).
async fn resume_when_ready(players: GuildPlayers, health: Health, stop: CancellationToken) {
    while !health.is_healthy() {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    if let Err(e) = players.resume_active().await {
        warn!(error = %e, "could not read which players to resume");
    }
}

/// The shards to run, and how they start.
struct ShardPlan {
    shards: Vec<twilight_gateway::Shard>,
    shard_count: u32,
    /// How many shards resume a saved session.
    resuming: usize,
    /// Which shards resume.
    resumed_ids: Vec<u32>,
    /// The saved sessions resumed from (for their voice states).
    restored: Option<SavedGatewaySessions>,
}

/// Asks Discord how many shards to run and how many identifies are left,
/// takes the saved sessions, and builds the shards: those with a fresh
/// saved session resume it, the others identify, if the identify budget
/// allows (see [`gateway_start`]).
async fn plan_shards(
    http: &twilight_http::Client,
    settings: &GatewaySettings,
    deps: &GatewayDeps,
    clock: &dyn Clock,
) -> anyhow::Result<ShardPlan> {
    let info = http
        .gateway()
        .authed()
        .await
        .context("could not ask Discord how many shards to run (GET /gateway/bot)")?
        .model()
        .await
        .context("Discord answered GET /gateway/bot with something unexpected")?;
    let shard_count = info.shards.max(1);
    let limit = info.session_start_limit;
    let now_ms = clock.now_unix_millis();
    let saved = match &deps.sessions {
        Some(store) => store.take_sessions().await.unwrap_or_else(|error| {
            warn!(%error, "could not read the saved gateway sessions: identifying");
            None
        }),
        None => None,
    };
    let (sessions, restored) = gateway_start::usable_sessions(saved, shard_count, now_ms);
    let identifies = (0..shard_count).filter(|id| !sessions.contains_key(id)).count() as u32;
    let recent = match (&deps.sessions, identifies) {
        (Some(store), 1..) => {
            let since = now_ms.saturating_sub(IDENTIFY_WINDOW.as_millis() as u64);
            store.identifies_since(since).await.unwrap_or_else(|error| {
                warn!(%error, "could not read this deployment's recent identifies");
                0
            })
        }
        _ => 0,
    };
    let start_limit = StartLimit {
        total: limit.total,
        remaining: limit.remaining,
        reset_after: Duration::from_millis(limit.reset_after),
    };
    info!(
        shards = shard_count,
        identifies,
        remaining = limit.remaining,
        total = limit.total,
        recent_identifies = recent,
        "identify budget"
    );
    if let Some(refusal) = settings.identify.refusal(shard_count, identifies, &start_limit, recent) {
        error!(remaining = limit.remaining, total = limit.total, "{refusal}");
        anyhow::bail!(refusal);
    }

    let intents = Intents::GUILDS | Intents::GUILD_VOICE_STATES;
    // The queue spaces IDENTIFYs as Discord asks (max_concurrency per 5 s).
    let queue = InMemoryQueue::new(
        limit.max_concurrency.max(1),
        limit.remaining,
        Duration::from_millis(limit.reset_after),
        limit.total,
    );
    let mut config = ConfigBuilder::new(settings.token.expose().to_owned(), intents).queue(queue);
    if let Some(url) = &settings.endpoints.gateway_url {
        config = config.proxy_url(url.clone());
    }
    let resumed_ids: Vec<u32> = sessions.keys().copied().collect();
    let shards: Vec<_> =
        twilight_gateway::create_iterator(0..shard_count, shard_count, config.build(), |id, builder| {
            match sessions.get(&id.number()) {
                Some(saved) => builder
                    .session(Session::new(saved.sequence, saved.session_id.clone()))
                    .resume_url(saved.resume_url.clone())
                    .build(),
                None => builder.build(),
            }
        })
        .collect();
    Ok(ShardPlan { shards, shard_count, resuming: resumed_ids.len(), resumed_ids, restored })
}

/// Saves the sessions of the shards that closed resumable, with the voice
/// states behind them, for the next task.
async fn save_sessions(
    store: &dyn GatewaySessionStore,
    ends: Vec<crate::shard_runner::ShardEnd>,
    shard_count: u32,
    voice_states: &VoiceStateCache,
    clock: &dyn Clock,
) {
    let sessions: Vec<_> = ends
        .into_iter()
        .filter_map(|end| {
            let (session, resume_url) = end.session?;
            Some(timmybot_core::GatewaySession {
                shard_id: end.shard_id,
                shard_count,
                session_id: session.id().to_owned(),
                sequence: session.sequence(),
                resume_url,
            })
        })
        .collect();
    if sessions.is_empty() {
        return;
    }
    let (guilds, voice_states) = voice_states.snapshot();
    let saved = SavedGatewaySessions { saved_at_ms: clock.now_unix_millis(), sessions, guilds, voice_states };
    match store.save_sessions(&saved).await {
        Ok(()) => info!(shards = saved.sessions.len(), "gateway sessions saved for the next task"),
        Err(error) => warn!(%error, "could not save the gateway sessions: the next task identifies"),
    }
}

/// How long shutdown waits for Discord to confirm the bot left each voice
/// channel before the shards close.
const LEAVE_CONFIRM_WAIT: Duration = Duration::from_secs(2);

/// Runs the gateway service until `shutdown` is cancelled, or (with
/// [`GatewayDeps::scale_to_zero`]) until it stopped itself for idleness.
///
/// Once every shard is connected, players whose stored state says they were
/// playing are resumed (a restart). Shutdown order matters: stop taking
/// commands, let running ones finish (bounded by `shutdown_grace`), store
/// every player's exact position and leave every voice channel while the
/// shards can still say so to Discord, then close the shards.
///
/// # Errors
/// Fails when Discord cannot be reached at start (bad token, no network).
pub async fn run(settings: GatewaySettings, deps: GatewayDeps, shutdown: CancellationToken) -> anyhow::Result<()> {
    let http = Arc::new(crate::discord_http(&settings.token, &settings.endpoints));
    let bot = http
        .current_user()
        .await
        .context("could not reach Discord with the bot token (GET /users/@me)")?
        .model()
        .await
        .context("Discord answered /users/@me with something unexpected")?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let plan = plan_shards(&http, &settings, &deps, clock.as_ref()).await?;
    let shards = plan.shards;
    deps.health.set_shards(shards.iter().map(|s| s.id().number()));
    info!(shards = shards.len(), resuming = plan.resuming, user_id = %bot.id, "starting gateway shards");

    let senders: HashMap<u32, _> = shards.iter().map(|s| (s.id().number(), s.sender())).collect();
    let songbird = Arc::new(Songbird::twilight(Arc::new(TwilightMap::new(senders)), bot.id));

    let voice_states = VoiceStateCache::new();
    if let Some(saved) = &plan.restored {
        // Resumed shards get no GUILD_CREATE: start from what the old task knew.
        let count = saved.sessions.first().map_or(1, |s| s.shard_count).max(1);
        let resumed = &plan.resumed_ids;
        voice_states.restore(&saved.guilds, &saved.voice_states, |guild| {
            resumed.contains(&(((guild >> 22) % u64::from(count)) as u32))
        });
    }
    let mut resolver = SourceResolver::new(SafeHttpClient::new(settings.outbound.clone()), settings.media_dir.clone())
        .with_ytdlp(settings.ytdlp.clone())
        .with_soundcloud(settings.soundcloud);
    // The registry's order: a station or an Audius link goes to its source;
    // plain text searches the media folder first (a self-hoster's own files
    // before anyone's catalog), then Audius; Spotify, Deezer, Apple Music and
    // YouTube links are matched to the catalogs before them (YouTube goes to
    // yt-dlp instead when it is configured).
    if let Some(dir) = settings.media_dir.clone() {
        let library = Library::new(dir);
        // Indexed in the background from now on, so `/library` and searches
        // rarely meet an empty index.
        library.refresh();
        resolver = resolver.with_library(library);
    }
    let mut catalogs: Vec<Arc<dyn Catalog>> = Vec::new();
    if let Some(radio) = settings.sources.radio.clone() {
        resolver = resolver.with_source(Arc::new(RadioSource::new(radio)));
    }
    if let Some(audius) = settings.sources.audius.clone() {
        catalogs.push(Arc::new(audius.clone()));
        resolver = resolver.with_source(Arc::new(AudiusSource::new(audius)));
    }
    // Members' imported playlists are matched to the same catalogs, through
    // the same cache, whether or not service links are on.
    let mut matcher = TrackMatcher::new(catalogs.clone());
    if let Some(cache) = deps.track_cache.clone() {
        matcher = matcher.with_cache(cache);
    }
    resolver = resolver.with_matcher(matcher);
    let service_links = match settings.sources.links.clone() {
        Some(links) => {
            let source = ServiceLinkSource::new(links, catalogs);
            match deps.track_cache.clone() {
                Some(cache) => source.with_cache(cache),
                None => source,
            }
        }
        None => ServiceLinkSource::disabled(),
    };
    resolver = resolver.with_source(Arc::new(service_links));
    info!(
        sources = ?resolver.source_names(),
        youtube = resolver.youtube_enabled(),
        soundcloud = resolver.soundcloud_enabled(),
        "sources enabled"
    );
    if resolver.youtube_enabled() {
        warn!(
            "YouTube links are on (TIMMYBOT_YTDLP is set): YouTube's terms forbid separating a video's audio; \
             docs/sources.md explains why it is off by default"
        );
    }
    if resolver.soundcloud_enabled() {
        warn!(
            "SoundCloud links are on (TIMMYBOT_SOUNDCLOUD=on): SoundCloud's terms do not allow Discord bots to \
             stream its tracks; docs/sources.md explains why it is off by default"
        );
    }
    // Cancelled by `shutdown`, or by the idle stop.
    let stopping = shutdown.child_token();
    let players_stop = CancellationToken::new();
    let players = GuildPlayers::start(
        PlayersDeps {
            songbird: songbird.clone(),
            store: deps.players.clone(),
            settings: deps.settings.clone(),
            resolver,
            discord: deps.discord.clone(),
            clock: clock.clone(),
        },
        settings.players.clone(),
        players_stop.clone(),
    )
    .await
    .context("could not read the stored players")?;
    deps.player_stats.set(players.clone());
    let replies: Arc<dyn DiscordReplies> = Arc::new(TwilightReplies::new(http.clone()));
    let bot_user = crate::discord_ids::user(bot.id);
    let mut processor =
        CommandProcessor::new(players.clone(), voice_states.clone(), replies, deps.settings.clone(), bot_user);
    if let Some(playlists) = deps.playlists.clone() {
        let importer =
            crate::playlist_import::PlaylistImporter::new(&settings.outbound, playlists.clone(), clock.clone());
        processor = processor.with_playlists(playlists).with_importer(importer);
    }
    let watch_stop = stopping.child_token();
    if let Some(allowlist) = deps.allowlist.clone() {
        tokio::spawn(access_watch::run(
            allowlist,
            players.clone(),
            deps.discord.clone(),
            settings.access_watch,
            watch_stop.clone(),
        ));
    }

    let shards_stop = CancellationToken::new();
    let mut shard_tasks = JoinSet::new();
    let ctx = ShardContext {
        songbird,
        voice_states: voice_states.clone(),
        health: deps.health.clone(),
        http,
        interactions: deps.gateway_interactions.clone(),
        players: players.clone(),
        bot_user,
        sessions: deps.sessions.clone(),
        clock: clock.clone(),
    };
    for shard in shards {
        shard_tasks.spawn(shard_runner::run(shard, ctx.clone(), shards_stop.clone()));
    }
    tokio::spawn(resume_when_ready(players.clone(), deps.health.clone(), stopping.child_token()));
    let idle_stop = deps.scale_to_zero.clone().map(|scale| {
        let in_voice = players.clone();
        IdleStop::start(
            scale,
            deps.bus.clone(),
            deps.health.clone(),
            clock.clone(),
            move || !in_voice.active_guilds().is_empty(),
            stopping.clone(),
        )
    });

    // Not a child of `shutdown`: the last record is written after the
    // players left, so it holds their last frames.
    let metrics_stop = CancellationToken::new();
    let metrics_task = deps.metrics.clone().map(|recorder| {
        tokio::spawn(metrics::run(
            Arc::new(players.clone()),
            processor.counters(),
            recorder,
            metrics::METRICS_INTERVAL,
            metrics_stop.clone(),
        ))
    });

    let consumer_stop = stopping.child_token();
    let consumer = tokio::spawn(consumer::run(
        deps.bus.clone(),
        Arc::new(processor),
        deps.ledger.clone(),
        clock.clone(),
        consumer_stop,
    ));
    stopping.cancelled().await;

    info!("shutting down: no new commands");
    if tokio::time::timeout(settings.shutdown_grace, consumer).await.is_err() {
        warn!("commands still running after the grace period; leaving anyway");
    }
    let in_voice = players.active_guilds();
    players.suspend_all().await;
    players_stop.cancel();
    // Each leave is an op 4 queued on its shard; closing the shards at once
    // could drop it, leaving the bot shown in the channel. Wait (briefly)
    // until Discord confirms every leave with the bot's VOICE_STATE_UPDATE.
    let confirmed = async {
        while in_voice.iter().any(|guild| voice_states.channel_of(*guild, bot_user).is_some()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(LEAVE_CONFIRM_WAIT, confirmed).await.is_err() {
        warn!("Discord did not confirm every voice leave before shutdown");
    }
    metrics_stop.cancel();
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    if let Some(idle_stop) = idle_stop {
        idle_stop.stand_down().await;
    }
    shards_stop.cancel();
    let mut ends = Vec::new();
    while let Some(end) = shard_tasks.join_next().await {
        ends.extend(end.ok());
    }
    if let Some(store) = &deps.sessions {
        save_sessions(store.as_ref(), ends, plan.shard_count, &voice_states, clock.as_ref()).await;
    }
    info!("gateway service stopped");
    Ok(())
}
