//! AWS adapters: the ports on DynamoDB, Secrets Manager, SQS FIFO and ECS.
//!
//! - [`DynamoStore`] implements the store ports (`PlayerStore` in
//!   `player_dynamodb.rs`, with its page layout in `player_pages.rs`;
//!   `SettingsStore` in `settings_dynamodb.rs`; `AllowlistStore` in
//!   `allowlist_dynamodb.rs`; `TrackCache` in `track_cache_dynamodb.rs`;
//!   `CommandLedger` in `ledger_dynamodb.rs`; `GatewaySessionStore` in
//!   `gateway_session_dynamodb.rs`)
//!   over the tables named by [`DynamoTables`].
//! - [`SecretsManagerStore`] implements `SecretStore`, one Secrets Manager
//!   secret per name; [`AppSecretStore`] implements it over the entries of
//!   ONE secret holding a JSON object (how the deployment keeps its secrets).
//!   `GatewayPresence` (the gateway's heartbeat and starting marker) is in
//!   `presence_dynamodb.rs`.
//! - [`SqsBus`] implements `CommandBus` on a FIFO queue.
//! - [`EcsScaler`] implements `GatewayScaler` on the ECS service's desired count.
//!
//! Adapters only map types, call the SDK and map its errors into the port's
//! error with the SDK error kept as the source. [`create_tables`] and
//! [`create_queue`] set resources up for tests and local development.
#![warn(missing_docs)]

mod accounts_dynamodb;
mod allowlist_dynamodb;
pub mod app_secret;
pub mod bus_sqs;
mod dynamo_store;
mod dynamo_tables;
mod ecs_scaler;
mod error;
mod gateway_session_dynamodb;
mod ledger_dynamodb;
mod link_state_dynamodb;
mod player_dynamodb;
mod player_pages;
mod playlists_dynamodb;
mod presence_dynamodb;
mod sdk_config;
mod secrets_manager;
mod settings_dynamodb;
mod start_check_sqs;
mod track_cache_dynamodb;

pub use app_secret::{AppSecretError, AppSecretStore};
pub use bus_sqs::{CreatedQueue, SqsBus, create_queue};
pub use dynamo_store::DynamoStore;
pub use dynamo_tables::{
    ACTIVE_ATTRIBUTE, ACTIVE_PLAYERS_INDEX, ALLOWLIST_BY_STATE_INDEX, DynamoTables, TRACK_CACHE_KEY_ATTRIBUTE,
    TTL_ATTRIBUTE, create_tables,
};
pub use ecs_scaler::EcsScaler;
pub use error::SetupError;
pub use sdk_config::{interactive_timeouts, load_sdk_config, service_timeouts};
pub use secrets_manager::SecretsManagerStore;
pub use start_check_sqs::SqsStartCheckTimer;
