//! [`SettingsStore`] on SQLite: one row per guild in `guild_settings`.

use async_trait::async_trait;
use timmybot_core::{GuildId, GuildSettings, SettingsStore, StoreError, StoreErrorKind};

use crate::sqlite_store::{NewRow, SqliteStore, Table, decode_item, encode_item};

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn load_settings(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError> {
        let Some(row) = self.load_row(Table::Settings, guild).await? else {
            return Ok(None);
        };
        let mut settings: GuildSettings = decode_item(&row)?;
        // The row is keyed by guild; an item naming another guild was not
        // written by this adapter.
        if settings.guild_id != guild {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        settings.version = row.version;
        Ok(Some(settings))
    }

    async fn save_settings(&self, settings: &GuildSettings) -> Result<u64, StoreError> {
        let stored = GuildSettings { version: settings.version.saturating_add(1), ..settings.clone() };
        let row = NewRow { schema_version: timmybot_core::SCHEMA_VERSION, item: encode_item(&stored)?, active: None };
        let version = self.save_row(Table::Settings, settings.guild_id, settings.version, row).await?;
        tracing::debug!(guild_id = %settings.guild_id, version, table = "guild_settings", "settings saved");
        Ok(version)
    }
}
