//! AWS adapters: the ports on DynamoDB, Secrets Manager and SQS FIFO.
//!
//! - [`DynamoStore`] implements the store ports (`PlayerStore` in
//!   `player_dynamodb.rs`, with its page layout in `player_pages.rs`;
//!   `SettingsStore` in `settings_dynamodb.rs`; `AllowlistStore` in
//!   `allowlist_dynamodb.rs`; `TrackCache` in `track_cache_dynamodb.rs`;
//!   `GatewaySessionStore` in `gateway_session_dynamodb.rs`)
//!   over the tables named by [`DynamoTables`].
//! - [`SecretsManagerStore`] implements `SecretStore`.
//! - [`SqsBus`] implements `CommandBus` on a FIFO queue.
//!
//! Adapters only map types, call the SDK and map its errors into the port's
//! error with the SDK error kept as the source. [`create_tables`] and
//! [`create_queue`] set resources up for tests and local development.
#![warn(missing_docs)]

mod allowlist_dynamodb;
pub mod bus_sqs;
mod dynamo_store;
mod dynamo_tables;
mod error;
mod gateway_session_dynamodb;
mod player_dynamodb;
mod player_pages;
mod sdk_config;
mod secrets_manager;
mod settings_dynamodb;
mod track_cache_dynamodb;

pub use bus_sqs::{CreatedQueue, SqsBus, create_queue};
pub use dynamo_store::DynamoStore;
pub use dynamo_tables::{
    ACTIVE_ATTRIBUTE, ACTIVE_PLAYERS_INDEX, ALLOWLIST_BY_STATE_INDEX, DynamoTables, TRACK_CACHE_KEY_ATTRIBUTE,
    TTL_ATTRIBUTE, create_tables,
};
pub use error::SetupError;
pub use sdk_config::{interactive_timeouts, load_sdk_config, service_timeouts};
pub use secrets_manager::SecretsManagerStore;
