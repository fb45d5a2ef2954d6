//! The [`AllowlistStore`] contract: versioned, guild-partitioned records.

use std::sync::Arc;

use timmybot_core::{AllowlistRecord, AllowlistState, AllowlistStore, GuildId, StoreErrorKind};

use super::{random_guild, random_user};

fn pending(guild: GuildId) -> AllowlistRecord {
    AllowlistRecord {
        guild_id: guild,
        version: 0,
        state: AllowlistState::Pending,
        requested_by: Some(random_user()),
        reason: Some("our choir wants radio — « ça marche » 🎶 \"please\"".to_owned()),
        updated_at: 1_790_000_000,
    }
}

async fn get(store: &dyn AllowlistStore, guild: GuildId) -> Option<AllowlistRecord> {
    store.get(guild).await.expect("get succeeds")
}

/// Puts `record` and returns it as stored (with its new version).
async fn put(store: &dyn AllowlistStore, record: &AllowlistRecord) -> AllowlistRecord {
    let version = store.put(record).await.expect("put succeeds");
    assert_eq!(version, record.version + 1, "put returns the next version");
    AllowlistRecord { version, ..record.clone() }
}

async fn assert_conflict(store: &dyn AllowlistStore, record: &AllowlistRecord) {
    let err = store.put(record).await.expect_err("put of a stale version must fail");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "stale put is a conflict: {err:?}");
}

/// A guild that never asked has no record.
pub async fn get_missing_guild_is_none(store: &dyn AllowlistStore) {
    assert_eq!(get(store, random_guild()).await, None);
}

/// The first put is at version 0 and stores version 1.
pub async fn first_put_needs_version_zero_and_returns_one(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let stored = put(store, &pending(guild)).await;
    assert_eq!(stored.version, 1);
    assert_eq!(get(store, guild).await.map(|r| r.version), Some(1));
}

/// What is read is exactly what was put, through every state.
pub async fn round_trip_preserves_record(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let mut record = put(store, &pending(guild)).await;
    assert_eq!(get(store, guild).await, Some(record.clone()));
    for state in [AllowlistState::Approved, AllowlistState::Revoked, AllowlistState::Denied] {
        record.state = state;
        record.updated_at += 60;
        record = put(store, &record).await;
        assert_eq!(get(store, guild).await, Some(record.clone()));
    }
}

/// Absent optional fields stay absent.
pub async fn record_without_optional_fields_round_trips(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let record = AllowlistRecord { requested_by: None, reason: None, ..pending(guild) };
    let stored = put(store, &record).await;
    assert_eq!(get(store, guild).await, Some(stored));
}

/// A put from an older (or newer) version than stored fails and changes
/// nothing.
pub async fn put_rejects_stale_version(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let first = put(store, &pending(guild)).await;
    let second = put(store, &AllowlistRecord { state: AllowlistState::Approved, ..first.clone() }).await;

    assert_conflict(store, &AllowlistRecord { state: AllowlistState::Denied, ..first.clone() }).await;
    assert_conflict(store, &pending(guild)).await;
    assert_conflict(store, &AllowlistRecord { version: 9, ..second.clone() }).await;
    assert_eq!(get(store, guild).await, Some(second));
}

/// Guilds never see each other's records or versions.
pub async fn guilds_are_isolated(store: &dyn AllowlistStore) {
    let (a, b) = (random_guild(), random_guild());
    let ra = put(store, &pending(a)).await;
    let ra = put(store, &AllowlistRecord { state: AllowlistState::Approved, ..ra }).await;
    let rb = put(store, &pending(b)).await;
    assert_eq!((ra.version, rb.version), (2, 1));
    assert_eq!(get(store, a).await, Some(ra));
    assert_eq!(get(store, b).await, Some(rb));
}

/// Two tasks read the same record and put concurrently: exactly one wins.
///
/// Takes an `Arc` because the two writers run as separate tasks.
pub async fn concurrent_puts_one_wins(store: Arc<dyn AllowlistStore>) {
    let guild = random_guild();
    put(&*store, &pending(guild)).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let writers: Vec<_> = [AllowlistState::Approved, AllowlistState::Denied]
        .into_iter()
        .map(|state| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut record = store.get(guild).await.expect("get succeeds").expect("record exists");
                record.state = state;
                barrier.wait().await;
                (record.clone(), store.put(&record).await)
            })
        })
        .collect();

    let mut winners = Vec::new();
    let mut conflicts = 0;
    for writer in writers {
        let (record, result) = writer.await.expect("writer task completes");
        match result {
            Ok(version) => winners.push(AllowlistRecord { version, ..record }),
            Err(e) if e.kind() == StoreErrorKind::Conflict => conflicts += 1,
            Err(e) => panic!("unexpected store error: {e:?}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (1, 1), "exactly one Ok and one Conflict");
    assert_eq!(get(&*store, guild).await.as_ref(), Some(&winners[0]));
}

/// Runs every behaviour above against `store`.
pub async fn run_all_allowlist_store(store: Arc<dyn AllowlistStore>) {
    let s = &*store;
    get_missing_guild_is_none(s).await;
    first_put_needs_version_zero_and_returns_one(s).await;
    round_trip_preserves_record(s).await;
    record_without_optional_fields_round_trips(s).await;
    put_rejects_stale_version(s).await;
    guilds_are_isolated(s).await;
    concurrent_puts_one_wins(Arc::clone(&store)).await;
}
