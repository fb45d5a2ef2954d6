//! Domain types and the ports every adapter implements.
//!
//! This crate is the centre of the hexagon: it knows nothing of AWS, Discord
//! libraries, HTTP servers or databases. Business logic elsewhere depends on
//! the traits here (`PlayerStore`, `SettingsStore`, `AllowlistStore`,
//! `TrackCache`, `GatewaySessionStore`, `SecretStore`, `CommandBus`, `Clock`, `DiscordReplies`, `DiscordRest`,
//! `Webhook`, `MetricsRecorder`, `GatewayScaler`, `GatewayPresence`, `StartCheckTimer`, `AccountStore`,
//! `PlaylistStore`, `LinkStateStore`), and each
//! adapter crate implements them for one technology.
//! The queue engine ([`player`]) is here too: pure, so the interactions
//! handler (views) and the gateway's players (transitions) share it.
#![warn(missing_docs)]

mod accounts;
mod allowlist_record;
mod bus;
mod clock;
mod command;
mod discord_rest;
mod error;
mod gateway_session;
mod ids;
mod link_state;
mod markdown;
pub mod metrics;
pub mod player;
mod playlists;
mod provider;
mod replies;
mod scale;
mod secret;
mod settings;
mod store;

pub use accounts::{AccountStore, LinkState, LinkedAccount};
pub use allowlist_record::{
    Actor, AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, SlotEffect, SlotUsage,
};
pub use bus::{BusDelivery, CommandBus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{BusMessage, CommandOrigin, VoiceCommand};
pub use discord_rest::{
    Button, ButtonStyle, DiscordError, DiscordErrorKind, DiscordRest, GuildInfo, MAX_BUTTONS, MessageId, MessageRef,
    OutgoingMessage, Webhook, WebhookError, components_json,
};
pub use error::{BusError, BusErrorKind, SecretError, StoreError, StoreErrorKind};
pub use gateway_session::{
    GatewaySession, GatewaySessionStore, IDENTIFY_HISTORY_LIMIT, SavedGatewaySessions, SavedVoiceState,
};
pub use ids::{ApplicationId, ChannelId, GuildId, InteractionId, ParseIdError, RoleId, UserId};
pub use link_state::{LINK_STATE_TTL_MS, LinkStateStore, MAX_LINK_STATE_BYTES, PendingLink};
pub use markdown::escape_markdown;
pub use playlists::{
    LIKED_SONGS_PLAYLIST, MAX_PLAYLIST_NAME_CHARS, MAX_PLAYLIST_TRACKS, MAX_PLAYLISTS_PER_MEMBER, MemberPlaylist,
    PlaylistEntry, PlaylistName, PlaylistNameError, PlaylistOrigin, PlaylistStore, PlaylistSummary,
};
pub use provider::{ParseProviderError, Provider};
pub use replies::{DiscordReplies, ReplyError};
pub use scale::{
    GatewayPresence, GatewayScaler, HEARTBEAT_INTERVAL, HEARTBEAT_STALE_AFTER, INTERACTION_TOKEN_LIFETIME,
    START_DEADLINE, ScaleError, StartCheckTimer, StartWaiter, heartbeat_is_fresh,
};
pub use secret::Secret;
pub use settings::{
    ADMINISTRATOR, GuildSettings, MANAGE_GUILD, MAX_LEAVE_SECS, MAX_TRACK_SECS_LIMIT, SettingsChange, SettingsError,
};
pub use store::{
    AllowlistStore, COMMAND_LEDGER_TTL, CommandLedger, MAX_TRACK_CACHE_KEY_BYTES, MAX_TRACK_CACHE_VALUE_BYTES,
    PlayerStore, SecretStore, SettingsStore, TrackCache, check_track_cache_key, check_track_cache_value,
};

/// Version of the stored item layout; every persisted item carries it.
pub const SCHEMA_VERSION: u32 = 1;

/// Version of the stored player layout ([`player::PlayerState`]). Version 1
/// was the queue before the queue engine (a current track and the waiting
/// ones); stores read it with [`player::PlayerState::from_legacy`].
pub const PLAYER_SCHEMA_VERSION: u32 = 2;
