//! The [`AccountStore`] contract: conditional saves, a member's links by
//! provider, and deletions that leave nothing of the member and touch no
//! other member.

use timmybot_core::{AccountStore, LinkState, LinkedAccount, Provider, StoreErrorKind, UserId};

fn member(id: u64) -> UserId {
    UserId::new(id).unwrap()
}

fn link(user: u64, provider: Provider) -> LinkedAccount {
    LinkedAccount {
        user: member(user),
        provider,
        account_name: Some(format!("member {user} on {provider}")),
        access_token: Some(format!("v1.sealed-access-{user}-{provider}")),
        refresh_token: Some(format!("v1.sealed-refresh-{user}-{provider}")),
        access_expires_ms: 1_800_000_000_000,
        grant_expires_ms: Some(1_815_000_000_000),
        linked_at_ms: 1_799_000_000_000,
        state: LinkState::Active,
        refresh_lease_until_ms: None,
        version: 0,
    }
}

/// A saved link reads back whole at version 1; none is there before.
pub async fn account_round_trips(store: &dyn AccountStore) {
    assert_eq!(store.load_account(member(1), Provider::Spotify).await.unwrap(), None);
    let account = LinkedAccount { refresh_lease_until_ms: Some(1_800_000_030_000), ..link(1, Provider::Spotify) };
    assert_eq!(store.save_account(&account).await.unwrap(), 1);
    let loaded = store.load_account(member(1), Provider::Spotify).await.unwrap().expect("stored");
    assert_eq!(loaded, LinkedAccount { version: 1, ..account });
    assert_eq!(store.load_account(member(1), Provider::Google).await.unwrap(), None, "another provider");
}

/// A save from a stale read (or a second first save) is a conflict and
/// changes nothing; one from the current version wins.
pub async fn stale_account_save_is_a_conflict(store: &dyn AccountStore) {
    let first = link(2, Provider::Google);
    store.save_account(&first).await.unwrap();
    let again = store.save_account(&first).await.unwrap_err();
    assert_eq!(again.kind(), StoreErrorKind::Conflict, "a second first save");
    let read = store.load_account(member(2), Provider::Google).await.unwrap().unwrap();
    let relinked =
        LinkedAccount { state: LinkState::NeedsRelink, access_token: None, refresh_token: None, ..read.clone() };
    assert_eq!(store.save_account(&relinked).await.unwrap(), 2);
    let stale = LinkedAccount { account_name: Some("stale".into()), ..read };
    assert_eq!(store.save_account(&stale).await.unwrap_err().kind(), StoreErrorKind::Conflict);
    let stored = store.load_account(member(2), Provider::Google).await.unwrap().unwrap();
    assert_eq!(stored.state, LinkState::NeedsRelink);
    assert_eq!(stored.access_token, None, "the relink's write stands");
    assert_eq!(stored.version, 2);
}

/// A member's links come back ordered by provider name, nobody else's.
pub async fn accounts_lists_one_member_by_provider(store: &dyn AccountStore) {
    for provider in [Provider::Spotify, Provider::Plex, Provider::Google] {
        store.save_account(&link(3, provider)).await.unwrap();
    }
    store.save_account(&link(4, Provider::Spotify)).await.unwrap();
    let listed: Vec<Provider> = store.accounts(member(3)).await.unwrap().iter().map(|a| a.provider).collect();
    assert_eq!(listed, [Provider::Google, Provider::Plex, Provider::Spotify]);
    assert_eq!(store.accounts(member(5)).await.unwrap(), []);
}

/// Unlinking one provider removes that link only; deleting the member
/// leaves nothing of them and the other member intact.
pub async fn deleting_leaves_nothing_of_the_member_and_no_one_else_touched(store: &dyn AccountStore) {
    for provider in Provider::ALL {
        store.save_account(&link(6, provider)).await.unwrap();
    }
    store.save_account(&link(7, Provider::Spotify)).await.unwrap();
    assert!(store.delete_account(member(6), Provider::Plex).await.unwrap());
    assert!(!store.delete_account(member(6), Provider::Plex).await.unwrap(), "already gone");
    assert_eq!(store.accounts(member(6)).await.unwrap().len(), 2);
    assert_eq!(store.delete_member(member(6)).await.unwrap(), 2);
    assert_eq!(store.accounts(member(6)).await.unwrap(), []);
    assert_eq!(store.load_account(member(6), Provider::Spotify).await.unwrap(), None);
    assert_eq!(store.delete_member(member(6)).await.unwrap(), 0);
    assert_eq!(store.accounts(member(7)).await.unwrap().len(), 1, "another member is untouched");
    // A new link after deleting starts over at version 1.
    assert_eq!(store.save_account(&link(6, Provider::Spotify)).await.unwrap(), 1);
}

/// Of eight processes claiming the refresh lease from one read, exactly one
/// gets it, and the stored lease is the winner's (what makes refresh
/// single-flight across processes).
pub async fn one_of_concurrent_lease_claims_wins(store: std::sync::Arc<dyn AccountStore>) {
    store.save_account(&link(9, Provider::Spotify)).await.unwrap();
    let read = store.load_account(member(9), Provider::Spotify).await.unwrap().unwrap();
    let claims: Vec<_> = (0..8u64)
        .map(|n| {
            let (store, claim) =
                (store.clone(), LinkedAccount { refresh_lease_until_ms: Some(1_000 + n), ..read.clone() });
            tokio::spawn(async move { store.save_account(&claim).await.map(|_| 1_000 + n) })
        })
        .collect();
    let mut won = Vec::new();
    for claim in claims {
        match claim.await.unwrap() {
            Ok(lease) => won.push(lease),
            Err(e) => assert_eq!(e.kind(), StoreErrorKind::Conflict),
        }
    }
    assert_eq!(won.len(), 1, "exactly one claim wins: {won:?}");
    let stored = store.load_account(member(9), Provider::Spotify).await.unwrap().unwrap();
    assert_eq!(stored.refresh_lease_until_ms, Some(won[0]));
    assert_eq!(stored.version, read.version + 1);
}
