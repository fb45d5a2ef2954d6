//! The SQLite file behind the embedded store adapters.
//!
//! One [`SqliteStore`] holds one connection; each repository port
//! (`queue_sqlite.rs`, `allowlist_sqlite.rs`) is implemented on it over its
//! own tables. Every guild table has the same shape: the guild id as key,
//! the optimistic-concurrency `version`, the item's `schema_version`, and the
//! item itself as JSON. The allowlist adds its audit trail
//! (`allowlist_events`, keyed by guild and `seq`) and a one-row
//! `allowlist_settings` holding the slot limit.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use timmybot_core::{GuildId, StoreError, StoreErrorKind};

/// How long a writer waits for another process's lock before failing as
/// unavailable. Only matters when two processes share one file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Tables, one per repository, created on open.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS guild_queues (
    guild_id       TEXT PRIMARY KEY NOT NULL,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    item           TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS guild_allowlist (
    guild_id       TEXT PRIMARY KEY NOT NULL,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    item           TEXT NOT NULL
) STRICT;
-- Serves the maintainers' list by state, newest change first; the
-- expressions must match the ones in allowlist_sqlite.rs word for word.
CREATE INDEX IF NOT EXISTS guild_allowlist_by_state ON guild_allowlist (
    json_extract(item, '$.state'),
    json_extract(item, '$.updated_at'),
    guild_id
);
CREATE TABLE IF NOT EXISTS allowlist_events (
    guild_id       TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    item           TEXT NOT NULL,
    PRIMARY KEY (guild_id, seq)
) STRICT;
-- One row at most (id 1): the deployment's allowlist settings.
CREATE TABLE IF NOT EXISTS allowlist_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    slot_limit INTEGER CHECK (slot_limit >= 0)
) STRICT;
";

/// A repository table; the names are constants, never input, so formatting
/// them into SQL is safe.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    GuildQueues,
    GuildAllowlist,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::GuildQueues => "guild_queues",
            Self::GuildAllowlist => "guild_allowlist",
        }
    }
}

/// A row as stored: the item JSON with its versions.
pub(crate) struct Row {
    pub(crate) version: u64,
    pub(crate) schema_version: u32,
    pub(crate) item: String,
}

