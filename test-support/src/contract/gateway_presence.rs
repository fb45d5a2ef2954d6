//! The [`GatewayPresence`] contract: the heartbeat is the latest beat until
//! cleared; the starting marker is claimed only when absent or past its
//! deadline, by exactly one of concurrent claimers.
//!
//! The presence is deployment-wide: every behaviour needs a store of its
//! own (a new SQLite database, new DynamoDB tables).

use std::sync::Arc;

use timmybot_core::GatewayPresence;

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
