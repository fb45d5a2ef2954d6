//! [`LinkStateStore`] on SQLite: one row per pending link in `link_states`;
//! a take is one `DELETE … RETURNING`, so two takes cannot both get it.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use timmybot_core::{LinkStateStore, PendingLink, StoreError, StoreErrorKind};

use crate::sqlite_store::{SqliteStore, corrupt, unavailable};

#[async_trait]
impl LinkStateStore for SqliteStore {
    async fn put_link_state(&self, pending: &PendingLink) -> Result<(), StoreError> {
        let item = serde_json::to_string(pending).map_err(corrupt)?;
        let state = pending.state.clone();
        let expires = i64::try_from(pending.expires_at_ms).map_err(corrupt)?;
        self.call(move |conn| {
            let added = conn
                .execute(
                    "INSERT INTO link_states (state, expires_at_ms, item) VALUES (?1, ?2, ?3)
                     ON CONFLICT (state) DO NOTHING",
                    params![state, expires, item],
                )
                .map_err(unavailable)?;
            if added != 1 {
                return Err(StoreError::new(StoreErrorKind::Conflict));
            }
            Ok(())
        })
        .await
    }

    async fn take_link_state(&self, state: &str, now_ms: u64) -> Result<Option<PendingLink>, StoreError> {
        let state = state.to_owned();
        self.call(move |conn| {
            let row: Option<(i64, String)> = conn
                .query_row(
                    "DELETE FROM link_states WHERE state = ?1 RETURNING expires_at_ms, item",
                    params![state],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let Some((expires, item)) = row else { return Ok(None) };
            if u64::try_from(expires).map_err(corrupt)? <= now_ms {
                return Ok(None);
            }
            let pending: PendingLink = serde_json::from_str(&item).map_err(corrupt)?;
            if pending.state != state {
                return Err(StoreError::new(StoreErrorKind::Corrupt));
            }
            Ok(Some(pending))
        })
        .await
    }
}
