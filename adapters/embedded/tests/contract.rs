//! Every port contract suite against the embedded adapters.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tempfile::TempDir;
use timmybot_core::{GuildQueue, QueueStore};
use timmybot_embedded::{FileSecretStore, InProcessBus, SqliteStore};
use timmybot_test_support::contract::{self, SecretSeeder};

mod queue_sqlite {
    use super::*;
    timmybot_test_support::queue_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
}

mod allowlist_sqlite {
    use super::*;
    timmybot_test_support::allowlist_store_contract!(SqliteStore::in_memory().expect("in-memory database"));
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
    contract::run_all_queue_store(Arc::new(store.clone())).await;
    contract::run_all_allowlist_store(Arc::new(store.clone())).await;

    let guild = contract::random_guild();
    let version = store.save(&GuildQueue::empty(guild)).await.unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    let loaded = reopened.load(guild).await.unwrap().expect("queue persisted in the file");
    assert_eq!(loaded.version, version);
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
