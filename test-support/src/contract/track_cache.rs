//! The [`TrackCache`] contract: text keys of any content up to the limit,
//! JSON text values, an expiry honoured to the millisecond on read.
//!
//! Times are the wall clock plus offsets, never small made-up numbers: a
//! backend may delete expired entries on its own by the wall clock
//! (DynamoDB's TTL, the SQLite sweep), and an entry this suite still reads
//! as alive must be alive by the wall clock too.

use std::time::{SystemTime, UNIX_EPOCH};

use timmybot_core::{MAX_TRACK_CACHE_KEY_BYTES, MAX_TRACK_CACHE_VALUE_BYTES, StoreErrorKind, TrackCache};

/// One minute, in milliseconds.
const MINUTE_MS: u64 = 60_000;

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
    u64::try_from(since.as_millis()).expect("millis fit in u64")
}

/// A key no other test will pick: `name` after a random prefix.
pub fn random_key(name: &str) -> String {
    format!("contract-{:016x}:{name}", rand::random::<u64>())
}

async fn get(cache: &dyn TrackCache, key: &str, now: u64) -> Option<String> {
    cache.get(key, now).await.expect("get succeeds")
}

async fn put(cache: &dyn TrackCache, key: &str, value: &str, expires_at: u64) {
    cache.put(key, value, expires_at).await.expect("put succeeds");
}

/// A key never stored has no value.
pub async fn missing_key_is_none(cache: &dyn TrackCache) {
    assert_eq!(get(cache, &random_key("never-stored"), now_ms()).await, None);
}

/// A value put comes back exactly, byte for byte, before it expires.
pub async fn get_after_put_returns_the_value(cache: &dyn TrackCache) {
    let key = random_key("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=x");
    let value =
        r#"{"origin":"spotify","id":"4uLU6hMCjMI75M1A2tKUQC","title":"Never \"Gonna\"\n","duration_ms":213000}"#;
    let now = now_ms();
    put(cache, &key, value, now + MINUTE_MS).await;
    assert_eq!(get(cache, &key, now).await.as_deref(), Some(value));
    assert_eq!(get(cache, &key, now).await.as_deref(), Some(value), "a read does not consume the entry");
}

/// An entry is alive while `now < expires_at`: one millisecond before the
/// expiry it is returned, at the expiry and after it is not. The stored
/// item may outlive its expiry (deletion is lazy), so the store checks.
pub async fn expiry_is_honoured_exactly_at_the_boundary(cache: &dyn TrackCache) {
    let key = random_key("boundary");
    let now = now_ms();
    // Not on a whole second, so a store rounding to seconds is caught.
    let expires_at = now + MINUTE_MS + 337;
    put(cache, &key, "\"v\"", expires_at).await;
    assert_eq!(get(cache, &key, expires_at - 1).await.as_deref(), Some("\"v\""), "alive 1 ms before");
    assert_eq!(get(cache, &key, expires_at).await, None, "expired at the boundary");
    assert_eq!(get(cache, &key, expires_at + 1).await, None, "expired after it");
    assert_eq!(get(cache, &key, now).await.as_deref(), Some("\"v\""), "reads at an earlier time still see it");

    let stale = random_key("already-expired");
    put(cache, &stale, "\"old\"", now - 1).await;
    assert_eq!(get(cache, &stale, now).await, None, "an entry put already expired is never returned");
}

/// A second put replaces the value and the expiry: a shorter expiry ends
/// the entry earlier, a longer one brings an expired entry back.
pub async fn put_overwrites_value_and_expiry(cache: &dyn TrackCache) {
    let key = random_key("overwrite");
    let now = now_ms();
    put(cache, &key, "\"first\"", now + 10 * MINUTE_MS).await;
    put(cache, &key, "\"second\"", now + MINUTE_MS).await;
    assert_eq!(get(cache, &key, now).await.as_deref(), Some("\"second\""));
    assert_eq!(get(cache, &key, now + MINUTE_MS).await, None, "the new, shorter expiry applies");
    put(cache, &key, "\"third\"", now + 5 * MINUTE_MS).await;
    assert_eq!(get(cache, &key, now + 2 * MINUTE_MS).await.as_deref(), Some("\"third\""));
}

/// `remove` forgets one key and no other; removing a missing key is fine.
pub async fn remove_forgets_the_key(cache: &dyn TrackCache) {
    let (gone, kept) = (random_key("gone"), random_key("kept"));
    let now = now_ms();
    put(cache, &gone, "1", now + MINUTE_MS).await;
    put(cache, &kept, "2", now + MINUTE_MS).await;
    cache.remove(&gone).await.expect("remove succeeds");
    assert_eq!(get(cache, &gone, now).await, None);
    assert_eq!(get(cache, &kept, now).await.as_deref(), Some("2"), "other keys stay");
    cache.remove(&gone).await.expect("removing again is fine");
    cache.remove(&random_key("never-stored")).await.expect("removing a missing key is fine");
    put(cache, &gone, "3", now + MINUTE_MS).await;
    assert_eq!(get(cache, &gone, now).await.as_deref(), Some("3"), "a removed key can be put again");
}

