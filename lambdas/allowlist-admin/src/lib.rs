//! The allowlist admin Lambda: the maintainers' JSON API
//! ([`timmybot_allowlist::admin_api`]) behind a Function URL with `AWS_IAM`
//! auth.
//!
//! Wiring only: [`Config`] reads the environment once, [`build_api`] builds
//! the clients once, and [`function_handler`] hands each request, with the
//! caller's IAM ARN as the actor, to [`timmybot_allowlist::admin_api::AdminApi`].
#![warn(missing_docs)]

mod config;
mod function_handler;
mod wiring;

pub use config::{
    ALL_VARS, ALLOWLIST_MODE_VAR, COOLDOWN_DAYS_VAR, Config, ConfigError, DISCORD_TOKEN_SECRET_VAR, MAINTAINER_IDS_VAR,
    MAINTAINERS_CHANNEL_VAR, REQUIRED_VARS, TABLE_GUILD_QUEUES_VAR, TABLE_GUILDS_VAR, WEBHOOK_URL_VAR,
};
pub use function_handler::function_handler;
pub use wiring::{WiringError, build_api};

/// Chooses rustls' crypto backend for the whole process.
///
/// Both backends are compiled in (the AWS SDK brings aws-lc-rs, the Discord
/// client ring) and rustls then refuses to guess; `main` calls this first.
/// Calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The binary's name: `cargo lambda build` puts it at
/// `target/lambda/<BIN_NAME>/bootstrap`, where the CDK stack looks.
pub const BIN_NAME: &str = env!("CARGO_PKG_NAME");
