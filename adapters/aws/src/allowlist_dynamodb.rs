//! [`AllowlistStore`] on DynamoDB, in the `guilds` table.
//!
//! Layout (see also [`crate::DynamoTables`]):
//! - the record: `guild_id = <guild>`, `kind = "allowlist"`, with
//!   `allowlist_state` and `updated_at`, the keys of the
//!   [`ALLOWLIST_BY_STATE_INDEX`] that `list` queries;
//! - its audit trail: `guild_id = <guild>`,
//!   `kind = "allowlist#event#<seq, 20 digits>"`, so a Query on the guild's
//!   partition with `begins_with` returns it in `seq` order;
//! - the slot counter: `guild_id = "deployment"` (not a snowflake, so no
//!   guild collides with it), `kind = "allowlist#slots"`, attributes
//!   `approved` and, when set, `slot_limit`.
//!
//! `apply` is one `TransactWriteItems`: the record (conditional on its
//! version), the event (conditional on not existing) and the counter
//! (conditional on a free slot when taking without force). A release
//! decrements only while `approved > 0`: if that condition fails, the count
//! is already zero and there is nothing to free, so the transaction is sent
//! again without the counter, and the record and event still apply (the
//! first attempt wrote nothing). That costs a second call only in a state
//! that should not happen (a release with no approved guild), and keeps the
//! counter from ever going negative, which would hand out slots that do not
//! exist.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use timmybot_core::{
    Actor, AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, AllowlistStore, ChannelId,
    GuildId, MessageRef, SlotEffect, SlotUsage, StoreError, StoreErrorKind, UserId,
};

use crate::DynamoStore;
use crate::dynamo_store::{Item, ItemKey, decode_item, encode_item, unavailable};
use crate::dynamo_tables::ALLOWLIST_BY_STATE_INDEX;

/// The sort key value of the record item.
const KIND: &str = "allowlist";
/// The sort key prefix of the audit trail's items.
const EVENT_PREFIX: &str = "allowlist#event#";
/// The partition key of the slot counter: deployment-wide, not a guild.
const SLOTS_PARTITION: &str = "deployment";
/// The sort key of the slot counter.
const SLOTS_KIND: &str = "allowlist#slots";

/// The most records one `list` page holds.
const MAX_PAGE: usize = 100;
/// Longer cursors were not handed out by this store; refusing them early
/// keeps decoding cheap whatever a caller sends.
const MAX_CURSOR_LEN: usize = 1024;
/// Attempts of one change while DynamoDB reports a concurrent transaction
/// on one of its items (typically two approvals racing for the counter).
const MAX_ATTEMPTS: u32 = 5;

/// The stored record, kept apart from the domain type so that either can
/// change without silently changing the other.
#[derive(Serialize, Deserialize)]
struct RecordItem {
    guild_id: GuildId,
    kind: String,
    version: u64,
    schema_version: u32,
    /// The state; also the index's partition key.
    allowlist_state: AllowlistState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    guild_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_channel: Option<ChannelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default)]
    requested_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decided_by: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decided_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decision_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    maintainer_notice: Option<MessageRef>,
    /// When it last changed; also the index's sort key.
    updated_at: u64,
}

impl RecordItem {
    fn new(record: &AllowlistRecord, version: u64) -> Self {
        let r = record.clone();
        Self {
            guild_id: r.guild_id,
            kind: KIND.to_owned(),
            version,
            schema_version: timmybot_core::SCHEMA_VERSION,
            allowlist_state: r.state,
            guild_name: r.guild_name,
            member_count: r.member_count,
            requested_by: r.requested_by,
            request_channel: r.request_channel,
            reason: r.reason,
            requested_at: r.requested_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            decision_reason: r.decision_reason,
            maintainer_notice: r.maintainer_notice,
            updated_at: r.updated_at,
        }
    }

