//! The [`GatewayPresence`] contract: the heartbeat is the latest beat until
//! cleared; the starting marker is claimed only when absent or past its
//! deadline, by exactly one of concurrent claimers.
//!
//! The presence is deployment-wide: every behaviour needs a store of its
//! own (a new SQLite database, new DynamoDB tables).

use std::sync::Arc;

use timmybot_core::{ApplicationId, GatewayPresence, InteractionId, Secret, StartWaiter};

/// A time well after any the behaviours use as "before".
const T: u64 = 1_800_000_000_000;

/// A fresh store has no heartbeat and no starting marker.
pub async fn fresh_store_has_no_beat_and_no_marker(presence: &dyn GatewayPresence) {
    assert_eq!(presence.last_beat().await.unwrap(), None);
    assert_eq!(presence.start_deadline().await.unwrap(), None);
}

/// The last beat is the latest written; clearing removes it (and clearing
/// nothing is fine).
pub async fn last_beat_is_the_latest_until_cleared(presence: &dyn GatewayPresence) {
    presence.beat(T).await.unwrap();
    presence.beat(T + 15_000).await.unwrap();
    assert_eq!(presence.last_beat().await.unwrap(), Some(T + 15_000));
    presence.clear_beat().await.unwrap();
    assert_eq!(presence.last_beat().await.unwrap(), None);
    presence.clear_beat().await.unwrap();
}

/// With no marker the claim wins and stores its deadline; a second claim
/// before that deadline (or exactly at it) loses and changes nothing.
pub async fn claim_wins_once_until_the_deadline(presence: &dyn GatewayPresence) {
    assert!(presence.claim_start(T, T + 180_000).await.unwrap());
    assert_eq!(presence.start_deadline().await.unwrap(), Some(T + 180_000));
    assert!(!presence.claim_start(T + 1_000, T + 181_000).await.unwrap());
    assert!(!presence.claim_start(T + 180_000, T + 360_000).await.unwrap(), "the deadline itself has not passed");
    assert_eq!(presence.start_deadline().await.unwrap(), Some(T + 180_000));
}

/// Once the deadline passed, a claim wins again and moves the deadline.
pub async fn claim_after_the_deadline_wins_again(presence: &dyn GatewayPresence) {
    assert!(presence.claim_start(T, T + 180_000).await.unwrap());
    assert!(presence.claim_start(T + 180_001, T + 360_001).await.unwrap());
    assert_eq!(presence.start_deadline().await.unwrap(), Some(T + 360_001));
}

/// A cleared marker is gone, and the next claim wins; the heartbeat and the
/// marker are independent items.
pub async fn cleared_marker_can_be_claimed_and_beats_are_separate(presence: &dyn GatewayPresence) {
    assert!(presence.claim_start(T, T + 180_000).await.unwrap());
    presence.beat(T + 5_000).await.unwrap();
    presence.clear_start().await.unwrap();
    assert_eq!(presence.start_deadline().await.unwrap(), None);
    assert_eq!(presence.last_beat().await.unwrap(), Some(T + 5_000), "clearing the marker keeps the beat");
    presence.clear_start().await.unwrap();
    assert!(presence.claim_start(T + 6_000, T + 186_000).await.unwrap());
    presence.clear_beat().await.unwrap();
    assert_eq!(presence.start_deadline().await.unwrap(), Some(T + 186_000), "clearing the beat keeps the marker");
}

/// Of many claims racing on an empty store, exactly one wins.
pub async fn concurrent_claims_one_wins(presence: Arc<dyn GatewayPresence>) {
    let claims: Vec<_> = (0..20u64)
        .map(|n| {
            let presence = presence.clone();
            tokio::spawn(async move { presence.claim_start(T + n, T + n + 180_000).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for claim in claims {
        wins += usize::from(claim.await.unwrap());
    }
    assert_eq!(wins, 1, "exactly one concurrent claim wins");
}

fn waiter(interaction: u64, expires_ms: u64) -> StartWaiter {
    StartWaiter {
        interaction: InteractionId::new(interaction).unwrap(),
        application: ApplicationId::new(42).unwrap(),
        token: Secret::new(format!("token-{interaction}")),
        expires_ms,
    }
}

/// Taking the waiters returns each one added (an interaction added twice
/// once), drops those whose token expired, and leaves none behind.
pub async fn waiters_are_taken_once_without_the_expired(presence: &dyn GatewayPresence) {
    assert_eq!(presence.take_waiters(T).await.unwrap(), []);
    presence.add_waiter(&waiter(1, T + 900_000)).await.unwrap();
    presence.add_waiter(&waiter(2, T + 500)).await.unwrap();
    presence.add_waiter(&waiter(3, T + 2_000)).await.unwrap();
    presence.add_waiter(&waiter(1, T + 900_000)).await.unwrap();
    let mut taken = presence.take_waiters(T + 1_000).await.unwrap();
    taken.sort_by_key(|w| w.interaction);
    assert_eq!(taken, [waiter(1, T + 900_000), waiter(3, T + 2_000)], "the expired one is dropped");
    assert_eq!(taken[0].token.expose(), "token-1");
    assert_eq!(presence.take_waiters(T + 1_000).await.unwrap(), [], "taken means removed");
    presence.claim_start(T, T + 180_000).await.unwrap();
    presence.add_waiter(&waiter(4, T + 900_000)).await.unwrap();
    presence.clear_start().await.unwrap();
    presence.clear_beat().await.unwrap();
    assert_eq!(presence.take_waiters(T).await.unwrap().len(), 1, "waiters are apart from the marker and the beat");
}

/// Two checks taking at once never both get the same member, and together
/// they get every one.
pub async fn concurrent_takes_split_the_waiters(presence: Arc<dyn GatewayPresence>) {
    for n in 1..=12 {
        presence.add_waiter(&waiter(n, T + 900_000)).await.unwrap();
    }
    let takes: Vec<_> = (0..2)
        .map(|_| {
            let presence = presence.clone();
            tokio::spawn(async move { presence.take_waiters(T).await.unwrap() })
        })
        .collect();
    let mut all = Vec::new();
    for take in takes {
        all.extend(take.await.unwrap().into_iter().map(|w| w.interaction.get()));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=12).collect::<Vec<u64>>(), "each waiter taken exactly once");
}
