//! The DynamoDB tables the store adapters use, and a helper that creates
//! them for tests and local development (production tables come from CDK).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::SetupError;

/// The attribute DynamoDB's TTL reads on every table (Unix seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The global secondary index of the guilds table that lists allowlist
/// records by state: partition key `allowlist_state` (string), sort key
/// `updated_at` (number), every attribute projected. Only allowlist records
/// carry `allowlist_state`, so no other item of the table is in it. The CDK
/// stack must create it under this name.
pub const ALLOWLIST_BY_STATE_INDEX: &str = "allowlist-by-state";

/// How long [`create_tables`] waits for a new table to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Names of the tables, as deployed.
///
/// Both are partitioned by guild id (`guild_id`, a string):
/// - `guilds`, sort key `kind` (string): one item per kind of guild data;
///   the allowlist record is at `kind = "allowlist"`, its audit trail at
///   `kind = "allowlist#event#<seq, 20 digits>"`, and the deployment's slot
///   counter at `guild_id = "deployment"`, `kind = "allowlist#slots"`; the
///   index [`ALLOWLIST_BY_STATE_INDEX`] lists the records by state;
/// - `guild_queues`, sort key `pos` (string): the whole queue is one item at
///   `pos = "head"` for now; the sort key leaves room to split long queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoTables {
    /// The guilds table. Default: `guilds`.
    pub guilds: String,
    /// The guild queues table. Default: `guild-queues`.
    pub guild_queues: String,
}

impl Default for DynamoTables {
    fn default() -> Self {
        Self::with_prefix("")
    }
}

impl DynamoTables {
    /// The default names with `prefix` in front, e.g. one prefix per test
    /// or per stage.
    pub fn with_prefix(prefix: &str) -> Self {
        Self { guilds: format!("{prefix}guilds"), guild_queues: format!("{prefix}guild-queues") }
    }
}

/// Creates the tables if they do not exist, on-demand billing, with the
/// guilds table's [`ALLOWLIST_BY_STATE_INDEX`], waits until they are active
/// and enables TTL on [`TTL_ATTRIBUTE`]. Safe to run again (a table that
/// exists is left as it is, index or not).
///
/// # Errors
/// [`SetupError`] naming the table whose creation failed.
pub async fn create_tables(client: &Client, tables: &DynamoTables) -> Result<(), SetupError> {
    create_table(client, &tables.guilds, "kind", true).await?;
    create_table(client, &tables.guild_queues, "pos", false).await
}

async fn create_table(client: &Client, name: &str, sort_key: &str, by_state_index: bool) -> Result<(), SetupError> {
    let fail = |e: aws_sdk_dynamodb::error::BuildError| SetupError::new(name, e);
    let attribute = |attr: &str, attr_type| {
        AttributeDefinition::builder().attribute_name(attr).attribute_type(attr_type).build().map_err(fail)
    };
    let key = |attr: &str, key_type| {
        KeySchemaElement::builder().attribute_name(attr).key_type(key_type).build().map_err(fail)
    };

    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("guild_id", ScalarAttributeType::S)?)
        .attribute_definitions(attribute(sort_key, ScalarAttributeType::S)?)
        .key_schema(key("guild_id", KeyType::Hash)?)
        .key_schema(key(sort_key, KeyType::Range)?);
    if by_state_index {
        let index = GlobalSecondaryIndex::builder()
            .index_name(ALLOWLIST_BY_STATE_INDEX)
            .key_schema(key("allowlist_state", KeyType::Hash)?)
            .key_schema(key("updated_at", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(fail)?;
        request = request
            .attribute_definitions(attribute("allowlist_state", ScalarAttributeType::S)?)
            .attribute_definitions(attribute("updated_at", ScalarAttributeType::N)?)
            .global_secondary_indexes(index);
    }
    let created = request.send().await;
    match created {
        Ok(_) => tracing::info!(table = name, "table created"),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            tracing::debug!(table = name, "table already exists");
        }
        Err(e) => return Err(SetupError::new(name, e)),
    }

    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(ACTIVE_TIMEOUT)
        .await
        .map_err(|e| SetupError::new(name, e))?;

    // Enabling TTL twice is an error, so look first.
    let ttl = client.describe_time_to_live().table_name(name).send().await.map_err(|e| SetupError::new(name, e))?;
    let status = ttl.time_to_live_description().and_then(|d| d.time_to_live_status());
    if !matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        let spec =
            TimeToLiveSpecification::builder().enabled(true).attribute_name(TTL_ATTRIBUTE).build().map_err(fail)?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| SetupError::new(name, e))?;
    }
    Ok(())
}
