//! [`GatewaySessionStore`] on SQLite: the saved sessions as one JSON item
//! in the one-row `gateway_sessions`, identifies as rows of
//! `gateway_identifies` trimmed to the newest [`IDENTIFY_HISTORY_LIMIT`].

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use timmybot_core::{
    GatewaySessionStore, IDENTIFY_HISTORY_LIMIT, SCHEMA_VERSION, SavedGatewaySessions, StoreError, StoreErrorKind,
};

use crate::sqlite_store::{SqliteStore, corrupt, decode_json, encode_item, unavailable};

fn millis(ms: u64) -> Result<i64, StoreError> {
    i64::try_from(ms).map_err(|e| StoreError::with_source(StoreErrorKind::InvalidInput, e))
}

#[async_trait]
impl GatewaySessionStore for SqliteStore {
    async fn save_sessions(&self, saved: &SavedGatewaySessions) -> Result<(), StoreError> {
        let item = encode_item(saved)?;
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO gateway_sessions (id, schema_version, item) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET schema_version = excluded.schema_version, item = excluded.item",
                params![SCHEMA_VERSION, item],
            )
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn take_sessions(&self) -> Result<Option<SavedGatewaySessions>, StoreError> {
        self.call(|conn| {
            // DELETE .. RETURNING reads and removes in one statement: two
            // tasks starting at once cannot both take the sessions.
            let row: Option<(u32, String)> = conn
                .query_row("DELETE FROM gateway_sessions WHERE id = 1 RETURNING schema_version, item", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(unavailable)?;
            match row {
                None => Ok(None),
                Some((schema, _)) if schema > SCHEMA_VERSION => Err(StoreError::new(StoreErrorKind::Corrupt)),
                Some((_, item)) => decode_json(&item).map(Some),
            }
        })
        .await
    }

    async fn record_identify(&self, at_ms: u64) -> Result<(), StoreError> {
        let at = millis(at_ms)?;
        self.call(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            tx.execute("INSERT INTO gateway_identifies (at_ms) VALUES (?1)", params![at]).map_err(unavailable)?;
            tx.execute(
                "DELETE FROM gateway_identifies WHERE rowid NOT IN
                 (SELECT rowid FROM gateway_identifies ORDER BY at_ms DESC, rowid DESC LIMIT ?1)",
                params![IDENTIFY_HISTORY_LIMIT as i64],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn identifies_since(&self, since_ms: u64) -> Result<usize, StoreError> {
        let since = millis(since_ms)?;
        self.call(move |conn| {
            let count: i64 = conn
                .query_row("SELECT COUNT(*) FROM gateway_identifies WHERE at_ms >= ?1", params![since], |r| r.get(0))
                .map_err(unavailable)?;
            usize::try_from(count).map_err(corrupt)
        })
        .await
    }
}
