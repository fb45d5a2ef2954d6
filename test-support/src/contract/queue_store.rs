//! The [`QueueStore`] contract: versioned, guild-partitioned queues.

use std::sync::Arc;

use timmybot_core::{GuildId, GuildQueue, MAX_QUEUE_LEN, QueueStore, QueuedTrack, StoreErrorKind};

use super::{random_guild, random_user};

fn track(n: usize) -> QueuedTrack {
    QueuedTrack {
        source: format!("https://radio.example.com/stream/{n}.mp3"),
        title: format!("Track {n} — « ünïcødé » \"quoted\" 🎵"),
        requested_by: random_user(),
    }
}

fn queue_with(guild: GuildId, tracks: usize) -> GuildQueue {
    let mut queue = GuildQueue::empty(guild);
    for n in 0..tracks {
        queue.enqueue(track(n)).expect("below the limit");
    }
    queue
}

async fn load(store: &dyn QueueStore, guild: GuildId) -> Option<GuildQueue> {
    store.load(guild).await.expect("load succeeds")
}

/// Saves `queue` and returns it as stored (with its new version).
async fn save(store: &dyn QueueStore, queue: &GuildQueue) -> GuildQueue {
    let version = store.save(queue).await.expect("save succeeds");
    assert_eq!(version, queue.version + 1, "save returns the next version");
    GuildQueue { version, ..queue.clone() }
}

async fn assert_conflict(store: &dyn QueueStore, queue: &GuildQueue) {
    let err = store.save(queue).await.expect_err("save of a stale version must fail");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "stale save is a conflict: {err:?}");
    assert!(err.is_retryable(), "a conflict is retryable after a reload");
}

/// A guild that never saved a queue has none.
pub async fn load_missing_guild_is_none(store: &dyn QueueStore) {
    assert_eq!(load(store, random_guild()).await, None);
}

/// The first save is at version 0 and stores version 1.
pub async fn first_save_needs_version_zero_and_returns_one(store: &dyn QueueStore) {
    let guild = random_guild();
    let stored = save(store, &queue_with(guild, 1)).await;
    assert_eq!(stored.version, 1);
    assert_eq!(load(store, guild).await.map(|q| q.version), Some(1));
}

/// What is loaded is exactly what was saved, at the new version.
pub async fn round_trip_preserves_queue(store: &dyn QueueStore) {
    let guild = random_guild();
    let queue = queue_with(guild, 4);
    let stored = save(store, &queue).await;
    assert_eq!(load(store, guild).await, Some(stored));

    let empty = GuildQueue::empty(random_guild());
    let stored = save(store, &empty).await;
    assert_eq!(load(store, empty.guild_id).await, Some(stored), "an empty queue round-trips too");
}

/// Each save from the latest version moves the version on by one.
pub async fn save_increments_version(store: &dyn QueueStore) {
    let guild = random_guild();
    let mut queue = save(store, &queue_with(guild, 1)).await;
    for expected in 2..=4 {
        queue.enqueue(track(expected as usize)).expect("room");
        queue = save(store, &queue).await;
        assert_eq!(queue.version, expected);
        assert_eq!(load(store, guild).await, Some(queue.clone()));
    }
}

/// A save from an older version than stored fails and changes nothing.
pub async fn save_rejects_stale_version(store: &dyn QueueStore) {
    let guild = random_guild();
    let first = save(store, &queue_with(guild, 1)).await;
    let mut second = first.clone();
    second.enqueue(track(99)).expect("room");
    let second = save(store, &second).await;

    // Someone still holding version 1, and someone creating afresh.
    let mut stale = first.clone();
    stale.clear();
    assert_conflict(store, &stale).await;
    assert_conflict(store, &queue_with(guild, 3)).await;
    assert_eq!(load(store, guild).await, Some(second), "a rejected save leaves the stored queue as it was");
}

/// A save claiming a version the store never reached fails.
pub async fn save_rejects_version_ahead_of_stored(store: &dyn QueueStore) {
    let guild = random_guild();
    let stored = save(store, &queue_with(guild, 1)).await;
    let ahead = GuildQueue { version: stored.version + 5, ..stored.clone() };
    assert_conflict(store, &ahead).await;
    // Nothing stored yet: only version 0 may create.
    let unsaved = GuildQueue { version: 3, ..queue_with(random_guild(), 1) };
    assert_conflict(store, &unsaved).await;
    assert_eq!(load(store, unsaved.guild_id).await, None);
}

