//! The interactions Lambda: Discord's HTTP interactions endpoint behind a
//! Function URL.
//!
//! Wiring only, in the shape every timmybot Lambda shares
//! ([`timmybot_lambda_common`]): [`Config`] reads the environment once,
//! [`build_lambda`] builds the clients once, and [`function_handler`] hands
//! each request's headers and exact body bytes to
//! [`timmybot_interactions::InteractionHandler`].

mod config;
mod function_handler;
mod wiring;

pub use config::{
    ALLOWLIST_WEBHOOK_URL_VAR, APP_SECRET_VAR, APPLICATION_ID_VAR, COMMAND_QUEUE_URL_VAR, Config, GATEWAY_CLUSTER_VAR,
    GATEWAY_SERVICE_VAR, ONE_OF_VARS, OPTIONAL_VARS, PUBLIC_KEY_VAR, PublicKeySource, REQUIRED_VARS,
    START_CHECK_QUEUE_URL_VAR, TABLE_GUILD_QUEUES_VAR, TABLE_GUILDS_VAR, TABLE_TRACK_CACHE_VAR, TABLE_USERS_VAR,
};
pub use function_handler::function_handler;
pub use timmybot_lambda_common::ConfigError;
pub use wiring::{InteractionsLambda, build_handler, build_lambda};

/// The binary's name: `cargo lambda build` puts it at
/// `target/lambda/<BIN_NAME>/bootstrap`, where the CDK stack looks.
pub const BIN_NAME: &str = env!("CARGO_PKG_NAME");
