//! [`TrackCache`] on SQLite: one row per key in `track_cache`, the key as
//! given (SQLite holds text of any length, so no hashing), the value, and
//! `expires_at` in Unix milliseconds.
//!
//! Reads skip expired rows themselves. Nothing deletes a row when it
//! expires, so every [`SWEEP_EVERY`]th put also deletes up to
//! [`SWEEP_LIMIT`] rows expired by the wall clock, oldest first, through the
//! expiry index: the table stays about as large as what is alive, and no put
//! pays for more than a bounded delete.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use timmybot_core::{StoreError, TrackCache, check_track_cache_key, check_track_cache_value};

use crate::sqlite_store::{SqliteStore, unavailable};

/// A put sweeps expired rows once per this many puts (the first one
/// included, so a file reopened after a long pause is swept at once).
pub(crate) const SWEEP_EVERY: u64 = 64;

/// The most expired rows one sweep deletes.
pub(crate) const SWEEP_LIMIT: i64 = 256;

/// Unix milliseconds as SQLite's signed integer; times past `i64::MAX` ms
/// (some 292 million years) are "never" either way.
pub(crate) fn sql_millis(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// The wall clock in Unix milliseconds, for the sweep only: reads use the
/// caller's `now_ms`. A caller whose clock runs behind the wall clock may
/// see an entry swept a little early, which is a cache miss, never a wrong
/// value.
pub(crate) fn wall_clock_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[async_trait]
impl TrackCache for SqliteStore {
    async fn get(&self, key: &str, now_ms: u64) -> Result<Option<String>, StoreError> {
        check_track_cache_key(key)?;
        let key = key.to_owned();
        let now = sql_millis(now_ms);
        self.call(move |conn| {
            conn.query_row("SELECT value FROM track_cache WHERE key = ?1 AND expires_at > ?2", params![key, now], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn put(&self, key: &str, value: &str, expires_at_ms: u64) -> Result<(), StoreError> {
        check_track_cache_key(key)?;
        check_track_cache_value(value)?;
        let (key, value) = (key.to_owned(), value.to_owned());
        let expires_at = sql_millis(expires_at_ms);
        let sweep = self.cache_puts.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_EVERY);
        let swept = self
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO track_cache (key, value, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                    params![key, value, expires_at],
                )
                .map_err(unavailable)?;
                if !sweep {
                    return Ok(0);
                }
                conn.execute(
                    "DELETE FROM track_cache WHERE key IN (
                         SELECT key FROM track_cache WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
                    params![wall_clock_ms(), SWEEP_LIMIT],
                )
                .map_err(unavailable)
            })
            .await?;
        if swept > 0 {
            tracing::debug!(swept, table = "track_cache", "expired cache rows deleted");
        }
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        check_track_cache_key(key)?;
        let key = key.to_owned();
        self.call(move |conn| {
            conn.execute("DELETE FROM track_cache WHERE key = ?1", params![key]).map(drop).map_err(unavailable)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count(store: &SqliteStore, sql: &'static str) -> i64 {
        store.call(move |conn| conn.query_row(sql, [], |r| r.get(0)).map_err(unavailable)).await.unwrap()
    }

    async fn expired_rows(store: &SqliteStore) -> i64 {
        count(store, "SELECT count(*) FROM track_cache WHERE expires_at = 1").await
    }

    /// 300 rows long expired: the first put deletes 256 of them, the next 63
    /// puts none, the 64th the remaining 44; live rows are never touched.
    #[tokio::test]
    async fn puts_sweep_expired_rows_a_bounded_number_at_a_time() {
        let store = SqliteStore::in_memory().unwrap();
        store
            .call(|conn| {
                conn.execute_batch(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
                     INSERT INTO track_cache (key, value, expires_at) SELECT 'old' || i, '{}', 1 FROM n;",
                )
                .map_err(unavailable)
            })
            .await
            .unwrap();
        let live = u64::try_from(wall_clock_ms()).unwrap() + 3_600_000;
        store.put("live-0", "{}", live).await.unwrap();
        assert_eq!(expired_rows(&store).await, 300 - SWEEP_LIMIT);
        for i in 1..SWEEP_EVERY {
            store.put(&format!("live-{i}"), "{}", live).await.unwrap();
        }
        assert_eq!(expired_rows(&store).await, 300 - SWEEP_LIMIT, "no sweep between the 1st and the 64th put");
        store.put("live-64", "{}", live).await.unwrap();
        assert_eq!(expired_rows(&store).await, 0);
        assert_eq!(count(&store, "SELECT count(*) FROM track_cache").await, 65, "every live row stays");
    }

    /// The sweep's inner select reads the expiry index, not the whole table.
    #[tokio::test]
    async fn the_sweep_uses_the_expiry_index() {
        let store = SqliteStore::in_memory().unwrap();
        let plan: Vec<String> = store
            .call(|conn| {
                let mut stmt = conn
                    .prepare(
                        "EXPLAIN QUERY PLAN DELETE FROM track_cache WHERE key IN (
                             SELECT key FROM track_cache WHERE expires_at <= 5 ORDER BY expires_at LIMIT 10)",
                    )
                    .map_err(unavailable)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3)).map_err(unavailable)?;
                rows.collect::<Result<_, _>>().map_err(unavailable)
            })
            .await
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("track_cache_by_expiry")), "{plan:?}");
    }

    /// A file from before the cache gets the table on open, and keeps its data.
    #[tokio::test]
    async fn opening_a_file_from_before_the_cache_adds_its_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE guild_settings (
                guild_id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL,
                schema_version INTEGER NOT NULL, item TEXT NOT NULL) STRICT;
             INSERT INTO guild_settings VALUES ('1', 4, 1, '{}');",
        )
        .unwrap();
        drop(old);
        let store = SqliteStore::open(&path).unwrap();
        store.put("https://example.com/a", "{\"t\":1}", u64::MAX).await.unwrap();
        assert_eq!(store.get("https://example.com/a", 0).await.unwrap().as_deref(), Some("{\"t\":1}"));
        assert_eq!(count(&store, "SELECT version FROM guild_settings WHERE guild_id = '1'").await, 4);
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.get("https://example.com/a", 0).await.unwrap().as_deref(), Some("{\"t\":1}"));
    }
}
