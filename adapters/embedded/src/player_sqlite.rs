//! [`PlayerStore`] on SQLite: one row per guild in `guild_queues`, the whole
//! [`PlayerState`] as one JSON item (SQLite has no item size limit), the
//! `active` column feeding the partial index `guild_queues_active`, and the
//! alive mark in the one-row `player_alive`.
//!
//! Rows of schema 1 (the queue before the queue engine: a current track and
//! the waiting ones) are read through [`PlayerState::from_legacy`]; the next
//! save rewrites them in schema 2.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use timmybot_core::player::{LegacyTrack, PlayerState};
use timmybot_core::{GuildId, PLAYER_SCHEMA_VERSION, PlayerStore, StoreError, StoreErrorKind};

use crate::sqlite_store::{NewRow, Row, SqliteStore, Table, corrupt, decode_json, encode_item, unavailable};

/// The guilds whose player is active; served by `guild_queues_active`
/// (the condition must stay the index's `WHERE` word for word).
pub(crate) const ACTIVE_GUILDS: &str = "SELECT guild_id FROM guild_queues WHERE active = 1";

/// The queue as schema 1 stored it.
#[derive(Deserialize)]
struct LegacyQueue {
    guild_id: GuildId,
    #[serde(default)]
    now_playing: Option<LegacyTrack>,
    #[serde(default)]
    upcoming: Vec<LegacyTrack>,
}

/// Decodes a `guild_queues` row of `guild`, whatever schema it is in.
fn decode_player(row: &Row, guild: GuildId) -> Result<PlayerState, StoreError> {
    let mut state = match row.schema_version {
        1 => {
            let legacy: LegacyQueue = decode_json(&row.item)?;
            if legacy.guild_id != guild {
                return Err(StoreError::new(StoreErrorKind::Corrupt));
            }
            let tracks = legacy.now_playing.into_iter().chain(legacy.upcoming).collect();
            PlayerState::from_legacy(guild, row.version, tracks)
        }
        PLAYER_SCHEMA_VERSION => decode_json::<PlayerState>(&row.item)?,
        // Newer: written by a newer build, and reading it as ours could drop
        // its new fields on the next save. Older than 1 never existed.
        _ => return Err(StoreError::new(StoreErrorKind::Corrupt)),
    };
    // The row is keyed by guild; an item naming another guild was not
    // written by this adapter.
    if state.guild_id != guild {
        return Err(StoreError::new(StoreErrorKind::Corrupt));
    }
    // The column is what conditional updates compare against.
    state.version = row.version;
    Ok(state)
}

#[async_trait]
impl PlayerStore for SqliteStore {
    async fn load(&self, guild: GuildId) -> Result<Option<PlayerState>, StoreError> {
        let Some(row) = self.load_row(Table::Players, guild).await? else {
            return Ok(None);
        };
        decode_player(&row, guild).map(Some)
    }

