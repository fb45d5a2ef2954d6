//! One task per gateway shard: reads events and fans them out.

use std::sync::Arc;

use songbird::Songbird;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};
use twilight_gateway::{CloseFrame, Event, EventTypeFlags, Session, Shard, StreamExt};

use timmybot_core::{Clock, GatewaySessionStore, UserId};
use timmybot_voice::{GuildPlayers, VoiceUpdate};

use crate::gateway_interactions::{self, GatewayInteractions};
use crate::health::ShardState;
use crate::{Health, VoiceStateCache, discord_ids};

/// What a shard's events feed.
#[derive(Clone)]
pub(crate) struct ShardContext {
    pub songbird: Arc<Songbird>,
    pub voice_states: VoiceStateCache,
    /// Told where the bot is and who listens after every voice change.
    pub players: GuildPlayers,
    /// The bot's own user.
    pub bot_user: UserId,
    pub health: Health,
    pub http: Arc<twilight_http::Client>,
    /// Set when interactions come over the gateway (no public endpoint).
    pub interactions: Option<Arc<dyn GatewayInteractions>>,
    /// Where each identify (READY) is recorded for the hourly limit.
    pub sessions: Option<Arc<dyn GatewaySessionStore>>,
    /// The clock identifies are recorded by.
    pub clock: Arc<dyn Clock>,
}

/// Records one identify in the store, in the background: a slow store must
/// not hold up events.
fn record_identify(ctx: &ShardContext, shard_id: u32) {
    let Some(store) = ctx.sessions.clone() else { return };
    let at_ms = ctx.clock.now_unix_millis();
    tokio::spawn(async move {
        if let Err(error) = store.record_identify(at_ms).await {
            warn!(shard_id, %error, "could not record the identify");
        }
    });
}

/// How long a closing shard waits for the gateway to confirm.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The events this service acts on; twilight skips deserialising the rest.
/// (GATEWAY_CLOSE has no flag: close events are always delivered.)
fn wanted() -> EventTypeFlags {
    EventTypeFlags::READY
        | EventTypeFlags::RESUMED
        | EventTypeFlags::GUILD_CREATE
        | EventTypeFlags::GUILD_DELETE
        | EventTypeFlags::VOICE_STATE_UPDATE
        | EventTypeFlags::VOICE_SERVER_UPDATE
        | EventTypeFlags::INTERACTION_CREATE
        | EventTypeFlags::GATEWAY_INVALIDATE_SESSION
}

/// What a shard leaves behind when it stops: its session, if it closed
/// resumable, for the next task to resume.
#[derive(Debug, Clone)]
pub(crate) struct ShardEnd {
    /// The shard's id.
    pub shard_id: u32,
    /// The session and the URL to resume it at; `None` when the shard had
    /// none (never identified, or its session was invalidated).
    pub session: Option<(Session, String)>,
}

/// Where a shard that just lost its socket stands: twilight reconnects by
/// itself (resuming when it still holds a session, identifying otherwise)
/// unless the close code was fatal or the service is closing it.
fn after_disconnect(shard: &Shard, closing: bool) -> ShardState {
    if closing || matches!(shard.state(), twilight_gateway::ShardState::FatallyClosed) {
        ShardState::Disconnected
    } else if shard.session().is_some() {
        ShardState::Resuming
    } else {
        ShardState::Connecting
    }
}

/// Runs `shard` until `stop` is cancelled, then closes it with 4000
/// (resumable: 1000 would end the session Discord keeps for us) and returns
/// its session for the next task.
pub(crate) async fn run(mut shard: Shard, ctx: ShardContext, stop: CancellationToken) -> ShardEnd {
    let shard_id = shard.id().number();
    let mut closing = false;
    loop {
        let item = tokio::select! {
            () = stop.cancelled(), if !closing => {
                closing = true;
                shard.close(CloseFrame::RESUME);
                continue;
            }
            // A gateway that never acknowledges the close must not hold up shutdown.
            () = tokio::time::sleep(CLOSE_GRACE), if closing => break,
            item = shard.next_event(wanted()) => item,
        };
        let event = match item {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                // twilight reconnects by itself; the error is informational.
                warn!(shard_id, error = %e, "gateway receive error");
                if !matches!(shard.state(), twilight_gateway::ShardState::Active) {
                    ctx.health.set_state(shard_id, after_disconnect(&shard, closing));
                }
                continue;
            }
        };
        match &event {
            Event::Ready(_) => {
                // Every READY follows an IDENTIFY (twilight's own re-identifies
                // after a refused resume too): count them all.
                record_identify(&ctx, shard_id);
                ctx.health.set_state(shard_id, ShardState::Ready);
            }
            Event::Resumed => ctx.health.set_state(shard_id, ShardState::Ready),
            Event::GatewayClose(_) => ctx.health.set_state(shard_id, after_disconnect(&shard, closing)),
            Event::GatewayInvalidateSession(_) if !closing => ctx.health.set_state(shard_id, ShardState::Connecting),
            _ => {}
        }
        let span = info_span!("gateway_event", shard_id, kind = ?event.kind());
        let closed = handle_event(&ctx, event, closing).instrument(span).await;
        if closed {
            break;
        }
    }
    ctx.health.set_state(shard_id, ShardState::Disconnected);
    info!(shard_id, resumable = shard.session().is_some(), "shard stopped");
    let session = shard.session().cloned().zip(shard.resume_url().map(str::to_owned));
    ShardEnd { shard_id, session }
}

/// The guild whose voice states `event` changed, if any.
fn voice_guild(event: &Event) -> Option<timmybot_core::GuildId> {
    match event {
        Event::VoiceStateUpdate(update) => update.0.guild_id.map(discord_ids::guild),
        Event::GuildCreate(create) => Some(discord_ids::guild(create.id())),
        _ => None,
    }
}

/// Applies one event; returns `true` when a closing shard saw its close.
async fn handle_event(ctx: &ShardContext, event: Event, closing: bool) -> bool {
    match &event {
        Event::Ready(_) => info!("shard connected (identified)"),
        Event::Resumed => info!("shard connected (resumed)"),
        Event::GatewayClose(frame) => {
            debug!(?frame, "shard disconnected");
            if closing {
                return true;
            }
        }
        _ => {}
    }
    ctx.voice_states.apply(&event);
    // songbird first: a player that follows a move asks songbird where it is.
    ctx.songbird.process(&event).await;
    if let Some(guild) = voice_guild(&event) {
        let bot_channel = ctx.voice_states.channel_of(guild, ctx.bot_user);
        let listeners = bot_channel.map_or(0, |c| ctx.voice_states.listeners(guild, c, ctx.bot_user).len());
        ctx.players.voice_update(guild, VoiceUpdate { bot_channel, listeners });
    }
    if let (Event::InteractionCreate(create), Some(handler)) = (event, &ctx.interactions) {
        tokio::spawn(gateway_interactions::answer(handler.clone(), ctx.http.clone(), create.0));
    }
    false
}
