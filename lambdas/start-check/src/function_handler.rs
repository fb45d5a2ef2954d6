//! Builds the check once per cold start, and runs it once per delivery.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::Error;
use lambda_http::lambda_runtime::LambdaEvent;
use timmybot_aws::{DynamoStore, DynamoTables, EcsScaler, SqsStartCheckTimer};
use timmybot_core::SystemClock;
use timmybot_discord_rest::InteractionReplies;
use timmybot_interactions::{ScaleToZero, StartCheck, StartCheckOutcome};
use timmybot_lambda_common::sdk_config;

use crate::Config;

/// One reply edit's limit: a check edits at most a few hundred replies and
/// must finish well inside the function's timeout.
const EDIT_TIMEOUT: Duration = Duration::from_secs(3);

/// Builds the check: the presence on DynamoDB, the scaler on ECS, the
/// timer on the start-check queue, replies through Discord's interaction
/// webhooks (no bot token: each reply's own token authenticates it), and
/// the real clock. Called once; every invocation shares it.
///
/// # Errors
/// The Discord client cannot be built.
pub async fn build_check(config: Config) -> anyhow::Result<StartCheck> {
    let sdk = sdk_config().await;
    // Only the guild-queues table's deployment partition is used.
    let tables = DynamoTables {
        guilds: String::new(),
        guild_queues: config.queues_table,
        track_cache: String::new(),
        users: String::new(),
    };
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
    let gateway = config.gateway;
    let scaler = EcsScaler::new(aws_sdk_ecs::Client::new(&sdk), gateway.cluster, gateway.service);
    let timer = SqsStartCheckTimer::new(aws_sdk_sqs::Client::new(&sdk), gateway.start_check_queue_url);
    let replies = InteractionReplies::new(config.discord_api, EDIT_TIMEOUT)?;
    let scale = ScaleToZero::new(Arc::new(scaler), Arc::new(store), Arc::new(timer));
    Ok(StartCheck::new(scale, Arc::new(replies), Arc::new(SystemClock)))
}

/// Runs the check once, whatever the event holds (a delivery of the
/// start-check queue; the check reads the store, not the message).
///
/// # Errors
/// The presence could not be read: the message returns to the queue and
/// the check runs again after its visibility timeout.
pub async fn function_handler(check: &StartCheck, _event: LambdaEvent<serde_json::Value>) -> Result<(), Error> {
    let outcome = check.run().await.map_err(|e| {
        tracing::error!(error = %e, "start check failed");
        Error::from(e.to_string())
    })?;
    match outcome {
        StartCheckOutcome::Up => tracing::info!("start check: the gateway is up"),
        StartCheckOutcome::NotDue => tracing::info!("start check: the start's deadline is still ahead"),
        StartCheckOutcome::Overdue { told, asked_again } => {
            tracing::info!(told, asked_again, "start check: late start handled");
        }
    }
    Ok(())
}
