//! The [`SecretStore`] contract: named secrets read back exactly, unknown
//! names reported as not found, rotated values seen at the next read.

use async_trait::async_trait;
use timmybot_core::{SecretError, SecretStore};

/// Stores a secret in the backend under test the way an operator would
/// (writing the file, calling Secrets Manager), so the suite can read it
/// back through the port.
#[async_trait]
pub trait SecretSeeder: Send + Sync {
    /// Creates the secret `name`, or replaces its current value.
    async fn put(&self, name: &str, value: &str);
}

/// A secret name no other test uses; only characters every backend accepts.
fn random_name(label: &str) -> String {
    format!("timmybot/test/{label}-{:016x}", rand::random::<u64>())
}

async fn get(store: &dyn SecretStore, name: &str) -> String {
    match store.get(name).await {
        Ok(secret) => secret.expose().to_owned(),
        // Never print a value; the error itself carries only the name.
        Err(e) => panic!("reading secret {name} failed: {e:?}"),
    }
}

/// A stored secret reads back with its value.
pub async fn get_returns_the_stored_value(store: &dyn SecretStore, seeder: &dyn SecretSeeder) {
    let name = random_name("discord-token");
    seeder.put(&name, "Bot abc.def.ghi").await;
    assert!(get(store, &name).await == "Bot abc.def.ghi", "value read back differs");
}

/// An unknown name is `NotFound`, naming the secret.
pub async fn get_missing_secret_is_not_found(store: &dyn SecretStore, seeder: &dyn SecretSeeder) {
    // Something else exists, so "not found" is not just an empty backend.
    seeder.put(&random_name("other"), "x").await;
    let name = random_name("missing");
    match store.get(&name).await {
        Err(SecretError::NotFound(missing)) => assert_eq!(missing, name),
        Err(e) => panic!("expected NotFound, got {e:?}"),
        Ok(_) => panic!("expected NotFound, got a value"),
    }
}

/// Values come back byte for byte, whatever characters they hold.
pub async fn secret_values_keep_every_character(store: &dyn SecretStore, seeder: &dyn SecretSeeder) {
    let name = random_name("odd");
    let value = "  a=b; c\"d' \\e\tf\nsecond line {\"json\": true} ünïcødé 🔑  ";
    seeder.put(&name, value).await;
    assert!(get(store, &name).await == value, "value read back differs");
}

/// Two secrets keep their own values.
pub async fn each_name_has_its_own_value(store: &dyn SecretStore, seeder: &dyn SecretSeeder) {
    let (a, b) = (random_name("a"), random_name("b"));
    seeder.put(&a, "value-a").await;
    seeder.put(&b, "value-b").await;
    assert!(get(store, &a).await == "value-a", "secret a read back differs");
    assert!(get(store, &b).await == "value-b", "secret b read back differs");
}

/// After a rotation the next read returns the new value.
pub async fn get_sees_a_rotated_value(store: &dyn SecretStore, seeder: &dyn SecretSeeder) {
    let name = random_name("rotated");
    seeder.put(&name, "old-key").await;
    assert!(get(store, &name).await == "old-key", "first value read back differs");
    seeder.put(&name, "new-key").await;
    assert!(get(store, &name).await == "new-key", "rotated value not seen");
}

/// Runs every behaviour above.
pub async fn run_all_secret_store(store: &dyn SecretStore, seeder: &dyn SecretSeeder) {
    get_returns_the_stored_value(store, seeder).await;
    get_missing_secret_is_not_found(store, seeder).await;
    secret_values_keep_every_character(store, seeder).await;
    each_name_has_its_own_value(store, seeder).await;
    get_sees_a_rotated_value(store, seeder).await;
}
