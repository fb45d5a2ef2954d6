//! The allowlist admin Lambda: the maintainers' JSON API
//! ([`timmybot_allowlist::admin_api`]) behind a Function URL with `AWS_IAM`
//! auth.
//!
//! Wiring only, in the shape every timmybot Lambda shares
//! ([`timmybot_lambda_common`]): [`Config`] reads the environment once, [`build_api`] builds
//! the clients once, and [`function_handler`] hands each request, with the
//! caller's IAM ARN as the actor, to [`timmybot_allowlist::admin_api::AdminApi`].
#![warn(missing_docs)]

mod config;
mod function_handler;
mod wiring;

pub use config::{
    ALL_VARS, ALLOWLIST_MODE_VAR, APP_SECRET_VAR, COOLDOWN_DAYS_VAR, Config, MAINTAINER_IDS_VAR,
    MAINTAINERS_CHANNEL_VAR, REQUIRED_VARS, TABLE_GUILD_QUEUES_VAR, TABLE_GUILDS_VAR, WEBHOOK_URL_VAR,
};
pub use function_handler::function_handler;
pub use timmybot_lambda_common::{ConfigError, install_crypto_provider};
pub use wiring::{WiringError, build_api};

/// The binary's name: `cargo lambda build` puts it at
/// `target/lambda/<BIN_NAME>/bootstrap`, where the CDK stack looks.
pub const BIN_NAME: &str = env!("CARGO_PKG_NAME");
