//! Builds the handler and its clients once per cold start.

use std::sync::Arc;
use std::time::Duration;

use timmybot_allowlist::Allowlist;
use timmybot_aws::{
    DynamoStore, DynamoTables, EcsScaler, SecretsManagerStore, SqsBus, interactive_timeouts, load_sdk_config,
};
use timmybot_core::{SecretStore, SystemClock};
use timmybot_discord_rest::{DiscordRestClient, JsonWebhook};
use timmybot_interactions::{InteractionHandler, PublicKey};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};

use crate::Config;
use crate::config::{PUBLIC_KEY_SECRET_VAR, PublicKeySource};

/// Discord's REST API; also where the allowlist tells people.
const DISCORD_API: &str = "https://discord.com/api/v10/";
/// One Discord or webhook call's limit: they run inside Discord's 3 s
/// answer window for `/request-access` and the maintainers' buttons.
const NOTIFY_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long finding Radio Browser's and Audius's servers may take at cold
/// start before the published fallbacks are used.
const SOURCES_DISCOVERY: Duration = Duration::from_millis(1000);

/// Builds the interactions handler: the SQS command bus, the allowlist, the
/// players (read for the queue views) and the settings on DynamoDB
/// (telling people through Discord when the bot token's secret is
/// configured), and the real clock. The store also names the track cache
/// table, where autocomplete is to cache its searches. With the gateway's
/// ECS service configured, a voice command while the gateway is stopped
/// starts it (scale to zero). Called once; every
/// invocation shares it.
///
/// # Errors
/// A secret cannot be read or holds no valid public key, or the webhook URL
/// is unusable.
pub async fn build_handler(config: Config) -> anyhow::Result<InteractionHandler> {
    let sdk = load_sdk_config(interactive_timeouts()).await;
    let secrets = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&sdk));
    let public_key = match config.public_key {
        PublicKeySource::Inline(key) => key,
        PublicKeySource::Secret(secret_id) => {
            let hex = secrets.get(&secret_id).await?;
            // A deployer who has not yet set the secret has the generated
            // placeholder here: say which secret, never what it holds.
            PublicKey::from_hex(hex.expose().trim()).map_err(|_| {
                anyhow::anyhow!(
                    "the secret named by {PUBLIC_KEY_SECRET_VAR} does not hold the application's public key \
                     (64 hex characters from the Discord developer portal); set it with \
                     `aws secretsmanager put-secret-value`"
                )
            })?
        }
    };
    let bus = SqsBus::new(aws_sdk_sqs::Client::new(&sdk), config.command_queue_url);
    let tables = DynamoTables {
        guilds: config.guilds_table,
        guild_queues: config.queues_table,
        track_cache: config.track_cache_table,
    };
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
    let mut allowlist = Allowlist::new(Arc::new(store.clone()), Arc::new(SystemClock), config.allowlist);
    if let Some(secret_id) = &config.discord_token_secret {
        let token = secrets.get(secret_id).await?;
        let client = DiscordRestClient::new(url::Url::parse(DISCORD_API)?, token, NOTIFY_TIMEOUT)?;
        allowlist = allowlist.with_discord(Arc::new(client));
    }
    if let Some(url) = &config.allowlist_webhook {
        let url = url::Url::parse(url.expose())
            .map_err(|_| anyhow::anyhow!("TIMMYBOT_ALLOWLIST_WEBHOOK_URL is not a URL"))?;
        allowlist = allowlist.with_webhook(Arc::new(JsonWebhook::new(url, NOTIFY_TIMEOUT)?));
    }
    let store = Arc::new(store);
    // Discovery runs inside the first interaction's 3 s: bounded tighter.
    let sources_api = config.sources.api(SafeHttpClient::new(OutboundPolicy::default()));
    let sources = config.sources.connect_within(&sources_api, SOURCES_DISCOVERY).await;
    let mut handler = InteractionHandler::new(Arc::new(bus), Arc::new(SystemClock), public_key, config.application_id)
        .with_allowlist(Arc::new(allowlist))
        .with_player_store(store.clone())
        .with_settings_store(store.clone())
        .with_search(sources.search());
    if let Some((cluster, service)) = config.gateway_service {
        // Scale to zero: a command while the gateway is down starts it.
        let scaler = EcsScaler::new(aws_sdk_ecs::Client::new(&sdk), cluster, service);
        handler = handler.with_scale_to_zero(Arc::new(scaler), store);
    }
    Ok(handler)
}
