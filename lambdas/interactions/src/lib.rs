//! The interactions Lambda: Discord's HTTP interactions endpoint behind a
//! Function URL.
//!
//! Wiring only: [`Config`] reads the environment once, `main` builds the
//! clients once, and [`function_handler`] hands each request's headers and
//! exact body bytes to [`timmybot_interactions::InteractionHandler`].

mod config;
mod function_handler;
mod wiring;

pub use config::{
    ALLOWLIST_WEBHOOK_URL_VAR, APPLICATION_ID_VAR, COMMAND_QUEUE_URL_VAR, Config, ConfigError,
    DISCORD_TOKEN_SECRET_VAR, ONE_OF_VARS, OPTIONAL_VARS, PUBLIC_KEY_SECRET_VAR, PUBLIC_KEY_VAR, PublicKeySource,
    REQUIRED_VARS, TABLE_GUILDS_VAR, TABLE_TRACK_CACHE_VAR,
};
pub use function_handler::function_handler;
pub use wiring::build_handler;

/// The binary's name: `cargo lambda build` puts it at
/// `target/lambda/<BIN_NAME>/bootstrap`, where the CDK stack looks.
pub const BIN_NAME: &str = env!("CARGO_PKG_NAME");
