//! The [`SettingsStore`] contract: versioned, guild-partitioned settings.

use timmybot_core::{GuildId, GuildSettings, RoleId, SettingsStore, StoreErrorKind};

use super::{random_channel, random_guild};

/// Settings with every field away from its default.
pub fn changed_settings(guild: GuildId) -> GuildSettings {
    GuildSettings {
        guild_id: guild,
        version: 0,
        dj_role: RoleId::new((rand::random::<u64>() >> 2) | 1),
        default_volume: 175,
        max_queue_len: 1000,
        max_track_secs: 24 * 60 * 60,
        announce_channel: Some(random_channel()),
        idle_leave_secs: 0,
        alone_leave_secs: 3_600,
        always_on: true,
        vote_skip_percent: 100,
        fair_queue: true,
    }
}

async fn load(store: &dyn SettingsStore, guild: GuildId) -> Option<GuildSettings> {
    store.load_settings(guild).await.expect("load succeeds")
}

/// Saves `settings` and returns them as stored (with the new version).
async fn save(store: &dyn SettingsStore, settings: &GuildSettings) -> GuildSettings {
    let version = store.save_settings(settings).await.expect("save succeeds");
    assert_eq!(version, settings.version + 1, "save returns the next version");
    GuildSettings { version, ..settings.clone() }
}

async fn assert_conflict(store: &dyn SettingsStore, settings: &GuildSettings) {
    let err = store.save_settings(settings).await.expect_err("save of a stale version must fail");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "stale save is a conflict: {err:?}");
}

/// A guild that never changed a setting has none stored.
pub async fn missing_settings_are_none(store: &dyn SettingsStore) {
    assert_eq!(load(store, random_guild()).await, None);
}

/// Every field comes back, the first save stores version 1 and each next
/// save one more; the defaults (no role, no channel) round-trip too.
pub async fn settings_round_trip(store: &dyn SettingsStore) {
    let guild = random_guild();
    let stored = save(store, &changed_settings(guild)).await;
    assert_eq!(stored.version, 1);
    assert_eq!(load(store, guild).await, Some(stored.clone()));
    let mut next = stored;
    next.dj_role = None;
    next.announce_channel = None;
    next.fair_queue = false;
    let next = save(store, &next).await;
    assert_eq!(next.version, 2);
    assert_eq!(load(store, guild).await, Some(next));

    let defaults = save(store, &GuildSettings::defaults(random_guild())).await;
    assert_eq!(load(store, defaults.guild_id).await, Some(defaults));
}

/// A save from a version other than the stored one fails and changes
/// nothing; only version 0 creates.
pub async fn stale_settings_save_is_a_conflict(store: &dyn SettingsStore) {
    let guild = random_guild();
    let first = save(store, &GuildSettings::defaults(guild)).await;
    let second = save(store, &GuildSettings { default_volume: 20, ..first.clone() }).await;
    assert_conflict(store, &GuildSettings { default_volume: 30, ..first.clone() }).await;
    assert_conflict(store, &GuildSettings::defaults(guild)).await;
    assert_conflict(store, &GuildSettings { version: 9, ..second.clone() }).await;
    assert_eq!(load(store, guild).await, Some(second), "a rejected save leaves the settings as they were");

    let unsaved = GuildSettings { version: 2, ..GuildSettings::defaults(random_guild()) };
    assert_conflict(store, &unsaved).await;
    assert_eq!(load(store, unsaved.guild_id).await, None);
}

/// Guilds never see or change each other's settings or versions.
pub async fn settings_guilds_are_independent(store: &dyn SettingsStore) {
    let (a, b) = (random_guild(), random_guild());
    let sa = save(store, &changed_settings(a)).await;
    let sa = save(store, &GuildSettings { vote_skip_percent: 1, ..sa }).await;
    let sb = save(store, &GuildSettings::defaults(b)).await;
    assert_eq!((sa.version, sb.version), (2, 1), "versions are per guild");
    assert_eq!(load(store, a).await, Some(sa));
    assert_eq!(load(store, b).await, Some(sb));
}

/// Runs every behaviour above against `store`.
pub async fn run_all_settings_store(store: &dyn SettingsStore) {
    missing_settings_are_none(store).await;
    settings_round_trip(store).await;
    stale_settings_save_is_a_conflict(store).await;
    settings_guilds_are_independent(store).await;
}
