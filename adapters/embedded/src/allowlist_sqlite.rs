//! [`AllowlistStore`] on SQLite: one row per guild in `guild_allowlist`, the
//! audit trail in `allowlist_events`, the slot limit in `allowlist_settings`.
//!
//! Every change runs in one `IMMEDIATE` transaction (the write lock is taken
//! before the version is read), so the version check, the slot check and
//! the writes see one state even when another process shares the file.
//!
//! The approved count is not stored: it is counted from the records'
//! states inside the transaction, so it can never drift from them. A
//! `Release` therefore needs no bookkeeping and cannot go below zero; the
//! change's slot effect is checked against its new state instead (see
//! [`AllowlistChange::check`](timmybot_core::AllowlistChange::check)), so the count moves exactly as the DynamoDB adapter's
//! counter does.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use timmybot_core::{
    AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, AllowlistStore, GuildId,
    SlotEffect, SlotUsage, StoreError, StoreErrorKind,
};

use crate::sqlite_store::{Row, SqliteStore, Table, corrupt, decode_item, encode_item, unavailable};

/// The most records one `list` page holds.
const MAX_PAGE: usize = 100;

/// Longer cursors were not handed out by this store; refusing them early
/// keeps decoding cheap whatever a caller sends.
const MAX_CURSOR_LEN: usize = 512;

/// Counts approved guilds; the expression matches the `guild_allowlist_by_state` index.
const COUNT_APPROVED: &str = "SELECT count(*) FROM guild_allowlist WHERE json_extract(item, '$.state') = 'approved'";

/// A page of one state, newest first; `?2`, `?3` = the last row of the
/// previous page. The expressions match the `guild_allowlist_by_state`
/// index, so SQLite walks the index instead of scanning.
const LIST_AFTER: &str = "
    SELECT version, schema_version, item FROM guild_allowlist
    WHERE json_extract(item, '$.state') = ?1
      AND (json_extract(item, '$.updated_at'), guild_id) < (?2, ?3)
    ORDER BY json_extract(item, '$.updated_at') DESC, guild_id DESC
    LIMIT ?4";

/// The first page of one state, newest first.
const LIST_FIRST: &str = "
    SELECT version, schema_version, item FROM guild_allowlist
    WHERE json_extract(item, '$.state') = ?1
    ORDER BY json_extract(item, '$.updated_at') DESC, guild_id DESC
    LIMIT ?2";

/// Where the next page starts: the last record of the previous one. The
/// state is included so a cursor of one list is refused by another.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    state: AllowlistState,
    updated_at: u64,
    guild_id: GuildId,
}

impl Cursor {
    fn encode(&self) -> Result<String, StoreError> {
        Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).map_err(corrupt)?))
    }

    /// Decodes a cursor handed out for `state`; anything else is invalid
    /// input, whatever it contains.
    fn decode(cursor: &str, state: AllowlistState) -> Result<Self, StoreError> {
        let invalid = || StoreError::new(StoreErrorKind::InvalidInput);
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let bytes =
            URL_SAFE_NO_PAD.decode(cursor).map_err(|e| StoreError::with_source(StoreErrorKind::InvalidInput, e))?;
        let decoded: Self =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::with_source(StoreErrorKind::InvalidInput, e))?;
        // SQLite integers are signed; a larger timestamp was never stored.
        if decoded.state != state || i64::try_from(decoded.updated_at).is_err() {
            return Err(invalid());
        }
        Ok(decoded)
    }
}

fn to_sql_int(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|e| StoreError::with_source(StoreErrorKind::InvalidInput, e))
}

fn from_sql_int(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(corrupt)
}

