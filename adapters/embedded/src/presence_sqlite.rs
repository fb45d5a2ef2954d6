//! [`GatewayPresence`] on SQLite: the two deployment-wide rows of
//! `gateway_presence`, `heartbeat` (the last beat's time) and `starting`
//! (the starting marker's deadline); and `start_waiters`, one row per
//! member waiting on a start.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use timmybot_core::{GatewayPresence, Secret, StartWaiter, StoreError, StoreErrorKind};

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

    async fn add_waiter(&self, waiter: &StartWaiter) -> Result<(), StoreError> {
        let expires = millis(waiter.expires_ms)?;
        let (interaction, application) = (waiter.interaction.to_string(), waiter.application.to_string());
        let token = waiter.token.expose().to_owned();
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO start_waiters (interaction_id, application_id, token, expires_ms)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (interaction_id) DO NOTHING",
                params![interaction, application, token, expires],
            )
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn take_waiters(&self, now_ms: u64) -> Result<Vec<StartWaiter>, StoreError> {
        let now = millis(now_ms)?;
        self.call(move |conn| {
            // Read and delete in one transaction: two checks never both
            // take the same member.
            let tx = conn.transaction().map_err(unavailable)?;
            let rows: Vec<(String, String, String, i64)> = {
                let mut select = tx
                    .prepare(
                        "SELECT interaction_id, application_id, token, expires_ms FROM start_waiters
                         ORDER BY interaction_id",
                    )
                    .map_err(unavailable)?;
                select
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?
            };
            tx.execute("DELETE FROM start_waiters", []).map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            let mut waiters = Vec::new();
            for (interaction, application, token, expires) in rows {
                if expires < now {
                    continue;
                }
                waiters.push(StartWaiter {
                    interaction: interaction.parse().map_err(corrupt)?,
                    application: application.parse().map_err(corrupt)?,
                    token: Secret::new(token),
                    expires_ms: u64::try_from(expires).map_err(corrupt)?,
                });
            }
            Ok(waiters)
        })
        .await
    }
}
