//! [`CommandLedger`] on SQLite: one row per command that took effect in
//! `command_ledger`, keyed by guild and interaction id, with `expires_at`
//! in Unix milliseconds.
//!
//! The record is one `INSERT … ON CONFLICT DO UPDATE … WHERE` the row there
//! expired: it changes a row only when none is alive, so of two recorders
//! exactly one sees a change. Expired rows are swept as the track cache's
//! are (`track_cache_sqlite.rs`): a bounded delete every so many records.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use timmybot_core::{CommandLedger, GuildId, InteractionId, StoreError};

use crate::sqlite_store::{SqliteStore, unavailable};
use crate::track_cache_sqlite::{SWEEP_EVERY, SWEEP_LIMIT, sql_millis, wall_clock_ms};

#[async_trait]
impl CommandLedger for SqliteStore {
    async fn record_ran(
        &self,
        guild: GuildId,
        interaction: InteractionId,
        now_ms: u64,
        expires_at_ms: u64,
    ) -> Result<bool, StoreError> {
        let (guild, interaction) = (guild.to_string(), interaction.to_string());
        let (now, expires_at) = (sql_millis(now_ms), sql_millis(expires_at_ms));
        let sweep = self.ledger_records.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_EVERY);
        self.call(move |conn| {
            let changed = conn
                .execute(
                    "INSERT INTO command_ledger (guild_id, interaction_id, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (guild_id, interaction_id) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE command_ledger.expires_at <= ?4",
                    params![guild, interaction, expires_at, now],
                )
                .map_err(unavailable)?;
            if sweep {
                conn.execute(
                    "DELETE FROM command_ledger WHERE rowid IN (
                         SELECT rowid FROM command_ledger WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
                    params![wall_clock_ms(), SWEEP_LIMIT],
                )
                .map_err(unavailable)?;
            }
            Ok(changed == 1)
        })
        .await
    }

    async fn already_ran(&self, guild: GuildId, interaction: InteractionId, now_ms: u64) -> Result<bool, StoreError> {
        let (guild, interaction) = (guild.to_string(), interaction.to_string());
        let now = sql_millis(now_ms);
        self.call(move |conn| {
            conn.query_row(
                "SELECT 1 FROM command_ledger WHERE guild_id = ?1 AND interaction_id = ?2 AND expires_at > ?3",
                params![guild, interaction, now],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(unavailable)
        })
        .await
    }
}
