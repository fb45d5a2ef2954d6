//! Builds the AWS adapters from the default credential chain (environment,
//! ECS task role, …). Endpoints can be overridden the standard way
//! (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`), which is how the
//! tests point the real SDK at the local emulators.

use std::sync::Arc;

use timmybot_aws::{AppSecretStore, DynamoStore, DynamoTables, EcsScaler, SqsBus, load_sdk_config, service_timeouts};
use timmybot_core::{CommandBus, GatewayScaler};

async fn sdk_config() -> aws_config::SdkConfig {
    load_sdk_config(service_timeouts()).await
}

/// The store (players, settings, allowlist and track cache) on the named
/// DynamoDB tables.
pub(crate) async fn dynamo_store(tables: DynamoTables) -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    DynamoStore::new(client, tables)
}

/// The command bus on an SQS FIFO queue.
pub(crate) async fn sqs_bus(queue_url: &str) -> Arc<dyn CommandBus> {
    let client = aws_sdk_sqs::Client::new(&sdk_config().await);
    Arc::new(SqsBus::new(client, queue_url))
}

/// The entries of the application secret `secret_id` on Secrets Manager
/// (the Spotify app's credentials), read once.
pub(crate) async fn app_secret(secret_id: &str) -> AppSecretStore {
    AppSecretStore::new(aws_sdk_secretsmanager::Client::new(&sdk_config().await), secret_id)
}

/// The gateway service's scaler on ECS (scale to zero).
pub(crate) async fn ecs_scaler(cluster: &str, service: &str) -> Arc<dyn GatewayScaler> {
    Arc::new(EcsScaler::new(aws_sdk_ecs::Client::new(&sdk_config().await), cluster, service))
}
