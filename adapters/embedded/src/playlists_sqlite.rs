//! [`PlaylistStore`] on SQLite: one row per member and playlist key in
//! `member_playlists`, the entries as one JSON array, so a save replaces
//! the playlist in one statement and a read can never see half of one.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use timmybot_core::{
    MAX_PLAYLISTS_PER_MEMBER, MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, PlaylistStore,
    PlaylistSummary, StoreError, StoreErrorKind, UserId,
};

use crate::sqlite_store::{SqliteStore, corrupt, unavailable};

fn origin_of(text: &str) -> Result<PlaylistOrigin, StoreError> {
    serde_json::from_str(text).map_err(corrupt)
}

#[async_trait]
impl PlaylistStore for SqliteStore {
    async fn load_playlist(&self, owner: UserId, name: &PlaylistName) -> Result<Option<MemberPlaylist>, StoreError> {
        let key = name.key();
        self.call(move |conn| {
            let row: Option<(String, String, i64, String)> = conn
                .query_row(
                    "SELECT name, origin, updated_at_ms, entries FROM member_playlists WHERE user_id = ?1 AND key = ?2",
                    params![owner.to_string(), key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let Some((name, origin, updated_at_ms, entries)) = row else { return Ok(None) };
            let entries: Vec<PlaylistEntry> = serde_json::from_str(&entries).map_err(corrupt)?;
            Ok(Some(MemberPlaylist {
                owner,
                name: PlaylistName::parse(&name).map_err(corrupt)?,
                origin: origin_of(&origin)?,
                entries,
                updated_at_ms: u64::try_from(updated_at_ms).map_err(corrupt)?,
            }))
        })
        .await
    }

    async fn save_playlist(&self, playlist: &MemberPlaylist) -> Result<(), StoreError> {
        if !playlist.is_within_limits() {
            return Err(StoreError::new(StoreErrorKind::TooLarge));
        }
        let owner = playlist.owner.to_string();
        let key = playlist.name.key();
        let name = playlist.name.as_str().to_owned();
        let origin = serde_json::to_string(&playlist.origin).map_err(corrupt)?;
        let tracks = i64::try_from(playlist.entries.len()).map_err(corrupt)?;
        let updated_at_ms = i64::try_from(playlist.updated_at_ms).map_err(corrupt)?;
        let entries = serde_json::to_string(&playlist.entries).map_err(corrupt)?;
        self.call(move |conn| {
            // The count and the write under one write lock, so two saves
            // cannot both take the last free place.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM member_playlists WHERE user_id = ?1 AND key = ?2)",
                    params![owner, key],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            if !exists {
                let count: i64 = tx
                    .query_row("SELECT COUNT(*) FROM member_playlists WHERE user_id = ?1", params![owner], |r| r.get(0))
                    .map_err(unavailable)?;
                if usize::try_from(count).map_err(corrupt)? >= MAX_PLAYLISTS_PER_MEMBER {
                    return Err(StoreError::new(StoreErrorKind::LimitReached));
                }
            }
            tx.execute(
                "INSERT INTO member_playlists (user_id, key, name, origin, tracks, updated_at_ms, entries)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (user_id, key) DO UPDATE SET
                   name = excluded.name, origin = excluded.origin, tracks = excluded.tracks,
                   updated_at_ms = excluded.updated_at_ms, entries = excluded.entries",
                params![owner, key, name, origin, tracks, updated_at_ms, entries],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn playlists(&self, owner: UserId) -> Result<Vec<PlaylistSummary>, StoreError> {
        self.call(move |conn| {
            let mut select = conn
                .prepare(
                    "SELECT name, origin, tracks, updated_at_ms FROM member_playlists WHERE user_id = ?1 ORDER BY key",
                )
                .map_err(unavailable)?;
            let rows: Vec<(String, String, i64, i64)> = select
                .query_map(params![owner.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|(name, origin, tracks, updated_at_ms)| {
                    Ok(PlaylistSummary {
                        name: PlaylistName::parse(&name).map_err(corrupt)?,
                        origin: origin_of(&origin)?,
                        tracks: usize::try_from(tracks).map_err(corrupt)?,
                        updated_at_ms: u64::try_from(updated_at_ms).map_err(corrupt)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn delete_playlist(&self, owner: UserId, name: &PlaylistName) -> Result<bool, StoreError> {
        let key = name.key();
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM member_playlists WHERE user_id = ?1 AND key = ?2",
                params![owner.to_string(), key],
            )
            .map(|n| n == 1)
            .map_err(unavailable)
        })
        .await
    }
}
