//! [`AllowlistStore`] on DynamoDB: the record is the `kind = "allowlist"`
//! item of the guild in the `guilds` table.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use timmybot_core::{AllowlistRecord, AllowlistState, AllowlistStore, GuildId, StoreError, StoreErrorKind, UserId};

use crate::DynamoStore;
use crate::dynamo_store::ItemKey;

/// The sort key value of the allowlist item.
const KIND: &str = "allowlist";

/// The stored layout, kept apart from the domain type.
#[derive(Serialize, Deserialize)]
struct AllowlistItem {
    guild_id: GuildId,
    kind: String,
    version: u64,
    schema_version: u32,
    state: AllowlistState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    updated_at: u64,
}

impl DynamoStore {
    fn allowlist_key(&self, guild: GuildId) -> ItemKey<'_> {
        ItemKey { table: &self.tables().guilds, guild, sort_key: "kind", sort_value: KIND }
    }
}

#[async_trait]
impl AllowlistStore for DynamoStore {
    async fn get(&self, guild: GuildId) -> Result<Option<AllowlistRecord>, StoreError> {
        let Some(item) = self.get_item::<AllowlistItem>(&self.allowlist_key(guild)).await? else {
            return Ok(None);
        };
        if item.guild_id != guild || item.kind != KIND {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(Some(AllowlistRecord {
            guild_id: item.guild_id,
            version: item.version,
            state: item.state,
            requested_by: item.requested_by,
            reason: item.reason,
            updated_at: item.updated_at,
        }))
    }

    async fn put(&self, record: &AllowlistRecord) -> Result<u64, StoreError> {
        let version = record.version.checked_add(1).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        let item = AllowlistItem {
            guild_id: record.guild_id,
            kind: KIND.to_owned(),
            version,
            schema_version: timmybot_core::SCHEMA_VERSION,
            state: record.state,
            requested_by: record.requested_by,
            reason: record.reason.clone(),
            updated_at: record.updated_at,
        };
        let key = self.allowlist_key(record.guild_id);
        self.put_versioned(&key, &item, record.version).await?;
        tracing::debug!(guild_id = %record.guild_id, version, table = key.table, "allowlist record saved");
        Ok(version)
    }
}
