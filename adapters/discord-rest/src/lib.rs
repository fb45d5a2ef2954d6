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

/// A client that sends `headers` on every request, gives up after
/// `timeout` (connecting included) and follows no redirects, so a token in
/// a header or a path can only reach the host it was meant for.
fn http_client(
    headers: reqwest::header::HeaderMap,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| BuildError(error.without_url().to_string()))
}

/// Discord's API root as a base routes can be joined onto: http(s), and
/// ending with `/` (without it, `join` would replace the last segment:
/// `.../api/v10` + `guilds/1` = `.../api/guilds/1`).
fn api_base(mut url: url::Url) -> Result<url::Url, BuildError> {
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(BuildError("api base must be an http(s) URL".into()));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A client could not be built from its settings.
#[derive(Debug, thiserror::Error)]
#[error("cannot build http client: {0}")]
pub struct BuildError(String);
