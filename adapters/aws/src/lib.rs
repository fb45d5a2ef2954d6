//! AWS adapters: the ports on DynamoDB, Secrets Manager and SQS FIFO.
//!
//! - [`DynamoStore`] implements the store ports (`QueueStore` in
//!   `queue_dynamodb.rs`, `AllowlistStore` in `allowlist_dynamodb.rs`) over
//!   the tables named by [`DynamoTables`].
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
mod queue_dynamodb;
mod sdk_config;
mod secrets_manager;

pub use bus_sqs::{CreatedQueue, SqsBus, create_queue};
pub use dynamo_store::DynamoStore;
pub use dynamo_tables::{ALLOWLIST_BY_STATE_INDEX, DynamoTables, TTL_ATTRIBUTE, create_tables};
pub use error::SetupError;
pub use sdk_config::{interactive_timeouts, load_sdk_config, service_timeouts};
pub use secrets_manager::SecretsManagerStore;