    /// The domain record; corrupt when the item is not a record, or not of
    /// `guild` (the partition it was read from, when known).
    fn into_record(self, guild: Option<GuildId>) -> Result<AllowlistRecord, StoreError> {
        if self.kind != KIND || guild.is_some_and(|g| g != self.guild_id) {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(AllowlistRecord {
            guild_id: self.guild_id,
            version: self.version,
            state: self.allowlist_state,
            guild_name: self.guild_name,
            member_count: self.member_count,
            requested_by: self.requested_by,
            request_channel: self.request_channel,
            reason: self.reason,
            requested_at: self.requested_at,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            decision_reason: self.decision_reason,
            maintainer_notice: self.maintainer_notice,
            updated_at: self.updated_at,
        })
    }
}

/// One stored audit event.
#[derive(Serialize, Deserialize)]
struct EventItem {
    guild_id: GuildId,
    kind: String,
    schema_version: u32,
    seq: u64,
    at: u64,
    actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<AllowlistState>,
    to: AllowlistState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default)]
    forced: bool,
}

fn event_kind(seq: u64) -> String {
    // 20 digits hold every u64, so text order is number order.
    format!("{EVENT_PREFIX}{seq:020}")
}

impl EventItem {
    fn new(event: &AllowlistEvent) -> Self {
        let e = event.clone();
        Self {
            guild_id: e.guild_id,
            kind: event_kind(e.seq),
            schema_version: timmybot_core::SCHEMA_VERSION,
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            from: e.from,
            to: e.to,
            reason: e.reason,
            forced: e.forced,
        }
    }

    fn into_event(self, guild: GuildId) -> Result<AllowlistEvent, StoreError> {
        if self.guild_id != guild || self.kind != event_kind(self.seq) {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(AllowlistEvent {
            guild_id: self.guild_id,
            seq: self.seq,
            at: self.at,
            actor: self.actor,
            from: self.from,
            to: self.to,
            reason: self.reason,
            forced: self.forced,
        })
    }
}

/// The slot counter as stored; a missing item or attribute is zero / no
/// limit.
#[derive(Deserialize)]
struct SlotsItem {
    #[serde(default)]
    approved: u64,
    #[serde(default)]
    slot_limit: Option<u64>,
}

impl From<SlotsItem> for SlotUsage {
    fn from(item: SlotsItem) -> Self {
        Self { approved: item.approved, limit: item.slot_limit }
    }
}

/// Where the next page starts: the index and table key of the last record
/// of the previous page, exactly the four attributes DynamoDB's
/// `ExclusiveStartKey` needs on this index.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    guild_id: GuildId,
    kind: String,
    allowlist_state: AllowlistState,
    updated_at: u64,
}

impl Cursor {
    fn after(record: &AllowlistRecord) -> Self {
        Self {
            guild_id: record.guild_id,
            kind: KIND.to_owned(),
            allowlist_state: record.state,
            updated_at: record.updated_at,
        }
    }

    fn encode(&self) -> Result<String, StoreError> {
        let json = serde_json::to_vec(self).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))?;
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    /// Decodes a cursor handed out for `state` into the start key. Anything
    /// else is invalid input and never reaches DynamoDB.
    fn decode(cursor: &str, state: AllowlistState) -> Result<Item, StoreError> {
        let invalid = |e: Option<Box<dyn std::error::Error + Send + Sync>>| match e {
            Some(e) => StoreError::with_source(StoreErrorKind::InvalidInput, e),
            None => StoreError::new(StoreErrorKind::InvalidInput),
        };
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid(None));
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|e| invalid(Some(e.into())))?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|e| invalid(Some(e.into())))?;
        if cursor.kind != KIND || cursor.allowlist_state != state {
            return Err(invalid(None));
        }
        Ok(HashMap::from([
            ("guild_id".to_owned(), AttributeValue::S(cursor.guild_id.to_string())),
            ("kind".to_owned(), AttributeValue::S(KIND.to_owned())),
            ("allowlist_state".to_owned(), AttributeValue::S(state.as_str().to_owned())),
            ("updated_at".to_owned(), AttributeValue::N(cursor.updated_at.to_string())),
        ]))
    }
}

/// Why a transaction was cancelled, from its cancellation reasons (one per
/// item, in request order).
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// The record's version (or an event at its seq) moved on.
    Conflict,
    /// The counter's condition failed: no free slot, or nothing to release.
    Counter,
    /// Another transaction was writing one of the items; may be retried.
    Busy,
}

