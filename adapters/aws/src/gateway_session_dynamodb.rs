//! [`GatewaySessionStore`] on DynamoDB: two deployment-level items in the
//! guild-queues table beside the alive mark (`guild_id = "deployment"`):
//! `pos = "gateway_sessions"` holds the saved sessions as one JSON string,
//! `pos = "gateway_identifies"` the newest identify times as a list.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};
use timmybot_core::{
    GatewaySessionStore, IDENTIFY_HISTORY_LIMIT, SCHEMA_VERSION, SavedGatewaySessions, StoreError, StoreErrorKind,
};

use crate::DynamoStore;
use crate::dynamo_store::{Item, encode_item, schema_version, unavailable};

/// The partition of deployment-wide items (shared with the alive mark).
const DEPLOYMENT: &str = "deployment";
/// The sort key of the saved sessions.
const SESSIONS: &str = "gateway_sessions";
/// The sort key of the identify record.
const IDENTIFIES: &str = "gateway_identifies";

#[derive(Serialize, Deserialize)]
struct SessionsItem {
    guild_id: String,
    pos: String,
    schema_version: u32,
    /// [`SavedGatewaySessions`] as JSON: one attribute, whatever its shape.
    item: String,
}

#[derive(Serialize, Deserialize)]
struct IdentifiesItem {
    guild_id: String,
    pos: String,
    schema_version: u32,
    at_ms: Vec<u64>,
}

fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, e)
}

fn check_schema(item: &Item) -> Result<(), StoreError> {
    match schema_version(item) {
        Some(v) if v <= SCHEMA_VERSION => Ok(()),
        _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
    }
}

impl DynamoStore {
    fn deployment_key(pos: &str) -> Item {
        HashMap::from([
            ("guild_id".to_owned(), AttributeValue::S(DEPLOYMENT.to_owned())),
            ("pos".to_owned(), AttributeValue::S(pos.to_owned())),
        ])
    }

    async fn identify_times(&self) -> Result<Vec<u64>, StoreError> {
        let table = &self.tables().guild_queues;
        let Some(item) = self.get_raw(table, Self::deployment_key(IDENTIFIES)).await? else { return Ok(Vec::new()) };
        check_schema(&item)?;
        let item: IdentifiesItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok(item.at_ms)
    }
}

#[async_trait]
impl GatewaySessionStore for DynamoStore {
    async fn save_sessions(&self, saved: &SavedGatewaySessions) -> Result<(), StoreError> {
        let item = SessionsItem {
            guild_id: DEPLOYMENT.to_owned(),
            pos: SESSIONS.to_owned(),
            schema_version: SCHEMA_VERSION,
            item: serde_json::to_string(saved).map_err(corrupt)?,
        };
        self.client()
            .put_item()
            .table_name(&self.tables().guild_queues)
            .set_item(Some(encode_item(&item)?))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn take_sessions(&self) -> Result<Option<SavedGatewaySessions>, StoreError> {
        // A delete that returns the old item reads and removes at once: two
        // tasks starting together cannot both take the sessions.
        let output = self
            .client()
            .delete_item()
            .table_name(&self.tables().guild_queues)
            .set_key(Some(Self::deployment_key(SESSIONS)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.attributes.filter(|item| !item.is_empty()) else { return Ok(None) };
        check_schema(&item)?;
        let item: SessionsItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        serde_json::from_str(&item.item).map(Some).map_err(corrupt)
    }

    async fn record_identify(&self, at_ms: u64) -> Result<(), StoreError> {
        // Read, append, trim, write: one task identifies at a time, and a
        // lost append only makes the throttle a little more lenient.
        let mut times = self.identify_times().await?;
        times.push(at_ms);
        times.sort_unstable();
        let excess = times.len().saturating_sub(IDENTIFY_HISTORY_LIMIT);
        times.drain(..excess);
        let item = IdentifiesItem {
            guild_id: DEPLOYMENT.to_owned(),
            pos: IDENTIFIES.to_owned(),
            schema_version: SCHEMA_VERSION,
            at_ms: times,
        };
        self.client()
            .put_item()
            .table_name(&self.tables().guild_queues)
            .set_item(Some(encode_item(&item)?))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn identifies_since(&self, since_ms: u64) -> Result<usize, StoreError> {
        Ok(self.identify_times().await?.iter().filter(|at| **at >= since_ms).count())
    }
}
