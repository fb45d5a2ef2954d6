//! The start-check Lambda: invoked by the start-check queue when a delayed
//! message set by a gateway start comes due (the start's deadline).
//!
//! Wiring only, in the shape every timmybot Lambda shares
//! ([`timmybot_lambda_common`]): [`Config`] reads the environment once,
//! [`build_check`] builds the clients once, and [`function_handler`] runs
//! [`timmybot_interactions::StartCheck`], which reads the gateway's
//! presence and, when the start is late, edits every waiting member's
//! reply, logs the alarm line and asks for the start again.

mod config;
mod function_handler;

pub use config::{Config, DISCORD_API_URL_VAR, OPTIONAL_VARS, REQUIRED_VARS, TABLE_GUILD_QUEUES_VAR};
pub use function_handler::{build_check, function_handler};
pub use timmybot_lambda_common::ConfigError;

/// The binary's name: `cargo lambda build` puts it at
/// `target/lambda/<BIN_NAME>/bootstrap`, where the CDK stack looks.
pub const BIN_NAME: &str = env!("CARGO_PKG_NAME");
