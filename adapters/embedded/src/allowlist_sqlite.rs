//! [`AllowlistStore`] on SQLite: one row per guild in `guild_allowlist`.

use async_trait::async_trait;
use timmybot_core::{AllowlistRecord, AllowlistStore, GuildId, StoreError, StoreErrorKind};

use crate::sqlite_store::{SqliteStore, Table, decode_item, encode_item};

#[async_trait]
impl AllowlistStore for SqliteStore {
    async fn get(&self, guild: GuildId) -> Result<Option<AllowlistRecord>, StoreError> {
        let Some(row) = self.load_row(Table::GuildAllowlist, guild).await? else {
            return Ok(None);
        };
        let mut record: AllowlistRecord = decode_item(&row)?;
        if record.guild_id != guild {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        record.version = row.version;
        Ok(Some(record))
    }

    async fn put(&self, record: &AllowlistRecord) -> Result<u64, StoreError> {
        let mut stored = record.clone();
        stored.version = record.version.saturating_add(1);
        let item = encode_item(&stored)?;
        let version = self.save_row(Table::GuildAllowlist, record.guild_id, record.version, item).await?;
        tracing::debug!(guild_id = %record.guild_id, version, table = "guild_allowlist", "allowlist record saved");
        Ok(version)
    }
}