/// After a delete the guild counts as never saved: a writer still holding
/// the old version cannot bring the queue back.
pub async fn save_after_delete_needs_version_zero(store: &dyn QueueStore) {
    let guild = random_guild();
    let stored = save(store, &queue_with(guild, 2)).await;
    store.delete(guild).await.expect("delete succeeds");
    assert_conflict(store, &stored).await;
    assert_eq!(load(store, guild).await, None);
    let fresh = save(store, &queue_with(guild, 1)).await;
    assert_eq!(fresh.version, 1);
}

/// A deleted queue is gone.
pub async fn delete_removes(store: &dyn QueueStore) {
    let guild = random_guild();
    save(store, &queue_with(guild, 2)).await;
    store.delete(guild).await.expect("delete succeeds");
    assert_eq!(load(store, guild).await, None);
}

/// Deleting a queue that does not exist is not an error.
pub async fn delete_missing_guild_is_ok(store: &dyn QueueStore) {
    let guild = random_guild();
    store.delete(guild).await.expect("delete of nothing succeeds");
    store.delete(guild).await.expect("and again");
}

/// Guilds never see or change each other's queues or versions.
pub async fn guilds_are_isolated(store: &dyn QueueStore) {
    let (a, b) = (random_guild(), random_guild());
    let qa = save(store, &queue_with(a, 1)).await;
    let qa = save(store, &qa).await;
    let qb = save(store, &queue_with(b, 3)).await;
    assert_eq!((qa.version, qb.version), (2, 1), "versions are per guild");
    assert_eq!(load(store, a).await, Some(qa.clone()));
    assert_eq!(load(store, b).await, Some(qb));
    store.delete(b).await.expect("delete succeeds");
    assert_eq!(load(store, b).await, None);
    assert_eq!(load(store, a).await, Some(qa), "deleting one guild keeps the other");
}

/// A queue at its limit ([`MAX_QUEUE_LEN`] waiting) is stored whole.
pub async fn full_queue_round_trips(store: &dyn QueueStore) {
    let guild = random_guild();
    let queue = queue_with(guild, MAX_QUEUE_LEN + 1);
    assert_eq!(queue.upcoming.len(), MAX_QUEUE_LEN);
    let stored = save(store, &queue).await;
    assert_eq!(load(store, guild).await, Some(stored));
}

/// Two tasks load the same queue and save concurrently: exactly one wins,
/// the other gets a conflict, and the winner's queue is what is stored.
///
/// Takes an `Arc` because the two writers run as separate tasks.
pub async fn concurrent_saves_one_wins(store: Arc<dyn QueueStore>) {
    let guild = random_guild();
    save(&*store, &queue_with(guild, 1)).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|n| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut queue = store.load(guild).await.expect("load succeeds").expect("queue exists");
                queue.enqueue(track(100 + n)).expect("room");
                // Both have read version 1 before either writes.
                barrier.wait().await;
                (queue.clone(), store.save(&queue).await)
            })
        })
        .collect();

    let mut winners = Vec::new();
    let mut conflicts = 0;
    for writer in writers {
        let (queue, result) = writer.await.expect("writer task completes");
        match result {
            Ok(version) => winners.push(GuildQueue { version, ..queue }),
            Err(e) if e.kind() == StoreErrorKind::Conflict => conflicts += 1,
            Err(e) => panic!("unexpected store error: {e:?}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (1, 1), "exactly one Ok and one Conflict");
    assert_eq!(winners[0].version, 2);
    assert_eq!(load(&*store, guild).await.as_ref(), Some(&winners[0]));
}

/// Runs every behaviour above against `store`.
pub async fn run_all_queue_store(store: Arc<dyn QueueStore>) {
    let s = &*store;
    load_missing_guild_is_none(s).await;
    first_save_needs_version_zero_and_returns_one(s).await;
    round_trip_preserves_queue(s).await;
    save_increments_version(s).await;
    save_rejects_stale_version(s).await;
    save_rejects_version_ahead_of_stored(s).await;
    save_after_delete_needs_version_zero(s).await;
    delete_removes(s).await;
    delete_missing_guild_is_ok(s).await;
    guilds_are_isolated(s).await;
    full_queue_round_trips(s).await;
    concurrent_saves_one_wins(Arc::clone(&store)).await;
}
