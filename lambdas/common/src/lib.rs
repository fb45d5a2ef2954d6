//! One shape for every timmybot Lambda: read the configuration once, build
//! the clients once, then serve each request with library code.
//!
//! - [`config`]: reading variables ([`Vars`]) and the one [`ConfigError`],
//!   which names a variable and never echoes its value.
//! - [`cold_start`]: [`run`], the whole `main` of a Lambda, and [`start`],
//!   its testable first half.
//! - [`aws`]: the SDK configuration every Lambda's clients share and the
//!   application secret ([`APP_SECRET_VAR`]), one Secrets Manager secret
//!   holding a JSON object of named entries.
//!
//! A Lambda's crate keeps its own `Config::from_lookup` (built from
//! [`Vars`]), its `build_*` wiring and its `function_handler`, tested
//! without the runtime; its `main` is one call to [`run`].
#![warn(missing_docs)]

pub mod aws;
pub mod cold_start;
pub mod config;
pub mod gateway_service;

pub use aws::{APP_SECRET_VAR, AppSecretEntryError, app_secret, optional_entry, required_entry, sdk_config};
pub use cold_start::{StartupFailure, install_crypto_provider, run, run_events, start};
pub use config::{ConfigError, Vars, env_lookup};
pub use gateway_service::{
    GATEWAY_CLUSTER_VAR, GATEWAY_SERVICE_VAR, GATEWAY_SERVICE_VARS, GatewayService, START_CHECK_QUEUE_URL_VAR,
};
