//! [`GatewayPresence`] on SQLite: the two deployment-wide rows of
//! `gateway_presence`, `heartbeat` (the last beat's time) and `starting`
//! (the starting marker's deadline).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use timmybot_core::{GatewayPresence, StoreError, StoreErrorKind};

use crate::sqlite_store::{SqliteStore, corrupt, unavailable};

const HEARTBEAT: &str = "heartbeat";
const STARTING: &str = "starting";

fn millis(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|e| StoreError::with_source(StoreErrorKind::InvalidInput, e))
}

impl SqliteStore {
    async fn presence_row(&self, name: &'static str) -> Result<Option<u64>, StoreError> {
        self.call(move |conn| {
            let at: Option<i64> = conn
                .query_row("SELECT at_ms FROM gateway_presence WHERE name = ?1", params![name], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            at.map(|at| u64::try_from(at).map_err(corrupt)).transpose()
        })
        .await
    }

    async fn delete_presence_row(&self, name: &'static str) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute("DELETE FROM gateway_presence WHERE name = ?1", params![name]).map(drop).map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl GatewayPresence for SqliteStore {
    async fn beat(&self, at_ms: u64) -> Result<(), StoreError> {
        let at = millis(at_ms)?;
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO gateway_presence (name, at_ms) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET at_ms = excluded.at_ms",
                params![HEARTBEAT, at],
            )
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn last_beat(&self) -> Result<Option<u64>, StoreError> {
        self.presence_row(HEARTBEAT).await
    }

    async fn clear_beat(&self) -> Result<(), StoreError> {
        self.delete_presence_row(HEARTBEAT).await
    }

    async fn claim_start(&self, now_ms: u64, deadline_ms: u64) -> Result<bool, StoreError> {
        let (now, deadline) = (millis(now_ms)?, millis(deadline_ms)?);
        self.call(move |conn| {
            // One statement: the check and the write are atomic.
            let changed = conn
                .execute(
                    "INSERT INTO gateway_presence (name, at_ms) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET at_ms = excluded.at_ms WHERE gateway_presence.at_ms < ?3",
                    params![STARTING, deadline, now],
                )
                .map_err(unavailable)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn start_deadline(&self) -> Result<Option<u64>, StoreError> {
        self.presence_row(STARTING).await
    }

    async fn clear_start(&self) -> Result<(), StoreError> {
        self.delete_presence_row(STARTING).await
    }
}
