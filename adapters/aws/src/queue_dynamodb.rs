//! [`QueueStore`] on DynamoDB: the whole queue is one item of the
//! `guild-queues` table at `pos = "head"`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use timmybot_core::{GuildId, GuildQueue, QueueStore, QueuedTrack, StoreError, StoreErrorKind};

use crate::DynamoStore;
use crate::dynamo_store::ItemKey;

/// The sort key of the item holding the whole queue.
const HEAD: &str = "head";

/// The stored layout; kept apart from the domain type so that either can
/// change without silently changing the other.
#[derive(Serialize, Deserialize)]
struct QueueItem {
    guild_id: GuildId,
    pos: String,
    version: u64,
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    now_playing: Option<QueuedTrack>,
    #[serde(default)]
    upcoming: Vec<QueuedTrack>,
}

impl DynamoStore {
    fn queue_key(&self, guild: GuildId) -> ItemKey<'_> {
        ItemKey { table: &self.tables().guild_queues, guild, sort_key: "pos", sort_value: HEAD }
    }
}

#[async_trait]
impl QueueStore for DynamoStore {
    async fn load(&self, guild: GuildId) -> Result<Option<GuildQueue>, StoreError> {
        let Some(item) = self.get_item::<QueueItem>(&self.queue_key(guild)).await? else {
            return Ok(None);
        };
        if item.guild_id != guild || item.pos != HEAD {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(Some(GuildQueue {
            guild_id: item.guild_id,
            version: item.version,
            now_playing: item.now_playing,
            upcoming: item.upcoming,
        }))
    }

    async fn save(&self, queue: &GuildQueue) -> Result<u64, StoreError> {
        let version = queue.version.checked_add(1).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        let item = QueueItem {
            guild_id: queue.guild_id,
            pos: HEAD.to_owned(),
            version,
            schema_version: timmybot_core::SCHEMA_VERSION,
            now_playing: queue.now_playing.clone(),
            upcoming: queue.upcoming.clone(),
        };
        let key = self.queue_key(queue.guild_id);
        self.put_versioned(&key, &item, queue.version).await?;
        tracing::debug!(guild_id = %queue.guild_id, version, table = key.table, "queue saved");
        Ok(version)
    }

    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        self.delete_item(&self.queue_key(guild)).await
    }
}
