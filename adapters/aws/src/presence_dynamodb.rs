//! [`GatewayPresence`] on DynamoDB: two deployment-wide items of the
//! guild-queues table, beside the alive mark (`guild_id = "deployment"`):
//! `pos = "gateway-heartbeat"` and `pos = "gateway-starting"`, each with
//! `at_ms` (the beat's time; the marker's deadline). The starting marker is
//! claimed with one conditional `PutItem`, so of concurrent claims exactly
//! one wins.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use timmybot_core::{GatewayPresence, StoreError, StoreErrorKind};

use crate::DynamoStore;
use crate::dynamo_store::{Item, unavailable};

/// The partition of deployment-wide items (as the alive mark's).
const DEPLOYMENT: &str = "deployment";
/// The sort key of the heartbeat.
const HEARTBEAT: &str = "gateway-heartbeat";
/// The sort key of the starting marker.
const STARTING: &str = "gateway-starting";

fn key(pos: &str) -> Item {
    HashMap::from([
        ("guild_id".to_owned(), AttributeValue::S(DEPLOYMENT.to_owned())),
        ("pos".to_owned(), AttributeValue::S(pos.to_owned())),
    ])
}

fn item(pos: &str, at_ms: u64) -> Item {
    let mut item = key(pos);
    item.insert("at_ms".to_owned(), AttributeValue::N(at_ms.to_string()));
    item
}

impl DynamoStore {
    async fn presence_at(&self, pos: &str) -> Result<Option<u64>, StoreError> {
        let Some(item) = self.get_raw(&self.tables().guild_queues, key(pos)).await? else { return Ok(None) };
        match item.get("at_ms") {
            Some(AttributeValue::N(n)) => {
                n.parse::<u64>().map(Some).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))
            }
            _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
        }
    }

    async fn delete_presence(&self, pos: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(&self.tables().guild_queues)
            .set_key(Some(key(pos)))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }
}

#[async_trait]
impl GatewayPresence for DynamoStore {
    async fn beat(&self, at_ms: u64) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(&self.tables().guild_queues)
            .set_item(Some(item(HEARTBEAT, at_ms)))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn last_beat(&self) -> Result<Option<u64>, StoreError> {
        self.presence_at(HEARTBEAT).await
    }

    async fn clear_beat(&self) -> Result<(), StoreError> {
        self.delete_presence(HEARTBEAT).await
    }

    async fn claim_start(&self, now_ms: u64, deadline_ms: u64) -> Result<bool, StoreError> {
        let put = self
            .client()
            .put_item()
            .table_name(&self.tables().guild_queues)
            .set_item(Some(item(STARTING, deadline_ms)))
            .condition_expression("attribute_not_exists(guild_id) OR at_ms < :now")
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn start_deadline(&self) -> Result<Option<u64>, StoreError> {
        self.presence_at(STARTING).await
    }

    async fn clear_start(&self) -> Result<(), StoreError> {
        self.delete_presence(STARTING).await
    }
}