/// Long keys are compared whole: two 3000-byte keys that differ only in
/// their last byte are two entries (a store that truncates keys, or hashes
/// a prefix, fails here). A key of exactly the limit works too, and keys
/// differing only in case or trailing space are distinct.
pub async fn long_keys_are_distinct(cache: &dyn TrackCache) {
    let stem = random_key("");
    let body = "x".repeat(3000 - stem.len() - 1);
    let (a, b) = (format!("{stem}{body}a"), format!("{stem}{body}b"));
    assert_eq!((a.len(), b.len()), (3000, 3000));
    let now = now_ms();
    put(cache, &a, "\"a\"", now + MINUTE_MS).await;
    put(cache, &b, "\"b\"", now + MINUTE_MS).await;
    assert_eq!(get(cache, &a, now).await.as_deref(), Some("\"a\""));
    assert_eq!(get(cache, &b, now).await.as_deref(), Some("\"b\""));
    cache.remove(&a).await.unwrap();
    assert_eq!(get(cache, &b, now).await.as_deref(), Some("\"b\""), "removing one leaves the other");

    let longest = format!("{stem}{}", "y".repeat(MAX_TRACK_CACHE_KEY_BYTES - stem.len()));
    assert_eq!(longest.len(), MAX_TRACK_CACHE_KEY_BYTES);
    put(cache, &longest, "\"longest\"", now + MINUTE_MS).await;
    assert_eq!(get(cache, &longest, now).await.as_deref(), Some("\"longest\""));

    let lower = format!("{stem}search:abba");
    put(cache, &lower, "\"lower\"", now + MINUTE_MS).await;
    for other in [format!("{stem}search:ABBA"), format!("{stem}search:abba "), format!("{stem}search:abb")] {
        assert_eq!(get(cache, &other, now).await, None, "{other:?} is another key");
    }
}

/// Keys and values keep every character: emoji, CJK, right-to-left text,
/// combining marks (the composed and decomposed "é" are two keys), quotes,
/// backslashes, control characters.
pub async fn unicode_keys_and_values_round_trip(cache: &dyn TrackCache) {
    let stem = random_key("");
    let now = now_ms();
    let entries = [
        (format!("{stem}search:🎵 ショパン 夜想曲"), r#"{"title":"夜想曲 第2番 🎹"}"#.to_owned()),
        (format!("{stem}search:فيروز"), r#"{"artist":"فيروز"}"#.to_owned()),
        (format!("{stem}search:caf\u{e9}"), r#"{"form":"composed"}"#.to_owned()),
        (format!("{stem}search:cafe\u{301}"), r#"{"form":"decomposed"}"#.to_owned()),
        (format!("{stem}q:\"a\\b\"\t\n\u{1}"), "\"\\u0000 \\\" \u{7f} \u{fffd}\"".to_owned()),
    ];
    for (key, value) in &entries {
        put(cache, key, value, now + MINUTE_MS).await;
    }
    for (key, value) in &entries {
        assert_eq!(get(cache, key, now).await.as_deref(), Some(value.as_str()), "{key:?}");
    }
}

/// A value of exactly the limit round-trips; one byte more is refused as
/// too large, and the value stored before stays. A key over its limit is
/// refused by every operation.
pub async fn oversize_entries_are_refused(cache: &dyn TrackCache) {
    let key = random_key("big");
    let now = now_ms();
    let fill = MAX_TRACK_CACHE_VALUE_BYTES - 2;
    let largest = format!("\"{}\"", "é".repeat(fill / 2));
    assert_eq!(largest.len(), MAX_TRACK_CACHE_VALUE_BYTES);
    put(cache, &key, &largest, now + MINUTE_MS).await;
    assert_eq!(get(cache, &key, now).await.as_deref(), Some(largest.as_str()));

    let over = format!("\"{}\"", "v".repeat(fill + 1));
    let err = cache.put(&key, &over, now + 2 * MINUTE_MS).await.expect_err("a value over the limit is refused");
    assert_eq!(err.kind(), StoreErrorKind::TooLarge, "{err:?}");
    assert_eq!(get(cache, &key, now).await.as_deref(), Some(largest.as_str()), "the refused put wrote nothing");

    let long_key = format!("{key}{}", "k".repeat(MAX_TRACK_CACHE_KEY_BYTES));
    let err = cache.put(&long_key, "1", now + MINUTE_MS).await.expect_err("a key over the limit is refused");
    assert_eq!(err.kind(), StoreErrorKind::TooLarge);
    assert_eq!(cache.get(&long_key, now).await.expect_err("get refuses it too").kind(), StoreErrorKind::TooLarge);
    assert_eq!(cache.remove(&long_key).await.expect_err("remove too").kind(), StoreErrorKind::TooLarge);
}

/// Runs every behaviour above against `cache`.
pub async fn run_all_track_cache(cache: &dyn TrackCache) {
    missing_key_is_none(cache).await;
    get_after_put_returns_the_value(cache).await;
    expiry_is_honoured_exactly_at_the_boundary(cache).await;
    put_overwrites_value_and_expiry(cache).await;
    remove_forgets_the_key(cache).await;
    long_keys_are_distinct(cache).await;
    unicode_keys_and_values_round_trip(cache).await;
    oversize_entries_are_refused(cache).await;
}
