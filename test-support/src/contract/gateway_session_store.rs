//! The [`GatewaySessionStore`] contract: saved sessions come back exactly
//! once, a save replaces the last one, and the identify record counts by
//! time and keeps only the newest [`IDENTIFY_HISTORY_LIMIT`].
//!
//! The items are deployment-wide: each behaviour needs a store of its own.

use timmybot_core::{
    GatewaySession, GatewaySessionStore, IDENTIFY_HISTORY_LIMIT, SavedGatewaySessions, SavedVoiceState,
};

/// Two shards' sessions and a few voice states, saved at `saved_at_ms`.
pub fn two_shard_sessions(saved_at_ms: u64) -> SavedGatewaySessions {
    let session = |shard_id: u32| GatewaySession {
        shard_id,
        shard_count: 2,
        session_id: format!("{:032x}", rand::random::<u128>()),
        sequence: 40 + u64::from(shard_id),
        resume_url: "wss://gateway-us-east1-b.discord.gg".to_owned(),
    };
    SavedGatewaySessions {
        saved_at_ms,
        sessions: vec![session(0), session(1)],
        guilds: vec![81_384_788_765_712_384, 81_384_788_765_712_385],
        voice_states: vec![
            SavedVoiceState { guild_id: 81_384_788_765_712_384, user_id: 7, channel_id: 200, bot: false },
            SavedVoiceState { guild_id: 81_384_788_765_712_384, user_id: 8, channel_id: 200, bot: true },
        ],
    }
}

/// Nothing saved: nothing to take.
pub async fn take_without_save_is_none(store: &dyn GatewaySessionStore) {
    assert_eq!(store.take_sessions().await.expect("take succeeds"), None);
}

/// What was saved comes back exactly, once: the second take finds nothing.
pub async fn saved_sessions_are_taken_exactly_once(store: &dyn GatewaySessionStore) {
    let saved = two_shard_sessions(1_700_000_000_000);
    store.save_sessions(&saved).await.expect("save succeeds");
    assert_eq!(store.take_sessions().await.expect("take succeeds"), Some(saved));
    assert_eq!(store.take_sessions().await.expect("second take succeeds"), None, "a session is tried once");
}

/// A later save replaces the earlier one whole (no shard of the old one
/// lingers).
pub async fn a_save_replaces_the_last_one(store: &dyn GatewaySessionStore) {
    store.save_sessions(&two_shard_sessions(1_000)).await.expect("first save succeeds");
    let mut newer = two_shard_sessions(2_000);
    newer.sessions.truncate(1);
    newer.voice_states.clear();
    store.save_sessions(&newer).await.expect("second save succeeds");
    assert_eq!(store.take_sessions().await.expect("take succeeds"), Some(newer));
}

/// Identifies are counted from a time on, inclusive.
pub async fn identifies_are_counted_since_a_time(store: &dyn GatewaySessionStore) {
    assert_eq!(store.identifies_since(0).await.expect("count succeeds"), 0);
    for at in [1_000, 2_000, 3_000] {
        store.record_identify(at).await.expect("record succeeds");
    }
    assert_eq!(store.identifies_since(0).await.unwrap(), 3);
    assert_eq!(store.identifies_since(2_000).await.unwrap(), 2, "the bound is inclusive");
    assert_eq!(store.identifies_since(3_001).await.unwrap(), 0);
}

/// The record keeps the newest [`IDENTIFY_HISTORY_LIMIT`] and drops older.
pub async fn the_identify_record_is_bounded(store: &dyn GatewaySessionStore) {
    let total = IDENTIFY_HISTORY_LIMIT as u64 + 5;
    for at in 1..=total {
        store.record_identify(at * 10).await.expect("record succeeds");
    }
    assert_eq!(store.identifies_since(0).await.unwrap(), IDENTIFY_HISTORY_LIMIT);
    // The five oldest (10..=50) are gone, the sixth (60) is kept.
    assert_eq!(store.identifies_since(60).await.unwrap(), IDENTIFY_HISTORY_LIMIT);
    assert_eq!(store.identifies_since(61).await.unwrap(), IDENTIFY_HISTORY_LIMIT - 1);
}

/// Recording identifies leaves the saved sessions alone, and taking the
/// sessions leaves the record alone.
pub async fn sessions_and_identifies_are_independent(store: &dyn GatewaySessionStore) {
    let saved = two_shard_sessions(5_000);
    store.save_sessions(&saved).await.unwrap();
    let before = store.identifies_since(0).await.unwrap();
    store.record_identify(5_000).await.unwrap();
    assert_eq!(store.take_sessions().await.unwrap(), Some(saved));
    assert_eq!(store.identifies_since(0).await.unwrap(), before + 1);
}

/// Every behaviour above, on the one store given (each on a fresh state:
/// the store must start empty).
pub async fn run_all_gateway_session_store(store: &dyn GatewaySessionStore) {
    take_without_save_is_none(store).await;
    saved_sessions_are_taken_exactly_once(store).await;
    a_save_replaces_the_last_one(store).await;
    // Counts from an empty record: before anything records an identify.
    identifies_are_counted_since_a_time(store).await;
    sessions_and_identifies_are_independent(store).await;
}
