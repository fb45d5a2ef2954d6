//! The `timmybot` binary as a library, so tests drive exactly what it runs.
//!
//! - `serve` runs [`platform::Platform`], the whole platform in one process;
//! - `sandbox` runs [`sandbox::Sandbox`], the platform against the built-in
//!   fake Discord;
//! - `register-commands` calls [`register_commands::register_commands`];
//! - `healthcheck` (the container's health check) is [`healthcheck::check`];
//! - [`config::Config`] is the only reader of the environment.

pub mod admin_http;
pub mod allowlist_cli;
mod aws;
pub mod config;
mod gateway_interactions;
pub mod healthcheck;
mod http_server;
pub mod logging;
pub mod platform;
pub mod register_commands;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "sandbox")]
pub mod sandbox_sources;

/// Chooses rustls' crypto backend for the whole process.
///
/// Both backends end up compiled in (the AWS SDK brings aws-lc-rs, songbird
/// and twilight ring), and rustls then refuses to guess; every entry point
/// calls this first. Calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