/// An embedded store in one SQLite database (a file, or memory for tests).
///
/// Implements [`timmybot_core::QueueStore`] and
/// [`timmybot_core::AllowlistStore`]. Cheap to clone: clones share the
/// connection. rusqlite is blocking, so every call runs on tokio's blocking
/// pool and the returned futures stay `Send`; the connection sits behind a
/// mutex because one connection serves one call at a time.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, switches it to
    /// WAL and creates the tables.
    ///
    /// Blocking; call it once at startup.
    ///
    /// # Errors
    /// [`StoreErrorKind::Unavailable`] when the file cannot be opened or the
    /// schema cannot be created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let conn = Connection::open(path.as_ref()).map_err(unavailable)?;
        Self::init(conn)
    }

    /// A private database in memory, gone when the last clone drops.
    ///
    /// # Errors
    /// [`StoreErrorKind::Unavailable`] when SQLite cannot allocate it.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(unavailable)?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        // WAL lets readers in other processes (a backup, the CLI) read while
        // the bot writes. An in-memory database answers "memory": fine.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unavailable)?;
        // NORMAL is durable across application crashes in WAL mode; only a
        // power loss may drop the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-done write
            // behind (each statement is atomic, and a transaction dropped
            // while unwinding rolls back), so a poisoned lock is safe to
            // keep using.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|join| StoreError::with_source(StoreErrorKind::Unavailable, join))?
    }

    /// The guild's row in `table`, if any.
    pub(crate) async fn load_row(&self, table: Table, guild: GuildId) -> Result<Option<Row>, StoreError> {
        let sql = format!("SELECT version, schema_version, item FROM {} WHERE guild_id = ?1", table.name());
        self.call(move |conn| {
            let row = conn
                .query_row(&sql, params![guild.to_string()], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
                })
                .optional()
                .map_err(unavailable)?;
            row.map(|(version, schema_version, item)| {
                Ok(Row {
                    version: u64::try_from(version).map_err(corrupt)?,
                    schema_version: u32::try_from(schema_version).map_err(corrupt)?,
                    item,
                })
            })
            .transpose()
        })
        .await
    }

    /// Writes `item` as the guild's row if its stored version is `expected`
    /// (0 = no row); returns the new version.
    pub(crate) async fn save_row(
        &self,
        table: Table,
        guild: GuildId,
        expected: u64,
        item: String,
    ) -> Result<u64, StoreError> {
        let name = table.name();
        let new_version = expected.checked_add(1).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        let new_version_sql = i64::try_from(new_version).map_err(corrupt)?;
        let expected_sql = new_version_sql - 1;
        let schema_version = i64::from(timmybot_core::SCHEMA_VERSION);
        self.call(move |conn| {
            let changed = if expected == 0 {
                // Version 0 means "never saved": only an absent row matches.
                let sql = format!(
                    "INSERT INTO {name} (guild_id, version, schema_version, item) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (guild_id) DO NOTHING"
                );
                conn.execute(&sql, params![guild.to_string(), new_version_sql, schema_version, item])
            } else {
                let sql = format!(
                    "UPDATE {name} SET version = ?2, schema_version = ?3, item = ?4
                     WHERE guild_id = ?1 AND version = ?5"
                );
                conn.execute(&sql, params![guild.to_string(), new_version_sql, schema_version, item, expected_sql])
            }
            .map_err(unavailable)?;
            if changed == 1 { Ok(new_version) } else { Err(StoreError::new(StoreErrorKind::Conflict)) }
        })
        .await
    }

    /// Removes the guild's row from `table`, if any.
    pub(crate) async fn delete_row(&self, table: Table, guild: GuildId) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE guild_id = ?1", table.name());
        self.call(move |conn| conn.execute(&sql, params![guild.to_string()]).map(drop).map_err(unavailable)).await
    }
}

/// Checks a row's schema version and decodes its JSON item.
pub(crate) fn decode_item<T: serde::de::DeserializeOwned>(row: &Row) -> Result<T, StoreError> {
    // A newer layout was written by a newer build; reading it as ours could
    // silently drop fields on the next save.
    if row.schema_version > timmybot_core::SCHEMA_VERSION {
        return Err(StoreError::new(StoreErrorKind::Corrupt));
    }
    serde_json::from_str(&row.item).map_err(corrupt)
}

/// Encodes an item as JSON.
pub(crate) fn encode_item<T: serde::Serialize>(item: &T) -> Result<String, StoreError> {
    serde_json::to_string(item).map_err(corrupt)
}

pub(crate) fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::with_source(StoreErrorKind::Unavailable, e)
}

pub(crate) fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::{GuildQueue, QueueStore};

    fn guild() -> GuildId {
        GuildId::new(81384788765712384).unwrap()
    }

    async fn raw_insert(store: &SqliteStore, schema_version: i64, item: &str) {
        let item = item.to_owned();
        store
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO guild_queues (guild_id, version, schema_version, item) VALUES (?1, 1, ?2, ?3)",
                    params![guild().to_string(), schema_version, item],
                )
                .map(drop)
                .map_err(unavailable)
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn open_puts_a_file_database_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("db.sqlite3")).unwrap();
        let mode: String = store
            .call(|conn| conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(unavailable))
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn undecodable_item_is_corrupt() {
        let store = SqliteStore::in_memory().unwrap();
        raw_insert(&store, 1, "{not json").await;
        let err = store.load(guild()).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Corrupt);
    }

    #[tokio::test]
    async fn item_from_a_newer_schema_is_corrupt_not_misread() {
        let store = SqliteStore::in_memory().unwrap();
        let item = serde_json::to_string(&GuildQueue::empty(guild())).unwrap();
        raw_insert(&store, i64::from(timmybot_core::SCHEMA_VERSION) + 1, &item).await;
        let err = store.load(guild()).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Corrupt);
    }
}
