//! The SQLite file behind the embedded store adapters.
//!
//! One [`SqliteStore`] holds one connection; each repository port
//! (`player_sqlite.rs`, `settings_sqlite.rs`, `allowlist_sqlite.rs`) is
//! implemented on it over its own tables. Every guild table has the same
//! shape: the guild id as key, the optimistic-concurrency `version`, the
//! item's `schema_version`, and the item itself as JSON. The players' table
//! (`guild_queues`, named before the queue engine) adds an `active` flag
//! with a partial index for `active_guilds`, and a one-row `player_alive`
//! holds the alive mark. The allowlist adds its audit trail
//! (`allowlist_events`, keyed by guild and `seq`) and a one-row
//! `allowlist_settings` holding the slot limit. The track cache
//! (`track_cache_sqlite.rs`) is the one table not keyed by guild: a key, a
//! value and an expiry time. The gateway's presence (`presence_sqlite.rs`)
//! is two named rows of `gateway_presence`.
//! The command ledger (`ledger_sqlite.rs`) keeps `(guild, interaction id)`
//! pairs with an expiry. Members' linked accounts and playlists
//! (`accounts_sqlite.rs`, `playlists_sqlite.rs`) are keyed by member.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};
use timmybot_core::{GuildId, StoreError, StoreErrorKind};

