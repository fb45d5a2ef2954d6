//! One task per gateway shard: reads events and fans them out.

use std::sync::Arc;

use songbird::Songbird;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};
use twilight_gateway::{CloseFrame, Event, EventTypeFlags, Shard, StreamExt};

use timmybot_core::UserId;
use timmybot_voice::{GuildPlayers, VoiceUpdate};

use crate::gateway_interactions::{self, GatewayInteractions};
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
}

/// Runs `shard` until `stop` is cancelled, then closes it cleanly.
pub(crate) async fn run(mut shard: Shard, ctx: ShardContext, stop: CancellationToken) {
    let shard_id = shard.id().number();
    let mut closing = false;
    loop {
        let item = tokio::select! {
            () = stop.cancelled(), if !closing => {
                closing = true;
                shard.close(CloseFrame::NORMAL);
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
                continue;
            }
        };
        let span = info_span!("gateway_event", shard_id, kind = ?event.kind());
        let closed = handle_event(&ctx, event, closing).instrument(span).await;
        if closed {
            break;
        }
    }
    info!(shard_id, "shard stopped");
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
        Event::Ready(_) | Event::Resumed => {
            info!("shard connected");
            ctx.health.shard_ready();
        }
        Event::GatewayClose(frame) => {
            debug!(?frame, "shard disconnected");
            ctx.health.shard_lost();
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
