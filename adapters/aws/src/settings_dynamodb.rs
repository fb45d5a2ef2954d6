//! [`SettingsStore`] on DynamoDB: one item per guild in the `guilds` table
//! at `kind = "settings"`, next to the allowlist record, written with the
//! same version condition.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use timmybot_core::{ChannelId, GuildId, GuildSettings, RoleId, SettingsStore, StoreError, StoreErrorKind};

use crate::DynamoStore;
use crate::dynamo_store::ItemKey;

/// The sort key value of the settings item.
const KIND: &str = "settings";

/// The stored settings, kept apart from the domain type so that either can
/// change without silently changing the other.
#[derive(Serialize, Deserialize)]
struct SettingsItem {
    guild_id: GuildId,
    kind: String,
    version: u64,
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dj_role: Option<RoleId>,
    default_volume: u16,
    max_queue_len: u32,
    max_track_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    announce_channel: Option<ChannelId>,
    idle_leave_secs: u32,
    alone_leave_secs: u32,
    always_on: bool,
    vote_skip_percent: u8,
    fair_queue: bool,
}

impl DynamoStore {
    fn settings_key(&self, guild: GuildId) -> ItemKey<'_> {
        ItemKey { table: &self.tables().guilds, guild, sort_key: "kind", sort_value: KIND }
    }
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn load_settings(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError> {
        let Some(item) = self.get_item::<SettingsItem>(&self.settings_key(guild)).await? else {
            return Ok(None);
        };
        if item.guild_id != guild || item.kind != KIND {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(Some(GuildSettings {
            guild_id: item.guild_id,
            version: item.version,
            dj_role: item.dj_role,
            default_volume: item.default_volume,
            max_queue_len: item.max_queue_len,
            max_track_secs: item.max_track_secs,
            announce_channel: item.announce_channel,
            idle_leave_secs: item.idle_leave_secs,
            alone_leave_secs: item.alone_leave_secs,
            always_on: item.always_on,
            vote_skip_percent: item.vote_skip_percent,
            fair_queue: item.fair_queue,
        }))
    }

    async fn save_settings(&self, settings: &GuildSettings) -> Result<u64, StoreError> {
        let version = settings.version.checked_add(1).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        let s = settings.clone();
        let item = SettingsItem {
            guild_id: s.guild_id,
            kind: KIND.to_owned(),
            version,
            schema_version: timmybot_core::SCHEMA_VERSION,
            dj_role: s.dj_role,
            default_volume: s.default_volume,
            max_queue_len: s.max_queue_len,
            max_track_secs: s.max_track_secs,
            announce_channel: s.announce_channel,
            idle_leave_secs: s.idle_leave_secs,
            alone_leave_secs: s.alone_leave_secs,
            always_on: s.always_on,
            vote_skip_percent: s.vote_skip_percent,
            fair_queue: s.fair_queue,
        };
        let key = self.settings_key(settings.guild_id);
        self.put_versioned(&key, &item, settings.version).await?;
        tracing::debug!(guild_id = %settings.guild_id, version, table = key.table, "settings saved");
        Ok(version)
    }
}