/// How long a writer waits for another process's lock before failing as
/// unavailable. Only matters when two processes share one file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Tables, one per repository, created on open.
const SCHEMA: &str = "
-- One player per guild. `active` mirrors PlayerState::is_active for the
-- partial index below; files from before the queue engine get the column
-- from `add_active_column` (their schema-1 rows are never active).
CREATE TABLE IF NOT EXISTS guild_queues (
    guild_id       TEXT PRIMARY KEY NOT NULL,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    item           TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
) STRICT;
-- One row at most (id 1): when the deployment's players were last alive.
CREATE TABLE IF NOT EXISTS player_alive (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms          INTEGER NOT NULL,
    schema_version INTEGER NOT NULL
) STRICT;
-- The gateway's presence (presence_sqlite.rs): rows `heartbeat` and `starting`.
CREATE TABLE IF NOT EXISTS gateway_presence (
    name  TEXT PRIMARY KEY NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;
-- Members' linked accounts, tokens sealed (accounts_sqlite.rs).
CREATE TABLE IF NOT EXISTS linked_accounts (
    user_id  TEXT NOT NULL,
    provider TEXT NOT NULL,
    version  INTEGER NOT NULL,
    item     TEXT NOT NULL,
    PRIMARY KEY (user_id, provider)
) STRICT;
-- Pending account links by their OAuth state (link_state_sqlite.rs).
CREATE TABLE IF NOT EXISTS link_states (
    state         TEXT PRIMARY KEY NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    item          TEXT NOT NULL
) STRICT;
-- Members' playlists, one row each, the entries as one JSON array
-- (playlists_sqlite.rs); `key` is the name's case-folded key.
CREATE TABLE IF NOT EXISTS member_playlists (
    user_id       TEXT NOT NULL,
    key           TEXT NOT NULL,
    name          TEXT NOT NULL,
    origin        TEXT NOT NULL,
    tracks        INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    entries       TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT;
-- Members whose reply says the player is starting (presence_sqlite.rs).
CREATE TABLE IF NOT EXISTS start_waiters (
    interaction_id TEXT PRIMARY KEY NOT NULL,
    application_id TEXT NOT NULL,
    token          TEXT NOT NULL,
    expires_ms     INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS guild_settings (
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
-- What links and searches resolved to, deployment-wide (no guild data).
-- `expires_at` is Unix milliseconds; reads skip rows past it and puts
-- sweep a bounded number of them through the index below.
CREATE TABLE IF NOT EXISTS track_cache (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS track_cache_by_expiry ON track_cache (expires_at);
-- The command ledger: one row per bus command that took effect, so a
-- redelivery does not run it again. `expires_at` is Unix milliseconds, as
-- in the track cache, swept the same way.
CREATE TABLE IF NOT EXISTS command_ledger (
    guild_id       TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, interaction_id)
) STRICT;
CREATE INDEX IF NOT EXISTS command_ledger_by_expiry ON command_ledger (expires_at);
-- One row at most (id 1): the gateway sessions a stopping task left, as
-- one JSON item (SavedGatewaySessions).
CREATE TABLE IF NOT EXISTS gateway_sessions (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL,
    item           TEXT NOT NULL
) STRICT;
-- When shards identified (Unix milliseconds), the newest few hundred.
CREATE TABLE IF NOT EXISTS gateway_identifies (
    at_ms INTEGER NOT NULL
) STRICT;
";

/// Serves `active_guilds`: only active rows are in it, so the lookup reads
/// the index alone. Created after `add_active_column`, since an older file's
/// table has no `active` column until then.
const ACTIVE_INDEX: &str = "
CREATE INDEX IF NOT EXISTS guild_queues_active ON guild_queues (guild_id) WHERE active = 1;
";

/// A repository table; the names are constants, never input, so formatting
/// them into SQL is safe.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    /// `guild_queues`: one player per guild.
    Players,
    /// `guild_allowlist`: one allowlist record per guild.
    Allowlist,
    /// `guild_settings`: one settings item per guild.
    Settings,
}

impl Table {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Players => "guild_queues",
            Self::Allowlist => "guild_allowlist",
            Self::Settings => "guild_settings",
        }
    }
}

/// A row as stored: the item JSON with its versions.
pub(crate) struct Row {
    pub(crate) version: u64,
    pub(crate) schema_version: u32,
    pub(crate) item: String,
}

/// A row to write: the item JSON, the layout it is in, and for the players'
/// table the `active` flag (`None` for tables without one).
pub(crate) struct NewRow {
    pub(crate) schema_version: u32,
    pub(crate) item: String,
    pub(crate) active: Option<bool>,
}

/// An embedded store in one SQLite database (a file, or memory for tests).
///
/// Implements [`timmybot_core::PlayerStore`],
/// [`timmybot_core::SettingsStore`], [`timmybot_core::AllowlistStore`],
/// [`timmybot_core::TrackCache`], [`timmybot_core::GatewayPresence`] and
/// [`timmybot_core::CommandLedger`]. Cheap to clone: clones share the
/// connection. rusqlite is blocking, so every call runs on tokio's blocking
/// pool and the returned futures stay `Send`; the connection sits behind a
/// mutex because one connection serves one call at a time.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Track cache puts so far, shared by clones: every so many, a put also
    /// sweeps expired rows (`track_cache_sqlite.rs`).
    pub(crate) cache_puts: Arc<AtomicU64>,
    /// Command ledger records so far, shared by clones: every so many, a
    /// record also sweeps expired rows (`ledger_sqlite.rs`).
    pub(crate) ledger_records: Arc<AtomicU64>,
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

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        // WAL lets readers in other processes (a backup, the CLI) read while
        // the bot writes. An in-memory database answers "memory": fine.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unavailable)?;
        // NORMAL is durable across application crashes in WAL mode; only a
        // power loss may drop the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        add_active_column(&mut conn)?;
        conn.execute_batch(ACTIVE_INDEX).map_err(unavailable)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            cache_puts: Arc::new(AtomicU64::new(0)),
            ledger_records: Arc::new(AtomicU64::new(0)),
        })
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

    /// Writes `row` as the guild's row if its stored version is `expected`
    /// (0 = no row); returns the new version.
    pub(crate) async fn save_row(
        &self,
        table: Table,
        guild: GuildId,
        expected: u64,
        row: NewRow,
    ) -> Result<u64, StoreError> {
        let name = table.name();
        let new_version = expected.checked_add(1).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        let new_version_sql = i64::try_from(new_version).map_err(corrupt)?;
        let expected_sql = new_version_sql - 1;
        let NewRow { schema_version, item, active } = row;
        let schema_version = i64::from(schema_version);
        let guild = guild.to_string();
        self.call(move |conn| {
            // The flag is the last parameter, and only in tables that have it.
            let active = active.map(i64::from);
            let changed = if expected == 0 {
                // Version 0 means "never saved": only an absent row matches.
                let (column, value) = if active.is_some() { (", active", ", ?5") } else { ("", "") };
                let sql = format!(
                    "INSERT INTO {name} (guild_id, version, schema_version, item{column})
                     VALUES (?1, ?2, ?3, ?4{value})
                     ON CONFLICT (guild_id) DO NOTHING"
                );
                let mut values: Vec<&dyn ToSql> = vec![&guild, &new_version_sql, &schema_version, &item];
                values.extend(active.as_ref().map(|a| a as &dyn ToSql));
                conn.execute(&sql, params_from_iter(values))
            } else {
                let set = if active.is_some() { ", active = ?6" } else { "" };
                let sql = format!(
                    "UPDATE {name} SET version = ?2, schema_version = ?3, item = ?4{set}
                     WHERE guild_id = ?1 AND version = ?5"
                );
                let mut values: Vec<&dyn ToSql> = vec![&guild, &new_version_sql, &schema_version, &item, &expected_sql];
                values.extend(active.as_ref().map(|a| a as &dyn ToSql));
                conn.execute(&sql, params_from_iter(values))
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

/// Gives a `guild_queues` table from before the queue engine its `active`
/// column. Inside one write transaction, so two processes opening an old
/// file at once add it once.
fn add_active_column(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
    let present: i64 = tx
        .query_row("SELECT count(*) FROM pragma_table_info('guild_queues') WHERE name = 'active'", [], |r| r.get(0))
        .map_err(unavailable)?;
    if present == 0 {
        tx.execute_batch(
            "ALTER TABLE guild_queues ADD COLUMN active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))",
        )
        .map_err(unavailable)?;
        tracing::info!(table = "guild_queues", "added the active column");
    }
    tx.commit().map_err(unavailable)
}

/// Checks a row's schema version against [`timmybot_core::SCHEMA_VERSION`]
/// and decodes its JSON item.
pub(crate) fn decode_item<T: serde::de::DeserializeOwned>(row: &Row) -> Result<T, StoreError> {
    // A newer layout was written by a newer build; reading it as ours could
    // silently drop fields on the next save.
    if row.schema_version > timmybot_core::SCHEMA_VERSION {
        return Err(StoreError::new(StoreErrorKind::Corrupt));
    }
    decode_json(&row.item)
}

/// Decodes a JSON item whose schema version the caller checked.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(item: &str) -> Result<T, StoreError> {
    serde_json::from_str(item).map_err(corrupt)
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

    /// A file written before the queue engine has a `guild_queues` table
    /// without `active`: opening it adds the column (rows inactive) and the
    /// index, and keeps the rows.
    #[tokio::test]
    async fn opening_a_file_from_before_the_queue_engine_adds_the_active_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE guild_queues (
                guild_id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL,
                schema_version INTEGER NOT NULL, item TEXT NOT NULL) STRICT;
             INSERT INTO guild_queues VALUES ('1', 3, 1, '{}');",
        )
        .unwrap();
        drop(old);
        for _ in 0..2 {
            let store = SqliteStore::open(&path).unwrap();
            let (active, version): (i64, i64) = store
                .call(|conn| {
                    conn.query_row("SELECT active, version FROM guild_queues WHERE guild_id = '1'", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .map_err(unavailable)
                })
                .await
                .unwrap();
            assert_eq!((active, version), (0, 3));
        }
    }
}
