//! The DynamoDB client behind the store adapters.
//!
//! One [`DynamoStore`] implements each repository port over its table
//! (`player_dynamodb.rs`, `settings_dynamodb.rs`, `allowlist_dynamodb.rs`,
//! `track_cache_dynamodb.rs`). Every guild item carries a
//! `schema_version`, and every versioned one its optimistic-concurrency
//! `version`; writes are conditional on the version read. The track cache's
//! items are neither: last write wins.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use timmybot_core::{GuildId, StoreError, StoreErrorKind};

use crate::DynamoTables;

/// A raw DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The store adapters on DynamoDB.
///
/// Implements [`timmybot_core::PlayerStore`],
/// [`timmybot_core::SettingsStore`], [`timmybot_core::AllowlistStore`],
/// [`timmybot_core::TrackCache`] and [`timmybot_core::CommandLedger`]. Cheap to clone (the SDK client is a
/// handle).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: DynamoTables,
}

/// Where an item lives: its table and its full primary key.
pub(crate) struct ItemKey<'a> {
    pub(crate) table: &'a str,
    pub(crate) guild: GuildId,
    pub(crate) sort_key: &'static str,
    pub(crate) sort_value: &'static str,
}

impl ItemKey<'_> {
    fn attributes(&self) -> Item {
        HashMap::from([
            ("guild_id".to_owned(), AttributeValue::S(self.guild.to_string())),
            (self.sort_key.to_owned(), AttributeValue::S(self.sort_value.to_owned())),
        ])
    }
}

impl DynamoStore {
    /// A store over `tables`, which must exist (see
    /// [`crate::create_tables`]).
    pub fn new(client: Client, tables: DynamoTables) -> Self {
        Self { client, tables }
    }

    /// The tables this store uses.
    pub fn tables(&self) -> &DynamoTables {
        &self.tables
    }

    /// Reads an item with a strongly consistent read, so a load right after
    /// a save sees it and the version compared on the next save is current.
    pub(crate) async fn get_item<T: DeserializeOwned>(&self, key: &ItemKey<'_>) -> Result<Option<T>, StoreError> {
        let Some(item) = self.get_raw(key.table, key.attributes()).await? else { return Ok(None) };
        decode_item(item).map(Some)
    }

    /// Reads the item at `key` (its full primary key) as stored, with a
    /// strongly consistent read.
    pub(crate) async fn get_raw(&self, table: &str, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// The SDK client, for adapters that build their own requests
    /// (transactions, queries).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Writes `item` if the stored version is `expected` (0 = no item).
    ///
    /// `item` must already carry `version = expected + 1`.
    pub(crate) async fn put_versioned<T: Serialize>(
        &self,
        key: &ItemKey<'_>,
        item: &T,
        expected: u64,
    ) -> Result<(), StoreError> {
        let item: Item =
            serde_dynamo::to_item(item).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))?;
        let request = self.client.put_item().table_name(key.table).set_item(Some(item));
        // Version 0 only creates. A stale writer holding a version of an item
        // deleted since must not bring it back, so no "or not exists" when
        // a version is given.
        let request = if expected == 0 {
            request.condition_expression("attribute_not_exists(guild_id)")
        } else {
            request
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        };
        request.send().await.map(drop).map_err(put_error)
    }
}

/// Checks an item's schema version and decodes it.
pub(crate) fn decode_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    check_schema_version(&item)?;
    serde_dynamo::from_item(item).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))
}

/// Encodes a value as an item.
pub(crate) fn encode_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))
}

/// Refuses items written by a newer layout: reading one as ours could drop
/// its new fields on the next save.
fn check_schema_version(item: &Item) -> Result<(), StoreError> {
    match schema_version(item) {
        Some(v) if v <= timmybot_core::SCHEMA_VERSION => Ok(()),
        _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
    }
}

/// The item's `schema_version`, if it has a readable one.
pub(crate) fn schema_version(item: &Item) -> Option<u32> {
    match item.get("schema_version") {
        Some(AttributeValue::N(n)) => n.parse::<u32>().ok(),
        _ => None,
    }
}

/// A failed conditional `PutItem`: a lost condition is a conflict, anything
/// else leaves the outcome unknown.
pub(crate) fn put_error(e: SdkError<PutItemError, HttpResponse>) -> StoreError {
    if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) {
        StoreError::with_source(StoreErrorKind::Conflict, e)
    } else {
        unavailable(e)
    }
}

/// Any SDK failure other than a lost condition: the service could not be
/// reached, throttled, or refused the request.
pub(crate) fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::with_source(StoreErrorKind::Unavailable, e)
}