fn slot_limit(tx: &Transaction<'_>) -> Result<Option<u64>, StoreError> {
    let limit: Option<Option<i64>> = tx
        .query_row("SELECT slot_limit FROM allowlist_settings WHERE id = 1", [], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    limit.flatten().map(from_sql_int).transpose()
}

fn approved_count(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    from_sql_int(tx.query_row(COUNT_APPROVED, [], |r| r.get(0)).map_err(unavailable)?)
}

fn slot_usage(tx: &Transaction<'_>) -> Result<SlotUsage, StoreError> {
    Ok(SlotUsage { approved: approved_count(tx)?, limit: slot_limit(tx)? })
}

/// Decodes a `guild_allowlist` row; the version column is what conditional
/// writes compare against, so it wins over the item's copy.
fn decode_record(row: &Row, guild: Option<GuildId>) -> Result<AllowlistRecord, StoreError> {
    let mut record: AllowlistRecord = decode_item(row)?;
    // The row is keyed by guild; an item naming another guild was not
    // written by this adapter.
    if guild.is_some_and(|g| g != record.guild_id) {
        return Err(StoreError::new(StoreErrorKind::Corrupt));
    }
    record.version = row.version;
    Ok(record)
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn to_row((version, schema_version, item): (i64, i64, String)) -> Result<Row, StoreError> {
    Ok(Row { version: from_sql_int(version)?, schema_version: u32::try_from(schema_version).map_err(corrupt)?, item })
}

#[async_trait]
impl AllowlistStore for SqliteStore {
    async fn get(&self, guild: GuildId) -> Result<Option<AllowlistRecord>, StoreError> {
        let Some(row) = self.load_row(Table::Allowlist, guild).await? else {
            return Ok(None);
        };
        decode_record(&row, Some(guild)).map(Some)
    }

    async fn apply(&self, change: &AllowlistChange) -> Result<u64, StoreError> {
        let new_version = change.check()?;
        let guild = change.record.guild_id;
        let expected = change.record.version;
        let stored = AllowlistRecord { version: new_version, ..change.record.clone() };
        let item = encode_item(&stored)?;
        let event =
            change.event.as_ref().map(|e| Ok::<_, StoreError>((to_sql_int(e.seq)?, encode_item(e)?))).transpose()?;
        let (new_version_sql, expected_sql) = (to_sql_int(new_version)?, to_sql_int(expected)?);
        let slot = change.slot;
        let schema_version = i64::from(timmybot_core::SCHEMA_VERSION);

        self.call(move |conn| {
            let guild_id = guild.to_string();
            // IMMEDIATE takes the write lock now, so no other connection
            // writes between the checks below and the commit.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let current: Option<i64> = tx
                .query_row("SELECT version FROM guild_allowlist WHERE guild_id = ?1", params![guild_id], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            // Version 0 only creates: a writer holding a version of a record
            // that is gone must not bring it back.
            let matches = match current {
                None => expected == 0,
                Some(current) => expected != 0 && current == expected_sql,
            };
            if !matches {
                return Err(StoreError::new(StoreErrorKind::Conflict));
            }
            if slot == (SlotEffect::Take { force: false })
                && let Some(limit) = slot_limit(&tx)?
                && approved_count(&tx)? >= limit
            {
                return Err(StoreError::new(StoreErrorKind::LimitReached));
            }
            if expected == 0 {
                tx.execute(
                    "INSERT INTO guild_allowlist (guild_id, version, schema_version, item) VALUES (?1, ?2, ?3, ?4)",
                    params![guild_id, new_version_sql, schema_version, item],
                )
            } else {
                tx.execute(
                    "UPDATE guild_allowlist SET version = ?2, schema_version = ?3, item = ?4 WHERE guild_id = ?1",
                    params![guild_id, new_version_sql, schema_version, item],
                )
            }
            .map_err(unavailable)?;
            if let Some((seq, event)) = event {
                tx.execute(
                    "INSERT INTO allowlist_events (guild_id, seq, schema_version, item) VALUES (?1, ?2, ?3, ?4)",
                    params![guild_id, seq, schema_version, event],
                )
                .map_err(|e| match e.sqlite_error_code() {
                    // An event at this seq exists although the record was at
                    // the expected version: someone else's history; do not
                    // overwrite it.
                    Some(ErrorCode::ConstraintViolation) => StoreError::with_source(StoreErrorKind::Conflict, e),
                    _ => unavailable(e),
                })?;
            }
            // Dropping an uncommitted transaction (any `?` above) rolls it
            // back, so a refused change writes nothing.
            tx.commit().map_err(unavailable)?;
            Ok(())
        })
        .await?;
        tracing::debug!(guild_id = %guild, version = new_version, table = "guild_allowlist", "allowlist change applied");
        Ok(new_version)
    }

    async fn history(&self, guild: GuildId, limit: usize) -> Result<Vec<AllowlistEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT seq, schema_version, item FROM allowlist_events
                     WHERE guild_id = ?1 ORDER BY seq DESC LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![guild.to_string(), limit], read_row)
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|raw| {
                    // The first column is `seq`, read into the row's `version`.
                    let row = to_row(raw)?;
                    let event: AllowlistEvent = decode_item(&row)?;
                    // The key columns are what orders and partitions the trail.
                    if event.guild_id != guild || event.seq != row.version {
                        return Err(StoreError::new(StoreErrorKind::Corrupt));
                    }
                    Ok(event)
                })
                .collect()
        })
        .await
    }

    async fn list(
        &self,
        state: AllowlistState,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AllowlistPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let after = cursor.map(|c| Cursor::decode(c, state)).transpose()?;
        // One more than asked tells whether another page follows, so the
        // last page carries no cursor.
        let fetch = to_sql_int(limit as u64 + 1)?;
        let rows = self
            .call(move |conn| {
                let rows = match after {
                    Some(after) => {
                        let updated_at = to_sql_int(after.updated_at)?;
                        let mut statement = conn.prepare_cached(LIST_AFTER).map_err(unavailable)?;
                        statement
                            .query_map(params![state.as_str(), updated_at, after.guild_id.to_string(), fetch], read_row)
                            .map_err(unavailable)?
                            .collect::<Result<Vec<_>, _>>()
                    }
                    None => {
                        let mut statement = conn.prepare_cached(LIST_FIRST).map_err(unavailable)?;
                        statement
                            .query_map(params![state.as_str(), fetch], read_row)
                            .map_err(unavailable)?
                            .collect::<Result<Vec<_>, _>>()
                    }
                };
                rows.map_err(unavailable)
            })
            .await?;
        let mut records =
            rows.into_iter().map(|raw| decode_record(&to_row(raw)?, None)).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if records.len() > limit {
            records.truncate(limit);
            let last = records.last().expect("limit is at least 1");
            Some(Cursor { state, updated_at: last.updated_at, guild_id: last.guild_id }.encode()?)
        } else {
            None
        };
        Ok(AllowlistPage { records, next_cursor })
    }

    async fn slot_usage(&self) -> Result<SlotUsage, StoreError> {
        self.call(|conn| {
            // A read transaction: the count and the limit from one snapshot.
            let tx = conn.transaction().map_err(unavailable)?;
            slot_usage(&tx)
        })
        .await
    }

    async fn set_slot_limit(&self, limit: Option<u64>) -> Result<SlotUsage, StoreError> {
        let limit_sql = limit.map(to_sql_int).transpose()?;
        let usage = self
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
                tx.execute(
                    "INSERT INTO allowlist_settings (id, slot_limit) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET slot_limit = excluded.slot_limit",
                    params![limit_sql],
                )
                .map_err(unavailable)?;
                let usage = slot_usage(&tx)?;
                tx.commit().map_err(unavailable)?;
                Ok(usage)
            })
            .await?;
        tracing::info!(limit = ?usage.limit, approved = usage.approved, "allowlist slot limit set");
        Ok(usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn list_uses_the_state_index_not_a_scan() {
        let store = SqliteStore::in_memory().unwrap();
        let plan: Vec<String> = store
            .call(|conn| {
                let sql = format!("EXPLAIN QUERY PLAN {LIST_AFTER}");
                let mut statement = conn.prepare(&sql).map_err(unavailable)?;
                statement
                    .query_map(params!["pending", 1, "1", 2], |r| r.get::<_, String>(3))
                    .map_err(unavailable)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(unavailable)
            })
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("guild_allowlist_by_state"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "ordered by the index, not sorted: {plan}");
    }

    #[test]
    fn a_cursor_round_trips_and_names_its_state() {
        let guild = GuildId::new(81384788765712384).unwrap();
        let cursor = Cursor { state: AllowlistState::Denied, updated_at: 7, guild_id: guild }.encode().unwrap();
        let decoded = Cursor::decode(&cursor, AllowlistState::Denied).unwrap();
        assert_eq!((decoded.updated_at, decoded.guild_id), (7, guild));
        let err = Cursor::decode(&cursor, AllowlistState::Pending).err().unwrap();
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput);
    }
}