fn cancelled<R>(err: &SdkError<TransactWriteItemsError, R>, counter_index: Option<usize>) -> Option<Cancelled> {
    let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() else {
        return None;
    };
    let codes: Vec<&str> = e.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
    let failed = |i: usize| codes.get(i) == Some(&"ConditionalCheckFailed");
    // The record wins over the counter: a stale writer must reload first,
    // whatever the slots say.
    if codes.iter().enumerate().any(|(i, _)| failed(i) && Some(i) != counter_index) {
        Some(Cancelled::Conflict)
    } else if counter_index.is_some_and(failed) {
        Some(Cancelled::Counter)
    } else if codes.contains(&"TransactionConflict") {
        Some(Cancelled::Busy)
    } else {
        None
    }
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::with_source(StoreErrorKind::InvalidInput, e)
}

fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

impl DynamoStore {
    fn allowlist_key(&self, guild: GuildId) -> ItemKey<'_> {
        ItemKey { table: &self.tables().guilds, guild, sort_key: "kind", sort_value: KIND }
    }

    fn slots_key() -> Item {
        HashMap::from([
            ("guild_id".to_owned(), AttributeValue::S(SLOTS_PARTITION.to_owned())),
            ("kind".to_owned(), AttributeValue::S(SLOTS_KIND.to_owned())),
        ])
    }

    /// The counter update of a slot effect, if it touches the counter.
    fn slot_update(&self, slot: SlotEffect) -> Result<Option<TransactWriteItem>, StoreError> {
        let update = Update::builder()
            .table_name(&self.tables().guilds)
            .set_key(Some(Self::slots_key()))
            .expression_attribute_names("#sv", "schema_version")
            .expression_attribute_names("#approved", "approved")
            .expression_attribute_values(":sv", number(timmybot_core::SCHEMA_VERSION));
        let update = match slot {
            SlotEffect::Keep => return Ok(None),
            SlotEffect::Take { force: true } => update
                .update_expression("SET #sv = if_not_exists(#sv, :sv) ADD #approved :one")
                .expression_attribute_values(":one", number(1)),
            // A missing item or `approved` counts as zero, a missing limit
            // as no limit.
            SlotEffect::Take { force: false } => update
                .update_expression("SET #sv = if_not_exists(#sv, :sv) ADD #approved :one")
                .condition_expression(
                    "attribute_not_exists(#limit) OR #approved < #limit \
                     OR (attribute_not_exists(#approved) AND #limit > :zero)",
                )
                .expression_attribute_names("#limit", "slot_limit")
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":zero", number(0)),
            SlotEffect::Release => update
                .update_expression("SET #sv = if_not_exists(#sv, :sv) ADD #approved :minus_one")
                .condition_expression("#approved > :zero")
                .expression_attribute_values(":minus_one", number(-1))
                .expression_attribute_values(":zero", number(0)),
        };
        Ok(Some(TransactWriteItem::builder().update(update.build().map_err(build_error)?).build()))
    }

    /// The record put and the event put of a change.
    fn change_puts(&self, change: &AllowlistChange, version: u64) -> Result<Vec<TransactWriteItem>, StoreError> {
        let table = &self.tables().guilds;
        let record =
            Put::builder().table_name(table).set_item(Some(encode_item(&RecordItem::new(&change.record, version))?));
        // Version 0 only creates. A stale writer holding a version of a
        // record deleted since must not bring it back, so no "or not
        // exists" when a version is given.
        let record = if change.record.version == 0 {
            record.condition_expression("attribute_not_exists(guild_id)")
        } else {
            record
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", number(change.record.version))
        };
        let mut items = vec![TransactWriteItem::builder().put(record.build().map_err(build_error)?).build()];
        if let Some(event) = &change.event {
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(encode_item(&EventItem::new(event))?))
                // Never overwrite someone's history.
                .condition_expression("attribute_not_exists(guild_id)")
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        Ok(items)
    }
}

/// A short random pause before retrying a transaction that met another,
/// growing with each attempt so two racing writers fall apart.
fn backoff(attempt: u32) -> Duration {
    let random = std::collections::hash_map::RandomState::new().hash_one(attempt);
    Duration::from_millis(5 + random % (25 * u64::from(attempt)))
}

#[async_trait]
impl AllowlistStore for DynamoStore {
    async fn get(&self, guild: GuildId) -> Result<Option<AllowlistRecord>, StoreError> {
        let Some(item) = self.get_item::<RecordItem>(&self.allowlist_key(guild)).await? else {
            return Ok(None);
        };
        item.into_record(Some(guild)).map(Some)
    }

