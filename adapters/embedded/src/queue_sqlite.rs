//! [`QueueStore`] on SQLite: one row per guild in `guild_queues`.

use async_trait::async_trait;
use timmybot_core::{GuildId, GuildQueue, QueueStore, StoreError, StoreErrorKind};

use crate::sqlite_store::{SqliteStore, Table, decode_item, encode_item};

#[async_trait]
impl QueueStore for SqliteStore {
    async fn load(&self, guild: GuildId) -> Result<Option<GuildQueue>, StoreError> {
        let Some(row) = self.load_row(Table::GuildQueues, guild).await? else {
            return Ok(None);
        };
        let mut queue: GuildQueue = decode_item(&row)?;
        // The row is keyed by guild; an item naming another guild was not
        // written by this adapter.
        if queue.guild_id != guild {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        // The column is what conditional updates compare against.
        queue.version = row.version;
        Ok(Some(queue))
    }

    async fn save(&self, queue: &GuildQueue) -> Result<u64, StoreError> {
        let mut stored = queue.clone();
        stored.version = queue.version.saturating_add(1);
        let item = encode_item(&stored)?;
        let version = self.save_row(Table::GuildQueues, queue.guild_id, queue.version, item).await?;
        tracing::debug!(guild_id = %queue.guild_id, version, table = "guild_queues", "queue saved");
        Ok(version)
    }

    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        self.delete_row(Table::GuildQueues, guild).await
    }
}