    async fn save(&self, state: &PlayerState) -> Result<u64, StoreError> {
        let mut stored = state.clone();
        stored.version = state.version.saturating_add(1);
        let row = NewRow {
            schema_version: PLAYER_SCHEMA_VERSION,
            item: encode_item(&stored)?,
            active: Some(state.is_active()),
        };
        let version = self.save_row(Table::Players, state.guild_id, state.version, row).await?;
        tracing::debug!(guild_id = %state.guild_id, version, table = "guild_queues", "player saved");
        Ok(version)
    }

    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        self.delete_row(Table::Players, guild).await
    }

    async fn active_guilds(&self) -> Result<Vec<GuildId>, StoreError> {
        self.call(|conn| {
            let mut statement = conn.prepare_cached(ACTIVE_GUILDS).map_err(unavailable)?;
            let ids = statement.query_map([], |r| r.get::<_, String>(0)).map_err(unavailable)?;
            ids.map(|id| id.map_err(unavailable)?.parse::<GuildId>().map_err(corrupt)).collect()
        })
        .await
    }

    async fn mark_alive(&self, at_ms: u64) -> Result<(), StoreError> {
        let at = i64::try_from(at_ms).map_err(|e| StoreError::with_source(StoreErrorKind::InvalidInput, e))?;
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO player_alive (id, at_ms, schema_version) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms, schema_version = excluded.schema_version",
                params![at, PLAYER_SCHEMA_VERSION],
            )
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn last_alive(&self) -> Result<Option<u64>, StoreError> {
        self.call(|conn| {
            let row: Option<(i64, u32)> = conn
                .query_row("SELECT at_ms, schema_version FROM player_alive WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(unavailable)?;
            match row {
                None => Ok(None),
                Some((_, schema)) if schema > PLAYER_SCHEMA_VERSION => Err(StoreError::new(StoreErrorKind::Corrupt)),
                Some((at, _)) => u64::try_from(at).map(Some).map_err(corrupt),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::UserId;

    fn guild() -> GuildId {
        GuildId::new(81384788765712384).unwrap()
    }

    async fn raw_insert(store: &SqliteStore, version: i64, schema_version: i64, item: &str) {
        let item = item.to_owned();
        store
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO guild_queues (guild_id, version, schema_version, item) VALUES (?1, ?2, ?3, ?4)",
                    params![guild().to_string(), version, schema_version, item],
                )
                .map(drop)
                .map_err(unavailable)
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn undecodable_item_is_corrupt() {
        let store = SqliteStore::in_memory().unwrap();
        raw_insert(&store, 1, 2, "{not json").await;
        let err = store.load(guild()).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Corrupt);
    }

    #[tokio::test]
    async fn item_from_a_newer_schema_is_corrupt_not_misread() {
        let store = SqliteStore::in_memory().unwrap();
        let item = serde_json::to_string(&PlayerState::new(guild(), 100)).unwrap();
        raw_insert(&store, 1, i64::from(PLAYER_SCHEMA_VERSION) + 1, &item).await;
        let err = store.load(guild()).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Corrupt);
    }

    #[tokio::test]
    async fn item_of_another_guild_is_corrupt() {
        let store = SqliteStore::in_memory().unwrap();
        let item = serde_json::to_string(&PlayerState::new(GuildId::new(5).unwrap(), 100)).unwrap();
        raw_insert(&store, 1, 2, &item).await;
        assert_eq!(store.load(guild()).await.unwrap_err().kind(), StoreErrorKind::Corrupt);
    }

    /// A row the queue store wrote before the queue engine, byte for byte
    /// the JSON it wrote, loads as `from_legacy` makes it, at its version,
    /// and the next save stores it in the new layout.
    #[tokio::test]
    async fn schema_one_queue_loads_through_from_legacy() {
        let store = SqliteStore::in_memory().unwrap();
        let item = format!(
            r#"{{"guild_id":"{}","version":4,"now_playing":{{"source":"https://a.example/1.mp3","title":"One «1»","requested_by":"7"}},"upcoming":[{{"source":"/media/2.ogg","title":"  Two\n","requested_by":"8"}}]}}"#,
            guild()
        );
        raw_insert(&store, 4, 1, &item).await;
        let user = |id| UserId::new(id).unwrap();
        let expected = PlayerState::from_legacy(
            guild(),
            4,
            vec![
                LegacyTrack {
                    source: "https://a.example/1.mp3".into(),
                    title: "One «1»".into(),
                    requested_by: user(7),
                },
                LegacyTrack { source: "/media/2.ogg".into(), title: "  Two\n".into(), requested_by: user(8) },
            ],
        );
        let loaded = store.load(guild()).await.unwrap().unwrap();
        assert_eq!(loaded, expected);
        assert_eq!(loaded.upcoming[0].title, "Two", "titles are capped as from_legacy does");

        assert_eq!(store.save(&loaded).await.unwrap(), 5);
        let row = store.load_row(Table::Players, guild()).await.unwrap().unwrap();
        assert_eq!(row.schema_version, PLAYER_SCHEMA_VERSION);
        assert_eq!(store.load(guild()).await.unwrap().unwrap(), PlayerState { version: 5, ..expected });
    }

    #[tokio::test]
    async fn an_empty_schema_one_queue_is_an_empty_player() {
        let store = SqliteStore::in_memory().unwrap();
        raw_insert(
            &store,
            2,
            1,
            &format!(r#"{{"guild_id":"{}","version":2,"now_playing":null,"upcoming":[]}}"#, guild()),
        )
        .await;
        assert_eq!(store.load(guild()).await.unwrap(), Some(PlayerState::from_legacy(guild(), 2, Vec::new())));
    }

    /// `active_guilds` reads the partial index, never the whole table.
    #[tokio::test]
    async fn active_guilds_is_served_by_the_partial_index() {
        let store = SqliteStore::in_memory().unwrap();
        let plan: Vec<String> = store
            .call(|conn| {
                let mut statement =
                    conn.prepare(&format!("EXPLAIN QUERY PLAN {ACTIVE_GUILDS}")).map_err(unavailable)?;
                let rows = statement.query_map([], |r| r.get::<_, String>(3)).map_err(unavailable)?;
                rows.map(|r| r.map_err(unavailable)).collect()
            })
            .await
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("guild_queues_active")), "{plan:?}");
        assert!(!plan.iter().any(|step| step.starts_with("SCAN guild_queues") && !step.contains("INDEX")), "{plan:?}");
    }

    #[tokio::test]
    async fn alive_mark_from_a_newer_schema_is_corrupt() {
        let store = SqliteStore::in_memory().unwrap();
        store
            .call(|conn| {
                conn.execute("INSERT INTO player_alive (id, at_ms, schema_version) VALUES (1, 5, 99)", [])
                    .map(drop)
                    .map_err(unavailable)
            })
            .await
            .unwrap();
        assert_eq!(store.last_alive().await.unwrap_err().kind(), StoreErrorKind::Corrupt);
    }
}
