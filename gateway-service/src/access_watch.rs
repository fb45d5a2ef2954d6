//! Enforces revocations on the players: every few seconds, each guild with
//! an active player is checked against the allowlist; a guild that may no
//! longer use the bot is stopped and left within one interval.
//!
//! Polling rather than a bus message: it needs nothing from whoever revoked
//! (the admin Lambda, a button, the CLI, or an edit straight in the table),
//! it survives a restart, and it costs one read per *playing* guild per
//! interval. After a revoke, the bot may also leave the guild itself once a
//! grace period passes, if the deployment says so.

use std::sync::Arc;
use std::time::Duration;

use timmybot_allowlist::{Access, Allowlist};
use timmybot_core::{AllowlistState, DiscordRest, GuildId};
use timmybot_voice::GuildPlayers;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How the watch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessWatchSettings {
    /// How often active guilds are checked (default 3 s).
    pub interval: Duration,
    /// Leave a revoked guild after this long; `None` stays in it.
    pub leave_revoked_guild_after: Option<Duration>,
}

impl Default for AccessWatchSettings {
    fn default() -> Self {
        Self { interval: Duration::from_secs(3), leave_revoked_guild_after: None }
    }
}

/// Runs the watch until `stop` is cancelled.
pub async fn run(
    allowlist: Arc<Allowlist>,
    players: GuildPlayers,
    discord: Option<Arc<dyn DiscordRest>>,
    settings: AccessWatchSettings,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(settings.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        for guild in players.active_guilds() {
            match allowlist.access(guild).await {
                Ok(Access::Allowed) => {}
                Ok(Access::NotApproved(state)) => {
                    enforce(guild, state, &players, discord.clone(), &allowlist, settings, &stop).await;
                }
                // Keep playing through a store outage: the music already
                // started under a valid approval.
                Err(e) => warn!(guild_id = %guild, error = %e, "allowlist check failed; will retry"),
            }
        }
    }
}

async fn enforce(
    guild: GuildId,
    state: Option<AllowlistState>,
    players: &GuildPlayers,
    discord: Option<Arc<dyn DiscordRest>>,
    allowlist: &Arc<Allowlist>,
    settings: AccessWatchSettings,
    stop: &CancellationToken,
) {
    // Handed to the guild's player without waiting: one busy guild must not
    // hold up the watch of the others.
    players.stop(guild);
    info!(guild_id = %guild, state = ?state, "guild no longer allowed: stopping and leaving voice");
    let (Some(grace), Some(discord), Some(AllowlistState::Revoked)) =
        (settings.leave_revoked_guild_after, discord, state)
    else {
        return;
    };
    let allowlist = Arc::clone(allowlist);
    let stop = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(grace) => {}
        }
        // A maintainer may have approved the guild again meanwhile.
        match allowlist.access(guild).await {
            Ok(Access::NotApproved(Some(AllowlistState::Revoked))) => match discord.leave_guild(guild).await {
                Ok(()) => info!(guild_id = %guild, "left a revoked guild after the grace period"),
                Err(e) => warn!(guild_id = %guild, error = %e, "leaving a revoked guild failed"),
            },
            Ok(_) => info!(guild_id = %guild, "revoked guild was restored during the grace period; staying"),
            Err(e) => warn!(guild_id = %guild, error = %e, "allowlist check before leaving failed; staying"),
        }
    });
}
