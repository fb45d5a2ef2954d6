//! [`LinkStateStore`] on DynamoDB: pending links in the users table, in a
//! partition of their own (`user_id = "link-state"`, never a member's id)
//! keyed by the state, with the table's TTL attribute so forgotten ones go.
//! A take is one conditional `DeleteItem` returning the old item, so of
//! two takes only one gets it; expiry is compared on the exact milliseconds, since TTL
//! deletion is lazy.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use timmybot_core::{LinkStateStore, PendingLink, StoreError, StoreErrorKind};

use crate::DynamoStore;
use crate::dynamo_store::{Item, put_error, unavailable};

/// The users-table partition pending links live in.
const PARTITION: &str = "link-state";

fn key(state: &str) -> Item {
    HashMap::from([
        ("user_id".to_owned(), AttributeValue::S(PARTITION.to_owned())),
        ("kind".to_owned(), AttributeValue::S(state.to_owned())),
    ])
}

fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, e)
}

#[async_trait]
impl LinkStateStore for DynamoStore {
    async fn put_link_state(&self, pending: &PendingLink) -> Result<(), StoreError> {
        let mut item = key(&pending.state);
        item.insert("item".into(), AttributeValue::S(serde_json::to_string(pending).map_err(corrupt)?));
        item.insert("expires_at_ms".into(), AttributeValue::N(pending.expires_at_ms.to_string()));
        // TTL in seconds, rounded up: never deleted before it expires.
        item.insert("expires_at".into(), AttributeValue::N(pending.expires_at_ms.div_ceil(1000).to_string()));
        item.insert("schema_version".into(), AttributeValue::N(timmybot_core::SCHEMA_VERSION.to_string()));
        self.client()
            .put_item()
            .table_name(&self.tables().users)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(user_id)")
            .send()
            .await
            .map_err(put_error)?;
        Ok(())
    }

    async fn take_link_state(&self, state: &str, now_ms: u64) -> Result<Option<PendingLink>, StoreError> {
        // Conditional: an unconditional delete returning the old item is not
        // enough, as DynamoDB Local answered two concurrent ones with the
        // item both times; a lost condition is "already taken".
        let removed = self
            .client()
            .delete_item()
            .table_name(&self.tables().users)
            .set_key(Some(key(state)))
            .condition_expression("attribute_exists(user_id)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let removed = match removed {
            Ok(removed) => removed,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                return Ok(None);
            }
            Err(e) => return Err(unavailable(e)),
        };
        let Some(old) = removed.attributes else { return Ok(None) };
        let expires = match old.get("expires_at_ms") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().map_err(corrupt)?,
            _ => return Err(StoreError::new(StoreErrorKind::Corrupt)),
        };
        if expires <= now_ms {
            return Ok(None);
        }
        let Some(AttributeValue::S(item)) = old.get("item") else {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        };
        let pending: PendingLink = serde_json::from_str(item).map_err(corrupt)?;
        if pending.state != state {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(Some(pending))
    }
}
