//! [`TrackCache`] on DynamoDB: one item per key in the track cache table
//! ([`crate::DynamoTables::track_cache`]).
//!
//! The table is global, not partitioned by guild: what a link or a search
//! resolves to is the same whoever asks, so it is no guild's data, and one
//! guild's lookup serves the next. Item layout:
//! - `key` (S, the partition key): the SHA-256 of the cache key, in
//!   lowercase hex. A partition key holds at most 2048 bytes and cache keys
//!   up to [`timmybot_core::MAX_TRACK_CACHE_KEY_BYTES`], so every key is
//!   hashed, short ones too: one rule, and a short key can never collide
//!   with the hash of a long one;
//! - `value` (S): the JSON text as given;
//! - `expires_at` (N): the expiry in Unix seconds, rounded up, the table's
//!   TTL attribute ([`crate::TTL_ATTRIBUTE`]). DynamoDB deletes expired
//!   items lazily (typically within days), so it only keeps the table
//!   small;
//! - `expires_at_ms` (N): the exact expiry in Unix milliseconds, which
//!   reads compare with the caller's `now_ms`. Rounding the TTL up means
//!   DynamoDB never deletes an item before the port says it expired.
//!
//! No `schema_version`: the value's layout is the caller's, who changes the
//! key when it changes (see [`TrackCache`]).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};
use timmybot_core::{StoreError, StoreErrorKind, TrackCache, check_track_cache_key, check_track_cache_value};

use crate::dynamo_store::{Item, unavailable};
use crate::{DynamoStore, TRACK_CACHE_KEY_ATTRIBUTE, TTL_ATTRIBUTE};

/// The stored value (JSON text).
const VALUE: &str = "value";
/// The exact expiry, Unix milliseconds.
const EXPIRES_AT_MS: &str = "expires_at_ms";

/// The item key of a cache key: its SHA-256 in lowercase hex.
pub(crate) fn hashed_key(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl DynamoStore {
    fn cache_item_key(&self, key: &str) -> Item {
        HashMap::from([(TRACK_CACHE_KEY_ATTRIBUTE.to_owned(), AttributeValue::S(hashed_key(key)))])
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::with_source(StoreErrorKind::Corrupt, format!("track cache item without a readable {what}"))
}

#[async_trait]
impl TrackCache for DynamoStore {
    async fn get(&self, key: &str, now_ms: u64) -> Result<Option<String>, StoreError> {
        check_track_cache_key(key)?;
        // Strongly consistent, so a get right after a put sees it, as the
        // port promises; a cached value is a few kilobytes, so the doubled
        // read cost is a unit or two.
        let Some(mut item) = self.get_raw(&self.tables().track_cache, self.cache_item_key(key)).await? else {
            return Ok(None);
        };
        let expires_at_ms = match item.get(EXPIRES_AT_MS) {
            Some(AttributeValue::N(n)) => n.parse::<u64>().map_err(|_| corrupt(EXPIRES_AT_MS))?,
            _ => return Err(corrupt(EXPIRES_AT_MS)),
        };
        // The TTL deletes expired items late, so an item here may be dead.
        if now_ms >= expires_at_ms {
            return Ok(None);
        }
        match item.remove(VALUE) {
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            _ => Err(corrupt(VALUE)),
        }
    }

    async fn put(&self, key: &str, value: &str, expires_at_ms: u64) -> Result<(), StoreError> {
        check_track_cache_key(key)?;
        check_track_cache_value(value)?;
        let mut item = self.cache_item_key(key);
        item.insert(VALUE.to_owned(), AttributeValue::S(value.to_owned()));
        item.insert(TTL_ATTRIBUTE.to_owned(), AttributeValue::N(expires_at_ms.div_ceil(1000).to_string()));
        item.insert(EXPIRES_AT_MS.to_owned(), AttributeValue::N(expires_at_ms.to_string()));
        // Unconditional: the last put wins, as a cache wants.
        self.client()
            .put_item()
            .table_name(&self.tables().track_cache)
            .set_item(Some(item))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        check_track_cache_key(key)?;
        self.client()
            .delete_item()
            .table_name(&self.tables().track_cache)
            .set_key(Some(self.cache_item_key(key)))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_to_the_sha256_hex_of_their_bytes() {
        // sha256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(hashed_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hashed_key("").len(), 64);
        assert_ne!(hashed_key("caf\u{e9}"), hashed_key("cafe\u{301}"));
    }
}
