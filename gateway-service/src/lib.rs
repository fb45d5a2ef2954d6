//! The gateway service: the one long-running process of timmybot.
//!
//! It holds the Discord gateway shards (twilight), tracks who sits in which
//! voice channel, consumes the command bus, and drives the voice players
//! (songbird, in `timmybot-voice`). The path of a command through this crate:
//! [`consumer`] receives a [`timmybot_core::BusMessage`] → [`CommandProcessor`]
//! finds the member's channel in [`VoiceStateCache`] and calls
//! [`timmybot_voice::GuildPlayers`] → the outcome edits the deferred reply
//! through [`DiscordReplies`](timmybot_core::DiscordReplies).
#![warn(missing_docs)]

pub mod access_watch;
mod command_processor;
pub mod consumer;
mod discord_ids;
mod gateway_interactions;
pub mod gateway_start;
mod health;
pub mod idle_stop;
pub mod metrics;
pub mod playlist_import;
mod replies_twilight;
mod service;
mod shard_runner;
mod voice_states;

pub use access_watch::AccessWatchSettings;
pub use command_processor::CommandProcessor;
pub use gateway_interactions::GatewayInteractions;
pub use gateway_start::IdentifySettings;
pub use health::{Health, PlayerStats, ShardState, health_json, health_router, metrics_json, metrics_router};
pub use idle_stop::{DEFAULT_IDLE_STOP_AFTER, ScaleToZero};
pub use replies_twilight::TwilightReplies;
pub use service::{DiscordEndpoints, GatewayDeps, GatewaySettings, run};
pub use voice_states::VoiceStateCache;

/// Builds the Discord REST client, pointed at `endpoints.rest_proxy` when set
/// (the fake Discord in tests and the sandbox).
pub fn discord_http(token: &timmybot_core::Secret, endpoints: &DiscordEndpoints) -> twilight_http::Client {
    let mut builder = twilight_http::Client::builder().token(token.expose().to_owned());
    if let Some(proxy) = &endpoints.rest_proxy {
        // The fake speaks plain HTTP on loopback and has no rate limits.
        builder = builder.proxy(proxy.clone(), true).ratelimiter(None);
    }
    builder.build()
}
