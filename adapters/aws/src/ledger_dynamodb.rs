//! [`CommandLedger`] on DynamoDB, in the `guild-queues` table next to the
//! guild's player (partition key `guild_id`, the guild id).
//!
//! One item per command that took effect:
//! - `pos` (S, the sort key): `ran#<interaction id>`. The player's items
//!   are `head` and `page#…`, and its reads ask for the sort keys from
//!   `head` to the pages' end only ([`crate::player_dynamodb`]), so these
//!   items are never read, rewritten or deleted by the player;
//! - `expires_at` (N): the expiry in Unix seconds, rounded up, the table's
//!   TTL attribute ([`crate::TTL_ATTRIBUTE`]), which keeps the table small;
//! - `expires_at_ms` (N): the exact expiry in Unix milliseconds, which reads
//!   compare with the caller's `now_ms` (the TTL deletes items days late).
//!
//! The record is a `PutItem` on condition that no entry is there or the one
//! there expired, so of two recorders of one command exactly one wins.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use timmybot_core::{CommandLedger, GuildId, InteractionId, StoreError, StoreErrorKind};

use crate::dynamo_store::{Item, put_error};
use crate::{DynamoStore, TTL_ATTRIBUTE};

/// The sort-key prefix of ledger items.
pub(crate) const RAN_PREFIX: &str = "ran#";
/// The exact expiry, Unix milliseconds.
const EXPIRES_AT_MS: &str = "expires_at_ms";

fn ledger_key(guild: GuildId, interaction: InteractionId) -> Item {
    HashMap::from([
        ("guild_id".to_owned(), AttributeValue::S(guild.to_string())),
        ("pos".to_owned(), AttributeValue::S(format!("{RAN_PREFIX}{interaction}"))),
    ])
}

fn expiry_of(item: &Item) -> Result<u64, StoreError> {
    match item.get(EXPIRES_AT_MS) {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| corrupt()),
        _ => Err(corrupt()),
    }
}

fn corrupt() -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, "command ledger item without a readable expires_at_ms")
}

#[async_trait]
impl CommandLedger for DynamoStore {
    async fn record_ran(
        &self,
        guild: GuildId,
        interaction: InteractionId,
        now_ms: u64,
        expires_at_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut item = ledger_key(guild, interaction);
        item.insert(TTL_ATTRIBUTE.to_owned(), AttributeValue::N(expires_at_ms.div_ceil(1000).to_string()));
        item.insert(EXPIRES_AT_MS.to_owned(), AttributeValue::N(expires_at_ms.to_string()));
        let written = self
            .client()
            .put_item()
            .table_name(&self.tables().guild_queues)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pos) OR #expires <= :now")
            .expression_attribute_names("#expires", EXPIRES_AT_MS)
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .send()
            .await
            .map_err(put_error);
        match written {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == StoreErrorKind::Conflict => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn already_ran(&self, guild: GuildId, interaction: InteractionId, now_ms: u64) -> Result<bool, StoreError> {
        // Strongly consistent: a redelivery right after the record sees it.
        let Some(item) = self.get_raw(&self.tables().guild_queues, ledger_key(guild, interaction)).await? else {
            return Ok(false);
        };
        Ok(now_ms < expiry_of(&item)?)
    }
}
