//! The [`LinkStateStore`] contract: a pending link's `state` is taken once,
//! never after its expiry, never when unknown, and exactly once under two
//! takes at once.

use std::sync::Arc;

use timmybot_core::{LINK_STATE_TTL_MS, LinkStateStore, PendingLink, Provider, StoreErrorKind};

use super::random_user;

const NOW: u64 = 1_800_000_000_000;

fn pending(provider: Provider, verifier: Option<&str>) -> PendingLink {
    let state = format!("st-{:032x}", rand::random::<u128>());
    PendingLink::new(state, random_user(), provider, verifier.map(str::to_owned), NOW)
}

/// A stored state comes back whole once; a second take finds nothing.
pub async fn a_state_is_taken_once(store: &dyn LinkStateStore) {
    let link = pending(Provider::Spotify, Some("dBjftJeZ4CVP-mJ0kmmH0u0t3o5vBSH5cDkPGe4_rA"));
    store.put_link_state(&link).await.unwrap();
    assert_eq!(store.take_link_state(&link.state, NOW + 1).await.unwrap(), Some(link.clone()));
    assert_eq!(store.take_link_state(&link.state, NOW + 2).await.unwrap(), None, "a replay links nothing");
}

/// A state past its expiry, or one never stored, is `None`; the expired one
/// is gone afterwards too.
pub async fn expired_and_unknown_states_are_none(store: &dyn LinkStateStore) {
    let link = pending(Provider::Google, None);
    store.put_link_state(&link).await.unwrap();
    let just_before = pending(Provider::Plex, None);
    store.put_link_state(&just_before).await.unwrap();
    assert_eq!(store.take_link_state(&link.state, NOW + LINK_STATE_TTL_MS).await.unwrap(), None, "at the deadline");
    assert_eq!(store.take_link_state(&link.state, NOW).await.unwrap(), None, "removed when found expired");
    let taken = store.take_link_state(&just_before.state, NOW + LINK_STATE_TTL_MS - 1).await.unwrap();
    assert_eq!(taken.map(|l| l.provider), Some(Provider::Plex), "a millisecond before the deadline");
    assert_eq!(store.take_link_state("never-made", NOW).await.unwrap(), None);
}

/// Storing a state that exists is a conflict and leaves the first.
pub async fn a_state_cannot_be_stored_twice(store: &dyn LinkStateStore) {
    let link = pending(Provider::Spotify, None);
    store.put_link_state(&link).await.unwrap();
    let other = PendingLink { user: random_user(), ..link.clone() };
    assert_eq!(store.put_link_state(&other).await.unwrap_err().kind(), StoreErrorKind::Conflict);
    assert_eq!(store.take_link_state(&link.state, NOW).await.unwrap().map(|l| l.user), Some(link.user));
}

/// Of many takes of one state at once, exactly one gets it.
pub async fn concurrent_takes_one_wins(store: Arc<dyn LinkStateStore>) {
    let link = pending(Provider::Spotify, Some("v"));
    store.put_link_state(&link).await.unwrap();
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let (store, state) = (Arc::clone(&store), link.state.clone());
            tokio::spawn(async move { store.take_link_state(&state, NOW + 5).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for taker in takers {
        if let Some(taken) = taker.await.unwrap() {
            assert_eq!(taken, link);
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one callback links");
}
