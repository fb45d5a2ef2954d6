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

/// The global secondary index of the guild-queues table that lists active
/// players: partition key [`ACTIVE_ATTRIBUTE`] (string), no sort key, keys
/// only projected. Only a player's head carries the attribute, and only
/// while the player is active, so the index holds exactly the active
/// players; since it projects nothing else, the frequent head writes of a
/// playing guild (pause, volume, next track) do not write to it. The CDK
/// stack must create it under this name.
pub const ACTIVE_PLAYERS_INDEX: &str = "active-players";

/// The partition key of [`ACTIVE_PLAYERS_INDEX`], set on an active player's
/// head.
pub const ACTIVE_ATTRIBUTE: &str = "active_player";

/// How long [`create_tables`] waits for a new table to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Names of the tables, as deployed.
///
/// The first two are partitioned by guild id (`guild_id`, a string):
/// - `guilds`, sort key `kind` (string): one item per kind of guild data;
///   the settings are at `kind = "settings"`, the allowlist record at
///   `kind = "allowlist"`, its audit trail at
///   `kind = "allowlist#event#<seq, 20 digits>"`, and the deployment's slot
///   counter at `guild_id = "deployment"`, `kind = "allowlist#slots"`; the
///   index [`ALLOWLIST_BY_STATE_INDEX`] lists the records by state;
/// - `guild_queues`, sort key `pos` (string): each guild's player as a head
///   at `pos = "head"` and its upcoming tracks in page items at
///   `pos = "page#..."`, the deployment's alive mark at
///   `guild_id = "deployment"`, `pos = "alive"`; the index
///   [`ACTIVE_PLAYERS_INDEX`] lists the active players.
///
/// The third is global, not partitioned by guild, because what a link or a
/// search resolves to is the same for every guild and is no guild's data:
/// - `track_cache`, partition key [`TRACK_CACHE_KEY_ATTRIBUTE`] (string, the
///   SHA-256 of the cache key in hex), no sort key, no index; see
///   `track_cache_dynamodb.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoTables {
    /// The guilds table. Default: `guilds`.
    pub guilds: String,
    /// The guild queues table. Default: `guild-queues`.
    pub guild_queues: String,
    /// The track cache table. Default: `track-cache`.
    pub track_cache: String,
    /// The users table (partition key `user_id`, sort key `kind`): members'
    /// linked accounts (`kind = "link#<provider>"`, `accounts_dynamodb.rs`).
    /// Default: `users`. The stack deploys it; the linked-accounts Lambdas
    /// that read it are still to come (issue #14).
    pub users: String,
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
        Self {
            guilds: format!("{prefix}guilds"),
            guild_queues: format!("{prefix}guild-queues"),
            track_cache: format!("{prefix}track-cache"),
            users: format!("{prefix}users"),
        }
    }
}

/// The partition key of the track cache table (a string). `key` is a
/// DynamoDB reserved word, which only matters inside expressions; the
/// adapter uses none on this table.
pub const TRACK_CACHE_KEY_ATTRIBUTE: &str = "key";

/// A global secondary index, as [`create_tables`] makes it.
struct IndexSpec {
    name: &'static str,
    partition_key: (&'static str, ScalarAttributeType),
    sort_key: Option<(&'static str, ScalarAttributeType)>,
    projection: ProjectionType,
}

/// One table, as [`create_tables`] makes it: string keys, at most one index.
struct TableSpec<'a> {
    name: &'a str,
    partition_key: &'static str,
    sort_key: Option<&'static str>,
    index: Option<IndexSpec>,
}

/// Creates the tables if they do not exist, on-demand billing, with the
/// guilds table's [`ALLOWLIST_BY_STATE_INDEX`] and the guild-queues
/// table's [`ACTIVE_PLAYERS_INDEX`] (the track cache has no index), waits
/// until they are active and enables TTL on [`TTL_ATTRIBUTE`]. Safe to run
/// again (a table that exists is left as it is, index or not).
///
/// # Errors
/// [`SetupError`] naming the table whose creation failed.
pub async fn create_tables(client: &Client, tables: &DynamoTables) -> Result<(), SetupError> {
    let by_state = IndexSpec {
        name: ALLOWLIST_BY_STATE_INDEX,
        partition_key: ("allowlist_state", ScalarAttributeType::S),
        sort_key: Some(("updated_at", ScalarAttributeType::N)),
        projection: ProjectionType::All,
    };
    let active = IndexSpec {
        name: ACTIVE_PLAYERS_INDEX,
        partition_key: (ACTIVE_ATTRIBUTE, ScalarAttributeType::S),
        sort_key: None,
        projection: ProjectionType::KeysOnly,
    };
    let specs = [
        TableSpec { name: &tables.guilds, partition_key: "guild_id", sort_key: Some("kind"), index: Some(by_state) },
        TableSpec { name: &tables.guild_queues, partition_key: "guild_id", sort_key: Some("pos"), index: Some(active) },
        TableSpec { name: &tables.track_cache, partition_key: TRACK_CACHE_KEY_ATTRIBUTE, sort_key: None, index: None },
        TableSpec { name: &tables.users, partition_key: "user_id", sort_key: Some("kind"), index: None },
    ];
    for spec in specs {
        create_table(client, spec).await?;
    }
    Ok(())
}

async fn create_table(client: &Client, spec: TableSpec<'_>) -> Result<(), SetupError> {
    let TableSpec { name, partition_key, sort_key, index } = spec;
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
        .attribute_definitions(attribute(partition_key, ScalarAttributeType::S)?)
        .key_schema(key(partition_key, KeyType::Hash)?);
    if let Some(sort_key) = sort_key {
        request = request
            .attribute_definitions(attribute(sort_key, ScalarAttributeType::S)?)
            .key_schema(key(sort_key, KeyType::Range)?);
    }
    if let Some(index) = index {
        let (partition, partition_type) = index.partition_key;
        let mut gsi = GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .key_schema(key(partition, KeyType::Hash)?)
            .projection(Projection::builder().projection_type(index.projection).build());
        request = request.attribute_definitions(attribute(partition, partition_type)?);
        if let Some((sort, sort_type)) = index.sort_key {
            gsi = gsi.key_schema(key(sort, KeyType::Range)?);
            request = request.attribute_definitions(attribute(sort, sort_type)?);
        }
        request = request.global_secondary_indexes(gsi.build().map_err(fail)?);
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
