//! [`GatewayPresence`] on DynamoDB: two deployment-wide items of the
//! guild-queues table, beside the alive mark (`guild_id = "deployment"`):
//! `pos = "gateway-heartbeat"` and `pos = "gateway-starting"`, each with
//! `at_ms` (the beat's time; the marker's deadline). The starting marker is
//! claimed with one conditional `PutItem`, so of concurrent claims exactly
//! one wins.
//!
//! Each member waiting on a start is one more item of that partition,
//! `pos = "start-waiter#<interaction id>"`, with `application_id`, `token`,
//! `expires_at_ms` and the table's TTL attribute (the token dies with the
//! interaction, 15 minutes on). They are taken by one query and a
//! conditional `DeleteItem` each that returns the old item: a waiter two
//! checks race for is returned only by the delete that removed it.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::ReturnValue;
use timmybot_core::{GatewayPresence, Secret, StartWaiter, StoreError, StoreErrorKind};

use crate::dynamo_store::{Item, unavailable};
use crate::{DynamoStore, TTL_ATTRIBUTE};

/// The partition of deployment-wide items (as the alive mark's).
const DEPLOYMENT: &str = "deployment";
/// The sort key of the heartbeat.
const HEARTBEAT: &str = "gateway-heartbeat";
/// The sort key of the starting marker.
const STARTING: &str = "gateway-starting";
/// The sort-key prefix of the members waiting on a start.
const WAITER_PREFIX: &str = "start-waiter#";

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

    async fn add_waiter(&self, waiter: &StartWaiter) -> Result<(), StoreError> {
        let mut item = key(&format!("{WAITER_PREFIX}{}", waiter.interaction));
        item.insert("application_id".to_owned(), AttributeValue::S(waiter.application.to_string()));
        item.insert("token".to_owned(), AttributeValue::S(waiter.token.expose().to_owned()));
        item.insert("expires_at_ms".to_owned(), AttributeValue::N(waiter.expires_ms.to_string()));
        item.insert(TTL_ATTRIBUTE.to_owned(), AttributeValue::N(waiter.expires_ms.div_ceil(1000).to_string()));
        self.client()
            .put_item()
            .table_name(&self.tables().guild_queues)
            .set_item(Some(item))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn take_waiters(&self, now_ms: u64) -> Result<Vec<StartWaiter>, StoreError> {
        let table = &self.tables().guild_queues;
        let mut positions = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client()
                .query()
                .table_name(table)
                .key_condition_expression("guild_id = :deployment AND begins_with(pos, :prefix)")
                .expression_attribute_values(":deployment", AttributeValue::S(DEPLOYMENT.to_owned()))
                .expression_attribute_values(":prefix", AttributeValue::S(WAITER_PREFIX.to_owned()))
                .projection_expression("pos")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            positions.extend(page.items().iter().filter_map(|item| match item.get("pos") {
                Some(AttributeValue::S(pos)) => Some(pos.clone()),
                _ => None,
            }));
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let mut waiters = Vec::new();
        for pos in positions {
            // On condition that it is still there: of two takers, the one
            // whose delete removed it gets it.
            let removed = self
                .client()
                .delete_item()
                .table_name(table)
                .set_key(Some(key(&pos)))
                .condition_expression("attribute_exists(pos)")
                .return_values(ReturnValue::AllOld)
                .send()
                .await;
            let old = match removed {
                Ok(output) => output.attributes,
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => None,
                Err(e) => return Err(unavailable(e)),
            };
            // Another check removed it first.
            let Some(old) = old else { continue };
            let waiter = waiter_of(&pos, &old)?;
            if waiter.expires_ms >= now_ms {
                waiters.push(waiter);
            }
        }
        Ok(waiters)
    }
}

fn waiter_of(pos: &str, item: &Item) -> Result<StartWaiter, StoreError> {
    let corrupt = || StoreError::with_source(StoreErrorKind::Corrupt, "start waiter item without its fields");
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(corrupt()),
    };
    let interaction = pos.strip_prefix(WAITER_PREFIX).and_then(|id| id.parse().ok()).ok_or_else(corrupt)?;
    let application = text("application_id")?.parse().map_err(|_| corrupt())?;
    let expires_ms = match item.get("expires_at_ms") {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| corrupt())?,
        _ => return Err(corrupt()),
    };
    Ok(StartWaiter { interaction, application, token: Secret::new(text("token")?), expires_ms })
}
