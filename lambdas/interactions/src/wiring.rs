//! Builds the handler and its clients once per cold start.

use std::sync::Arc;
use std::time::Duration;

use timmybot_allowlist::Allowlist;
use timmybot_aws::app_secret::{DISCORD_PUBLIC_KEY_ENTRY, DISCORD_TOKEN_ENTRY};
use timmybot_aws::{DynamoStore, DynamoTables, EcsScaler, SqsBus, SqsStartCheckTimer};
use timmybot_core::SystemClock;
use timmybot_discord_rest::{DiscordRestClient, JsonWebhook};
use timmybot_emf::EmfEmitter;
use timmybot_interactions::{InteractionHandler, PublicKey, ScaleToZero};
use timmybot_lambda_common::{APP_SECRET_VAR, app_secret, optional_entry, required_entry, sdk_config};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};

use crate::Config;
use crate::config::PublicKeySource;

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
/// (telling people through Discord when the application secret has a
/// `discord-token` entry), members' playlists in the users table when it is
/// named, and the real clock. The store also names the
/// track cache table, where autocomplete is to cache its searches. With the
/// gateway's ECS service configured, a voice command while the gateway is
/// stopped starts it (scale to zero). Called once; every invocation shares
/// it.
///
/// # Errors
/// The application secret cannot be read or holds no valid public key, or
/// the webhook URL is unusable.
pub async fn build_handler(config: Config) -> anyhow::Result<InteractionHandler> {
    let sdk = sdk_config().await;
    let secrets = config.app_secret.as_deref().map(|id| app_secret(&sdk, id));
    let public_key = match (config.public_key, &secrets) {
        (PublicKeySource::Inline(key), _) => key,
        (PublicKeySource::AppSecret, Some(secrets)) => {
            let hex = required_entry(secrets, DISCORD_PUBLIC_KEY_ENTRY).await?;
            // A deployer who has not yet set the entry has the generated
            // placeholder here: say which entry, never what it holds.
            PublicKey::from_hex(hex.expose().trim()).map_err(|_| {
                anyhow::anyhow!(
                    "the {DISCORD_PUBLIC_KEY_ENTRY:?} entry of the application secret named by {APP_SECRET_VAR} \
                     is not the application's public key (64 hex characters from the Discord developer portal); \
                     set it with `aws secretsmanager put-secret-value` (docs/deploy.md)"
                )
            })?
        }
        (PublicKeySource::AppSecret, None) => anyhow::bail!("{APP_SECRET_VAR} is not set"),
    };
    let bus = SqsBus::new(aws_sdk_sqs::Client::new(&sdk), config.command_queue_url);
    let tables = DynamoTables {
        guilds: config.guilds_table,
        guild_queues: config.queues_table,
        track_cache: config.track_cache_table,
        users: config.users_table.clone().unwrap_or_default(),
    };
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
    let mut allowlist = Allowlist::new(Arc::new(store.clone()), Arc::new(SystemClock), config.allowlist);
    let token = match &secrets {
        Some(secrets) => optional_entry(secrets, DISCORD_TOKEN_ENTRY).await?,
        None => None,
    };
    if let Some(token) = token {
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
    if config.users_table.is_some() {
        handler = handler.with_playlist_store(store.clone());
    }
    if let Some(gateway) = config.gateway_service {
        // Scale to zero: a command while the gateway is down starts it.
        let scaler = EcsScaler::new(aws_sdk_ecs::Client::new(&sdk), gateway.cluster, gateway.service);
        let timer = SqsStartCheckTimer::new(aws_sdk_sqs::Client::new(&sdk), gateway.start_check_queue_url);
        handler = handler.with_scale_to_zero(ScaleToZero::new(Arc::new(scaler), store, Arc::new(timer)));
    }
    Ok(handler)
}

/// What the Lambda's invocations share: the handler and where each
/// invocation's metrics record goes.
pub struct InteractionsLambda {
    /// Built by [`build_handler`].
    pub handler: InteractionHandler,
    /// One EMF line per invocation on stdout, which Lambda ships to
    /// CloudWatch Logs; CloudWatch extracts the metrics from it.
    pub metrics: EmfEmitter,
}

/// [`build_handler`] and the metrics emitter: what `main` serves.
///
/// # Errors
/// As [`build_handler`].
pub async fn build_lambda(config: Config) -> anyhow::Result<InteractionsLambda> {
    Ok(InteractionsLambda { handler: build_handler(config).await?, metrics: EmfEmitter::stdout() })
}
