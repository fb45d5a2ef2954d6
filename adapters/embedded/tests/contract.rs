//! Every port contract suite against the embedded adapters.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tempfile::TempDir;
use timmybot_core::{
    Actor, AllowlistChange, AllowlistEvent, AllowlistRecord, AllowlistState, AllowlistStore, CommandLedger,
    GatewaySessionStore, PlayerStore, SettingsStore, SlotEffect, SlotUsage, TrackCache,
};
use timmybot_embedded::{FileSecretStore, InProcessBus, SqliteStore};
use timmybot_test_support::contract::{self, SecretSeeder};

mod player_sqlite {
    use super::*;
    timmybot_test_support::player_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod settings_sqlite {
    use super::*;
    timmybot_test_support::settings_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod allowlist_sqlite {
    use super::*;
    timmybot_test_support::allowlist_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod track_cache_sqlite {
    use super::*;
    timmybot_test_support::track_cache_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod accounts_sqlite {
    use super::*;
    timmybot_test_support::account_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod playlists_sqlite {
    use super::*;
    timmybot_test_support::playlist_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod link_state_sqlite {
    use super::*;
    timmybot_test_support::link_state_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod presence_sqlite {
    use super::*;
    timmybot_test_support::gateway_presence_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod ledger_sqlite {
    use super::*;
    timmybot_test_support::command_ledger_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod gateway_session_sqlite {
    use super::*;
    timmybot_test_support::gateway_session_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod secrets_file {
    use super::*;
    timmybot_test_support::secret_store_contract!(file_secrets());
}

mod bus_in_process {
    use super::*;
    timmybot_test_support::command_bus_contract!(|visibility| InProcessBus::with_visibility_timeout(visibility));

    #[tokio::test]
    async fn duplicate_after_ack_is_still_dropped() {
        let bus = InProcessBus::with_visibility_timeout(contract::command_bus::TEST_VISIBILITY_TIMEOUT);
        contract::command_bus::duplicate_after_ack_is_still_dropped(&bus).await;
    }
    // The in-process bus carries `BusMessage` values, never bytes, so the
    // malformed-message behaviour has nothing to exercise here; the SQS
    // adapter's tests run it.
}

/// Rewrites the secrets file the way an operator would, through the 0600
/// helper; the temporary directory lives as long as the seeder.
struct FileSeeder {
    _dir: TempDir,
    path: PathBuf,
    secrets: Mutex<BTreeMap<String, String>>,
}

#[async_trait]
impl SecretSeeder for FileSeeder {
    async fn put(&self, name: &str, value: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        secrets.insert(name.to_owned(), value.to_owned());
        FileSecretStore::create(&self.path, secrets.clone()).expect("secrets file written");
    }
}

fn file_secrets() -> (FileSecretStore, FileSeeder) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("secrets.json");
    let store = FileSecretStore::create(&path, BTreeMap::<String, String>::new()).expect("secrets file written");
    (store, FileSeeder { _dir: dir, path, secrets: Mutex::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_suites_pass_on_a_sqlite_file_and_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timmybot.sqlite3");
    let store = SqliteStore::open(&path).unwrap();
    contract::run_all_player_store(Arc::new(store.clone())).await;
    contract::run_all_settings_store(&store).await;
    contract::run_all_allowlist_store(Arc::new(store.clone())).await;
    contract::run_all_track_cache(&store).await;
    contract::run_all_command_ledger(Arc::new(store.clone())).await;
    contract::run_all_gateway_session_store(&store).await;

    let guild = contract::random_guild();
    let player = contract::player_store::full_state(guild, contract::player_store::LONG_QUEUE);
    let version = store.save(&player).await.unwrap();
    let settings = contract::settings_store::changed_settings(guild);
    store.save_settings(&settings).await.unwrap();
    store.mark_alive(1_234).await.unwrap();
    let (record, event) = approved(contract::random_guild());
    let change =
        AllowlistChange { record: record.clone(), event: Some(event.clone()), slot: SlotEffect::Take { force: true } };
    store.apply(&change).await.unwrap();
    let usage = store.set_slot_limit(Some(3)).await.unwrap();
    let cache_key = contract::track_cache::random_key("https://example.com/persisted");
    let now = contract::track_cache::now_ms();
    TrackCache::put(&store, &cache_key, "{\"title\":\"kept\"}", now + 60_000).await.unwrap();
    let ran = contract::random_interaction();
    assert!(store.record_ran(guild, ran, now, now + 60_000).await.unwrap());
    let sessions = contract::gateway_session_store::two_shard_sessions(now);
    store.save_sessions(&sessions).await.unwrap();
    drop(store);
    // Opening again runs the schema again: it must keep what is there.
    let reopened = SqliteStore::open(&path).unwrap();
    let loaded = reopened.load(guild).await.unwrap().expect("player persisted in the file");
    assert_eq!(loaded, timmybot_core::player::PlayerState { version, ..player });
    assert!(reopened.active_guilds().await.unwrap().contains(&guild), "the active flag persisted");
    assert_eq!(
        reopened.load_settings(guild).await.unwrap(),
        Some(timmybot_core::GuildSettings { version: 1, ..settings })
    );
    assert_eq!(reopened.last_alive().await.unwrap(), Some(1_234));
    let stored = AllowlistStore::get(&reopened, record.guild_id).await.unwrap();
    assert_eq!(stored, Some(AllowlistRecord { version: 1, ..record.clone() }), "allowlist record persisted");
    assert_eq!(reopened.history(record.guild_id, 10).await.unwrap(), vec![event]);
    assert_eq!(reopened.slot_usage().await.unwrap(), usage);
    assert_eq!(usage.limit, Some(3));
    let listed = reopened.list(AllowlistState::Approved, 100, None).await.unwrap();
    assert!(listed.records.iter().any(|r| r.guild_id == record.guild_id));
    let cached = TrackCache::get(&reopened, &cache_key, now).await.unwrap();
    assert_eq!(cached.as_deref(), Some("{\"title\":\"kept\"}"), "cache entry persisted");
    assert!(reopened.already_ran(guild, ran, now).await.unwrap(), "ledger entry persisted");
    assert_eq!(reopened.take_sessions().await.unwrap(), Some(sessions), "gateway sessions persisted");
}

/// A first, forced approval of `guild` and its event.
fn approved(guild: timmybot_core::GuildId) -> (AllowlistRecord, AllowlistEvent) {
    let record = AllowlistRecord {
        guild_id: guild,
        version: 0,
        state: AllowlistState::Approved,
        guild_name: Some("persisted".into()),
        member_count: Some(3),
        requested_by: None,
        request_channel: None,
        reason: None,
        requested_at: 1,
        decided_by: Some(Actor::AdminToken),
        decided_at: Some(2),
        decision_reason: None,
        maintainer_notice: None,
        updated_at: 2,
    };
    let event = AllowlistEvent {
        guild_id: guild,
        seq: 1,
        at: 2,
        actor: Actor::AdminToken,
        from: None,
        to: AllowlistState::Approved,
        reason: None,
        forced: true,
    };
    (record, event)
}

/// Two stores on one file (two processes sharing it): the slot limit holds
/// across them, because each change checks it inside its own write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slot_limit_holds_across_connections_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timmybot.sqlite3");
    let (one, two) = (SqliteStore::open(&path).unwrap(), SqliteStore::open(&path).unwrap());
    one.set_slot_limit(Some(1)).await.unwrap();
    let take = |guild| {
        let (record, event) = approved(guild);
        AllowlistChange { record, event: Some(event), slot: SlotEffect::Take { force: false } }
    };
    let (a, b) = (take(contract::random_guild()), take(contract::random_guild()));
    let (ra, rb) = tokio::join!(one.apply(&a), two.apply(&b));
    let kinds = [ra.map(drop).map_err(|e| e.kind()), rb.map(drop).map_err(|e| e.kind())];
    assert_eq!(kinds.iter().filter(|k| k.is_ok()).count(), 1, "{kinds:?}");
    assert!(kinds.contains(&Err(timmybot_core::StoreErrorKind::LimitReached)), "{kinds:?}");
    assert_eq!(two.slot_usage().await.unwrap(), SlotUsage { approved: 1, limit: Some(1) });
}

#[tokio::test]
async fn secret_suite_passes_in_one_run() {
    let (store, seeder) = file_secrets();
    contract::run_all_secret_store(&store, &seeder).await;
}

#[tokio::test]
async fn bus_suite_passes_in_one_run() {
    contract::run_all_command_bus(async || {
        InProcessBus::with_visibility_timeout(contract::command_bus::TEST_VISIBILITY_TIMEOUT)
    })
    .await;
}