    async fn apply(&self, change: &AllowlistChange) -> Result<u64, StoreError> {
        let version = change.check()?;
        let puts = self.change_puts(change, version)?;
        let mut counter = self.slot_update(change.slot)?;
        let mut attempt = 1;
        loop {
            let counter_index = counter.as_ref().map(|_| puts.len());
            let items: Vec<TransactWriteItem> = puts.iter().cloned().chain(counter.clone()).collect();
            let sent = self.client().transact_write_items().set_transact_items(Some(items)).send().await;
            let err = match sent {
                Ok(_) => break,
                Err(err) => err,
            };
            match cancelled(&err, counter_index) {
                Some(Cancelled::Conflict) => return Err(StoreError::with_source(StoreErrorKind::Conflict, err)),
                Some(Cancelled::Counter) if change.slot == SlotEffect::Release => {
                    // Nothing approved to release: the count stays at zero
                    // and the rest of the change still applies.
                    tracing::warn!(guild_id = %change.record.guild_id, "allowlist release with no approved guild counted");
                    counter = None;
                }
                Some(Cancelled::Counter) => return Err(StoreError::with_source(StoreErrorKind::LimitReached, err)),
                Some(Cancelled::Busy) if attempt < MAX_ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                // Still contended: the caller reloads and tries again.
                Some(Cancelled::Busy) => return Err(StoreError::with_source(StoreErrorKind::Conflict, err)),
                None => return Err(unavailable(err)),
            }
        }
        tracing::debug!(guild_id = %change.record.guild_id, version, table = %self.tables().guilds, "allowlist change applied");
        Ok(version)
    }

    async fn history(&self, guild: GuildId, limit: usize) -> Result<Vec<AllowlistEvent>, StoreError> {
        let mut events = Vec::new();
        let mut start: Option<Item> = None;
        while events.len() < limit {
            let page = i32::try_from(limit - events.len()).unwrap_or(i32::MAX);
            let output = self
                .client()
                .query()
                .table_name(&self.tables().guilds)
                .key_condition_expression("#guild = :guild AND begins_with(#kind, :prefix)")
                .expression_attribute_names("#guild", "guild_id")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":guild", AttributeValue::S(guild.to_string()))
                .expression_attribute_values(":prefix", AttributeValue::S(EVENT_PREFIX.to_owned()))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                events.push(decode_item::<EventItem>(item)?.into_event(guild)?);
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        events.truncate(limit);
        Ok(events)
    }

    async fn list(
        &self,
        state: AllowlistState,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AllowlistPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut start = cursor.map(|c| Cursor::decode(c, state)).transpose()?;
        // One more than asked tells whether another page follows, so the
        // last page carries no cursor. The index is eventually consistent:
        // a change made a moment ago may not be listed yet (DynamoDB Local
        // shows it at once).
        let mut records = Vec::new();
        loop {
            let want = i32::try_from(limit + 1 - records.len()).unwrap_or(i32::MAX);
            let output = self
                .client()
                .query()
                .table_name(&self.tables().guilds)
                .index_name(ALLOWLIST_BY_STATE_INDEX)
                .key_condition_expression("#state = :state")
                .expression_attribute_names("#state", "allowlist_state")
                .expression_attribute_values(":state", AttributeValue::S(state.as_str().to_owned()))
                .scan_index_forward(false)
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                records.push(decode_item::<RecordItem>(item)?.into_record(None)?);
            }
            match output.last_evaluated_key {
                // A page can stop short of `want` (1 MB read per call).
                Some(key) if records.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        if records.iter().any(|r| r.state != state) {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        let next_cursor = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|last| Cursor::after(last).encode()).transpose()?
        } else {
            None
        };
        Ok(AllowlistPage { records, next_cursor })
    }

    async fn slot_usage(&self) -> Result<SlotUsage, StoreError> {
        match self.get_raw(&self.tables().guilds, Self::slots_key()).await? {
            Some(item) => Ok(decode_item::<SlotsItem>(item)?.into()),
            None => Ok(SlotUsage { approved: 0, limit: None }),
        }
    }

