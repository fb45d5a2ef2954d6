//! Domain types and the ports every adapter implements.
//!
//! This crate is the centre of the hexagon: it knows nothing of AWS, Discord
//! libraries, HTTP servers or databases. Business logic elsewhere depends on
//! the traits here (`QueueStore`, `AllowlistStore`, `SecretStore`,
//! `CommandBus`, `Clock`, `DiscordReplies`, `DiscordRest`, `Webhook`), and each adapter crate implements
//! them for one technology.
#![warn(missing_docs)]

mod allowlist_record;
mod bus;
mod clock;
mod command;
mod discord_rest;
pub mod emf;
mod error;
mod ids;
mod queue;
mod replies;
mod secret;
mod store;

pub use allowlist_record::{
    Actor, AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, SlotEffect, SlotUsage,
};
pub use bus::{BusDelivery, CommandBus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{BusMessage, VoiceCommand};
pub use discord_rest::{
    Button, ButtonStyle, DiscordError, DiscordErrorKind, DiscordRest, GuildInfo, MessageId, MessageRef,
    OutgoingMessage, Webhook, WebhookError,
};
pub use error::{BusError, BusErrorKind, SecretError, StoreError, StoreErrorKind};
pub use ids::{ApplicationId, ChannelId, GuildId, InteractionId, ParseIdError, UserId};
pub use queue::{GuildQueue, MAX_QUEUE_LEN, QueueError, QueuedTrack};
pub use replies::{DiscordReplies, ReplyError};
pub use secret::Secret;
pub use store::{AllowlistStore, QueueStore, SecretStore};

/// Version of the stored item layout; every persisted item carries it.
pub const SCHEMA_VERSION: u32 = 1;
