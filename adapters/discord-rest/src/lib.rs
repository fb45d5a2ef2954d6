//! Discord's REST API and operator webhooks over `reqwest`.
//!
//! - [`DiscordRestClient`] implements the core `DiscordRest` port as the bot
//!   user: guild lookups, channel messages with buttons, DMs and leaving a
//!   guild.
//! - [`InteractionReplies`] implements the core `DiscordReplies` port over
//!   interaction webhooks (no bot token): edits a member's reply.
//! - [`JsonWebhook`] implements the core `Webhook` port: POSTs JSON events to
//!   an operator-configured URL.
//!
//! Neither ever puts the bot token or a webhook URL into an error or a log
//! line: both are secrets (webhook URLs usually embed a token).
#![warn(missing_docs)]

mod client;
mod replies;
mod webhook;

pub use client::{DEFAULT_API_BASE, DiscordRestClient};
pub use replies::InteractionReplies;
pub use webhook::JsonWebhook;

/// A client could not be built from its settings.
#[derive(Debug, thiserror::Error)]
#[error("cannot build http client: {0}")]
pub struct BuildError(String);
