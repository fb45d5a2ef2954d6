//! Builds the handler and its clients once per cold start.

use std::sync::Arc;
use std::time::Duration;

use timmybot_allowlist::Allowlist;
use timmybot_aws::{DynamoStore, DynamoTables, SecretsManagerStore, SqsBus};
use timmybot_core::{SecretStore, SystemClock};
use timmybot_discord_rest::{DiscordRestClient, JsonWebhook};
use timmybot_interactions::InteractionHandler;

use crate::Config;

/// Discord's REST API; also where the allowlist tells people.
const DISCORD_API: &str = "https://discord.com/api/v10/";
/// One Discord or webhook call's limit: they run inside Discord's 3 s
/// answer window for `/request-access` and the maintainers' buttons.
const NOTIFY_TIMEOUT: Duration = Duration::from_millis(1500);

/// Builds the interactions handler: the SQS command bus, the allowlist on
/// DynamoDB (telling people through Discord when the bot token's secret is
/// configured), and the real clock. Called once; every invocation shares it.
///
/// # Errors
/// The bot token's secret cannot be read, or the webhook URL is unusable.
pub async fn build_handler(config: Config) -> anyhow::Result<InteractionHandler> {
    // Region, credentials and endpoint overrides (AWS_ENDPOINT_URL_SQS for the
    // local emulator) come from the Lambda environment.
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let bus = SqsBus::new(aws_sdk_sqs::Client::new(&sdk), config.command_queue_url);
    let tables = DynamoTables { guilds: config.guilds_table, ..DynamoTables::default() };
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
    let mut allowlist = Allowlist::new(Arc::new(store), Arc::new(SystemClock), config.allowlist);
    if let Some(secret_id) = &config.discord_token_secret {
        let token = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&sdk)).get(secret_id).await?;
        let client = DiscordRestClient::new(url::Url::parse(DISCORD_API)?, token, NOTIFY_TIMEOUT)?;
        allowlist = allowlist.with_discord(Arc::new(client));
    }
    if let Some(url) = &config.allowlist_webhook {
        let url = url::Url::parse(url.expose())
            .map_err(|_| anyhow::anyhow!("TIMMYBOT_ALLOWLIST_WEBHOOK_URL is not a URL"))?;
        allowlist = allowlist.with_webhook(Arc::new(JsonWebhook::new(url, NOTIFY_TIMEOUT)?));
    }
    Ok(InteractionHandler::new(Arc::new(bus), Arc::new(SystemClock), config.public_key, config.application_id)
        .with_allowlist(Arc::new(allowlist)))
}