    async fn set_slot_limit(&self, limit: Option<u64>) -> Result<SlotUsage, StoreError> {
        let request = self
            .client()
            .update_item()
            .table_name(&self.tables().guilds)
            .set_key(Some(Self::slots_key()))
            .expression_attribute_names("#sv", "schema_version")
            .expression_attribute_names("#limit", "slot_limit")
            .expression_attribute_values(":sv", number(timmybot_core::SCHEMA_VERSION))
            .return_values(ReturnValue::AllNew);
        let request = match limit {
            Some(limit) => request
                .update_expression("SET #sv = if_not_exists(#sv, :sv), #limit = :limit")
                .expression_attribute_values(":limit", number(limit)),
            None => request.update_expression("SET #sv = if_not_exists(#sv, :sv) REMOVE #limit"),
        };
        let output = request.send().await.map_err(unavailable)?;
        let usage: SlotUsage = decode_item::<SlotsItem>(output.attributes.unwrap_or_default())?.into();
        tracing::info!(limit = ?usage.limit, approved = usage.approved, "allowlist slot limit set");
        Ok(usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cancelled_with(codes: &[&str]) -> SdkError<TransactWriteItemsError, ()> {
        use aws_sdk_dynamodb::types::CancellationReason;
        use aws_sdk_dynamodb::types::error::TransactionCanceledException;
        let reasons = codes.iter().map(|c| CancellationReason::builder().code(*c).build()).collect();
        let err = TransactionCanceledException::builder().set_cancellation_reasons(Some(reasons)).build();
        SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(err), ())
    }

    #[test]
    fn cancellation_reasons_name_the_failed_condition() {
        let ccf = "ConditionalCheckFailed";
        assert_eq!(cancelled(&cancelled_with(&[ccf, "None", "None"]), Some(2)), Some(Cancelled::Conflict));
        assert_eq!(cancelled(&cancelled_with(&["None", ccf]), None), Some(Cancelled::Conflict), "event exists");
        assert_eq!(cancelled(&cancelled_with(&["None", "None", ccf]), Some(2)), Some(Cancelled::Counter));
        // A stale writer reloads before it is told about slots.
        assert_eq!(cancelled(&cancelled_with(&[ccf, "None", ccf]), Some(2)), Some(Cancelled::Conflict));
        let busy = cancelled_with(&["None", "None", "TransactionConflict"]);
        assert_eq!(cancelled(&busy, Some(2)), Some(Cancelled::Busy));
        assert_eq!(cancelled(&cancelled_with(&[]), Some(2)), None, "no reasons: not guessed");
        assert_eq!(cancelled(&cancelled_with(&["ValidationError"]), None), None);
    }

    #[test]
    fn backoff_is_short_and_grows() {
        assert!((1..MAX_ATTEMPTS).all(|a| backoff(a) < Duration::from_millis(5 + 25 * u64::from(a))));
        assert!(backoff(1) >= Duration::from_millis(5));
    }

    #[test]
    fn event_kinds_sort_as_their_numbers() {
        assert!(event_kind(9) < event_kind(10));
        assert!(event_kind(u64::MAX - 1) < event_kind(u64::MAX));
        assert!(event_kind(1).starts_with(EVENT_PREFIX));
    }

    #[test]
    fn a_cursor_becomes_exactly_the_four_key_attributes() {
        let record_guild = GuildId::new(81384788765712384).unwrap();
        let cursor = Cursor {
            guild_id: record_guild,
            kind: KIND.to_owned(),
            allowlist_state: AllowlistState::Approved,
            updated_at: 17,
        }
        .encode()
        .unwrap();
        let key = Cursor::decode(&cursor, AllowlistState::Approved).unwrap();
        assert_eq!(key.len(), 4);
        assert_eq!(key["guild_id"], AttributeValue::S("81384788765712384".into()));
        assert_eq!(key["updated_at"], AttributeValue::N("17".into()));
        let err = Cursor::decode(&cursor, AllowlistState::Pending).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput);
    }

    #[test]
    fn a_cursor_naming_another_item_kind_is_refused() {
        let json = r#"{"guild_id":"5","kind":"allowlist#slots","allowlist_state":"pending","updated_at":1}"#;
        let err = Cursor::decode(&URL_SAFE_NO_PAD.encode(json), AllowlistState::Pending).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput);
    }
}
