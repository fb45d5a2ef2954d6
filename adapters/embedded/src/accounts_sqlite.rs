//! [`AccountStore`] on SQLite: one row per member and provider in
//! `linked_accounts`, the account as JSON (its tokens already sealed), the
//! version beside it for the conditional save.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use timmybot_core::{AccountStore, LinkedAccount, Provider, StoreError, StoreErrorKind, UserId};

use crate::sqlite_store::{SqliteStore, corrupt, unavailable};

fn decode(user: UserId, provider: &str, version: i64, item: &str) -> Result<LinkedAccount, StoreError> {
    let mut account: LinkedAccount = serde_json::from_str(item).map_err(corrupt)?;
    // The row is keyed by member and provider: an item naming others was
    // not written by this adapter.
    if account.user != user || account.provider.as_str() != provider {
        return Err(StoreError::new(StoreErrorKind::Corrupt));
    }
    account.version = u64::try_from(version).map_err(corrupt)?;
    Ok(account)
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn load_account(&self, user: UserId, provider: Provider) -> Result<Option<LinkedAccount>, StoreError> {
        self.call(move |conn| {
            let row: Option<(i64, String)> = conn
                .query_row(
                    "SELECT version, item FROM linked_accounts WHERE user_id = ?1 AND provider = ?2",
                    params![user.to_string(), provider.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|(version, item)| decode(user, provider.as_str(), version, &item)).transpose()
        })
        .await
    }

    async fn save_account(&self, account: &LinkedAccount) -> Result<u64, StoreError> {
        let expected = i64::try_from(account.version).map_err(corrupt)?;
        let next = expected.checked_add(1).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        let item = serde_json::to_string(&LinkedAccount { version: 0, ..account.clone() }).map_err(corrupt)?;
        let (user, provider) = (account.user.to_string(), account.provider.as_str());
        self.call(move |conn| {
            // One statement: the version check and the write are atomic.
            let changed = if expected == 0 {
                conn.execute(
                    "INSERT INTO linked_accounts (user_id, provider, version, item) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (user_id, provider) DO NOTHING",
                    params![user, provider, item],
                )
            } else {
                conn.execute(
                    "UPDATE linked_accounts SET version = ?3, item = ?4
                     WHERE user_id = ?1 AND provider = ?2 AND version = ?5",
                    params![user, provider, next, item, expected],
                )
            }
            .map_err(unavailable)?;
            if changed != 1 {
                return Err(StoreError::new(StoreErrorKind::Conflict));
            }
            u64::try_from(next).map_err(corrupt)
        })
        .await
    }

    async fn accounts(&self, user: UserId) -> Result<Vec<LinkedAccount>, StoreError> {
        self.call(move |conn| {
            let mut select = conn
                .prepare("SELECT provider, version, item FROM linked_accounts WHERE user_id = ?1 ORDER BY provider")
                .map_err(unavailable)?;
            let rows: Vec<(String, i64, String)> = select
                .query_map(params![user.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(unavailable)?
                .collect::<Result<_, _>>()
                .map_err(unavailable)?;
            rows.iter().map(|(provider, version, item)| decode(user, provider, *version, item)).collect()
        })
        .await
    }

    async fn delete_account(&self, user: UserId, provider: Provider) -> Result<bool, StoreError> {
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM linked_accounts WHERE user_id = ?1 AND provider = ?2",
                params![user.to_string(), provider.as_str()],
            )
            .map(|n| n == 1)
            .map_err(unavailable)
        })
        .await
    }

    async fn delete_member(&self, user: UserId) -> Result<usize, StoreError> {
        self.call(move |conn| {
            // Links and playlists in one transaction: all of the member
            // goes, or nothing does.
            let tx = conn.transaction().map_err(unavailable)?;
            let user = user.to_string();
            let links =
                tx.execute("DELETE FROM linked_accounts WHERE user_id = ?1", params![user]).map_err(unavailable)?;
            let playlists =
                tx.execute("DELETE FROM member_playlists WHERE user_id = ?1", params![user]).map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(links + playlists)
        })
        .await
    }
}
