//! Builds the API and its clients once per cold start.

use std::sync::Arc;
use std::time::Duration;

use timmybot_allowlist::Allowlist;
use timmybot_allowlist::admin_api::AdminApi;
use timmybot_aws::app_secret::DISCORD_TOKEN_ENTRY;
use timmybot_aws::{DynamoStore, DynamoTables};
use timmybot_core::SystemClock;
use timmybot_discord_rest::{DEFAULT_API_BASE, DiscordRestClient, JsonWebhook};
use timmybot_lambda_common::{AppSecretEntryError, app_secret, optional_entry, sdk_config};
use url::Url;

use crate::Config;

/// How long one Discord or webhook call may take: a decision is already
/// stored when they run, and a slow notification must not hold the
/// maintainer's request until the Function URL times out.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Building the API failed at cold start. Names what, never a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WiringError {
    /// The application secret, which names the bot token, could not be read.
    #[error("reading the Discord bot token failed")]
    DiscordToken(#[source] AppSecretEntryError),
    /// A notification client could not be built.
    #[error("{0}")]
    Client(#[from] timmybot_discord_rest::BuildError),
}

/// Builds the admin API: the DynamoDB store, the real clock and, when
/// configured, the Discord client (the application secret's
/// `discord-token` entry) and the operator webhook. Called once; every invocation shares the result.
///
/// # Errors
/// [`WiringError`] when the token cannot be read or a client cannot be
/// built; the Lambda then fails its cold start rather than run without the
/// notifications it was configured for.
pub async fn build_api(config: Config) -> Result<AdminApi, WiringError> {
    // A maintainer waits for the answer: calls give up rather than hang.
    let sdk = sdk_config().await;
    // The admin API never reads the track cache: no table for it.
    let tables = DynamoTables {
        guilds: config.table_guilds,
        guild_queues: config.table_guild_queues,
        track_cache: String::new(),
        users: String::new(),
    };
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
    let mut allowlist = Allowlist::new(Arc::new(store), Arc::new(SystemClock), config.settings);

    let token = match &config.app_secret {
        Some(secret_id) => optional_entry(&app_secret(&sdk, secret_id), DISCORD_TOKEN_ENTRY)
            .await
            .map_err(WiringError::DiscordToken)?,
        None => None,
    };
    if let Some(token) = token {
        let api_base = Url::parse(DEFAULT_API_BASE).expect("the default API base is a valid URL");
        let discord = DiscordRestClient::new(api_base, token, NOTIFY_TIMEOUT)?;
        allowlist = allowlist.with_discord(Arc::new(discord));
    }
    if let Some(url) = config.webhook_url {
        allowlist = allowlist.with_webhook(Arc::new(JsonWebhook::new(url, NOTIFY_TIMEOUT)?));
    }
    Ok(AdminApi::new(Arc::new(allowlist)))
}
