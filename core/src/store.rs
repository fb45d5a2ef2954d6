//! Storage ports: small capability traits, one per repository.

use async_trait::async_trait;

use crate::player::PlayerState;
use crate::{
    AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, GuildId, GuildSettings,
    InteractionId, Secret, SecretError, SlotUsage, StoreError, StoreErrorKind,
};

/// Persists each guild's player: queue, history, loop mode, volume, paused
/// state, voice channel and the anchor of the current track's position.
///
/// Saves are conditional: `save` succeeds only when the stored version is
/// still the one the state was read at (`state.version`), and stores it
/// with `version + 1`. A state never saved has version 0. A save is atomic
/// for readers: a load sees the whole old state or the whole new one.
#[async_trait]
pub trait PlayerStore: Send + Sync + 'static {
    /// The guild's player, or `None` when it has none.
    async fn load(&self, guild: GuildId) -> Result<Option<PlayerState>, StoreError>;

    /// Stores `state` if nobody saved since it was read; returns the new version.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::Conflict`] when the stored version moved on.
    async fn save(&self, state: &PlayerState) -> Result<u64, StoreError>;

    /// Removes the guild's player (no error when there is none).
    async fn delete(&self, guild: GuildId) -> Result<(), StoreError>;

    /// Every guild whose stored player is active ([`PlayerState::is_active`]:
    /// in a voice channel with a track), for a new process to resume. Read
    /// from an index of active players, never a scan of all guilds.
    async fn active_guilds(&self) -> Result<Vec<GuildId>, StoreError>;

    /// Records that this deployment's players were alive and playing at
    /// `at_ms` (Unix milliseconds). Written about once a second while any
    /// track plays, so that after a crash the positions are recovered to
    /// within that interval instead of counting the downtime as played.
    async fn mark_alive(&self, at_ms: u64) -> Result<(), StoreError>;

    /// The last [`Self::mark_alive`] time, if any.
    async fn last_alive(&self) -> Result<Option<u64>, StoreError>;
}

/// Persists each guild's settings, conditional on the version like
/// [`PlayerStore::save`].
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    /// The guild's settings, or `None` when it never changed any.
    async fn load_settings(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError>;

    /// Stores `settings` if nobody saved since they were read; returns the
    /// new version.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::Conflict`] when the stored version moved on.
    async fn save_settings(&self, settings: &GuildSettings) -> Result<u64, StoreError>;
}

/// Persists the allowlist: each guild's record, its audit trail, and the
/// deployment's slot limit.
///
/// Every change goes through [`AllowlistStore::apply`], which writes the
/// record, appends its event and moves the approved count in one atomic
/// step, conditional on the record version read (as [`QueueStore::save`]):
/// of two maintainers deciding the same guild at once, exactly one wins.
#[async_trait]
pub trait AllowlistStore: Send + Sync + 'static {
    /// The guild's record, or `None` when it never asked.
    async fn get(&self, guild: GuildId) -> Result<Option<AllowlistRecord>, StoreError>;

    /// Applies `change` atomically; returns the record's new version.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::Conflict`] when the stored version moved on;
    /// [`crate::StoreErrorKind::LimitReached`] when the change takes a slot
    /// without forcing and every slot is taken. Nothing is written then.
    async fn apply(&self, change: &AllowlistChange) -> Result<u64, StoreError>;

    /// The guild's audit trail, newest first, at most `limit` events.
    async fn history(&self, guild: GuildId, limit: usize) -> Result<Vec<AllowlistEvent>, StoreError>;

    /// Records in `state`, most recently changed first, `limit` per page.
    /// `cursor` is a page's `next_cursor`. Maintainer tooling only: this is
    /// the one read across guilds, and it uses an index, never a scan.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::InvalidInput`] for a cursor this store did
    /// not hand out.
    async fn list(
        &self,
        state: AllowlistState,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AllowlistPage, StoreError>;

    /// How many guilds are approved, and the limit.
    async fn slot_usage(&self) -> Result<SlotUsage, StoreError>;

    /// Sets (or with `None`, removes) the slot limit. Guilds already
    /// approved stay approved when the limit drops below their number.
    async fn set_slot_limit(&self, limit: Option<u64>) -> Result<SlotUsage, StoreError>;
}

/// Reads application secrets by name.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// The secret called `name`.
    ///
    /// # Errors
    /// [`SecretError::NotFound`] when there is none.
    async fn get(&self, name: &str) -> Result<Secret, SecretError>;
}

/// How long a [`CommandLedger`] entry lives: far longer than a bus message
/// can come back (SQS moves it to the dead-letter queue after five receives,
/// a few minutes), and than Discord keeps an interaction token (15 minutes).
pub const COMMAND_LEDGER_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Remembers which commands already took effect, so that a bus message
/// delivered again (its visibility timeout ran out, or the process died
/// before acknowledging it) does not run a second time.
///
/// An entry is one `(guild, interaction id)` with an expiry in Unix
/// milliseconds from the caller's clock; it counts while
/// `now_ms < expires_at_ms`. Expired entries are deleted lazily (DynamoDB's
/// TTL, a bounded sweep on SQLite), so reads check the time themselves.
#[async_trait]
pub trait CommandLedger: Send + Sync + 'static {
    /// Records that `interaction` of `guild` took effect, until
    /// `expires_at_ms`. The write is conditional: true when this call
    /// recorded it, false when an entry alive at `now_ms` was there already
    /// (which is left as it was).
    async fn record_ran(
        &self,
        guild: GuildId,
        interaction: InteractionId,
        now_ms: u64,
        expires_at_ms: u64,
    ) -> Result<bool, StoreError>;

    /// Whether `interaction` of `guild` has an entry alive at `now_ms`.
    async fn already_ran(&self, guild: GuildId, interaction: InteractionId, now_ms: u64) -> Result<bool, StoreError>;
}

/// The longest [`TrackCache`] key, in bytes of UTF-8: room for the links
/// members paste (a few hundred bytes even with tracking parameters) and a
/// search with its prefix, while bounding what one entry may cost.
pub const MAX_TRACK_CACHE_KEY_BYTES: usize = 4 * 1024;

/// The largest [`TrackCache`] value, in bytes of UTF-8. A track's metadata
/// is about a kilobyte and a page of search results a few dozen; the limit
/// keeps a DynamoDB item (400 KB at most, key and attributes included) well
/// inside what the table takes.
pub const MAX_TRACK_CACHE_VALUE_BYTES: usize = 300 * 1024;

/// Remembers what a link or a search resolved to, for a while, so the same
/// one is not resolved twice in a row (the sources' APIs are rate-limited
/// and slow next to a store read).
///
/// Keys are any text up to [`MAX_TRACK_CACHE_KEY_BYTES`]; adapters that
/// cannot hold a key that long store a hash of it, so two keys never share
/// an entry unless they are equal. Values are JSON text up to
/// [`MAX_TRACK_CACHE_VALUE_BYTES`], opaque to the store: its layout belongs
/// to the caller, who changes the key (a prefix with a version) when it
/// changes the layout. Times are Unix milliseconds from the caller's clock;
/// an entry is alive while `now_ms < expires_at_ms`. Expired entries are
/// deleted lazily (DynamoDB's TTL, a bounded sweep on SQLite), so reads
/// check the time themselves.
///
/// The cache is deployment-wide, not partitioned by guild: metadata of a
/// public link is the same whoever asks for it, and holds no guild data.
#[async_trait]
pub trait TrackCache: Send + Sync + 'static {
    /// The cached value of `key`, unless it expired by `now_ms` (unix millis).
    ///
    /// # Errors
    /// [`StoreErrorKind::TooLarge`] for a key over [`MAX_TRACK_CACHE_KEY_BYTES`].
    async fn get(&self, key: &str, now_ms: u64) -> Result<Option<String>, StoreError>;

    /// Stores `value` (JSON text) under `key` until `expires_at_ms`,
    /// replacing whatever was there.
    ///
    /// # Errors
    /// [`StoreErrorKind::TooLarge`] for a key over
    /// [`MAX_TRACK_CACHE_KEY_BYTES`] or a value over
    /// [`MAX_TRACK_CACHE_VALUE_BYTES`]; nothing is stored then, and an older
    /// value under the key stays.
    async fn put(&self, key: &str, value: &str, expires_at_ms: u64) -> Result<(), StoreError>;

    /// Forgets `key` (no error when nothing is stored under it).
    ///
    /// # Errors
    /// [`StoreErrorKind::TooLarge`] for a key over [`MAX_TRACK_CACHE_KEY_BYTES`].
    async fn remove(&self, key: &str) -> Result<(), StoreError>;
}

/// Refuses a [`TrackCache`] key over [`MAX_TRACK_CACHE_KEY_BYTES`], with
/// its size and the limit (never the key: it may be a member's link) in
/// the error's source. Every adapter checks with this, so the limit is the
/// same on all.
///
/// # Errors
/// [`StoreErrorKind::TooLarge`].
pub fn check_track_cache_key(key: &str) -> Result<(), StoreError> {
    check_size("key", key.len(), MAX_TRACK_CACHE_KEY_BYTES)
}

/// Refuses a [`TrackCache`] value over [`MAX_TRACK_CACHE_VALUE_BYTES`]
/// (see [`check_track_cache_key`]).
///
/// # Errors
/// [`StoreErrorKind::TooLarge`].
pub fn check_track_cache_value(value: &str) -> Result<(), StoreError> {
    check_size("value", value.len(), MAX_TRACK_CACHE_VALUE_BYTES)
}

fn check_size(what: &str, len: usize, max: usize) -> Result<(), StoreError> {
    if len > max {
        return Err(StoreError::with_source(
            StoreErrorKind::TooLarge,
            format!("track cache {what} is {len} bytes, over the limit of {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn sizes_up_to_the_limits_pass_and_one_byte_more_is_too_large_and_says_so() {
        assert!(check_track_cache_key(&"k".repeat(MAX_TRACK_CACHE_KEY_BYTES)).is_ok());
        assert!(check_track_cache_value(&"v".repeat(MAX_TRACK_CACHE_VALUE_BYTES)).is_ok());
        let key = format!("https://example.com/{}", "k".repeat(MAX_TRACK_CACHE_KEY_BYTES));
        let err = check_track_cache_key(&key).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge);
        assert!(!err.is_retryable());
        let why = err.source().unwrap().to_string();
        assert_eq!(why, format!("track cache key is {} bytes, over the limit of 4096", key.len()));
        assert!(!why.contains("example.com"), "the key is not echoed: {why}");
        let err = check_track_cache_value(&"v".repeat(MAX_TRACK_CACHE_VALUE_BYTES + 1)).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge);
        assert_eq!(err.to_string(), "too large for the store");
        assert!(err.source().unwrap().to_string().contains("value is 307201 bytes"));
    }

    #[test]
    fn the_size_is_counted_in_utf8_bytes_not_characters() {
        // 1024 four-byte notes fill the limit exactly; one two-byte letter more is over.
        let key = "🎵".repeat(MAX_TRACK_CACHE_KEY_BYTES / 4);
        assert!(check_track_cache_key(&key).is_ok());
        assert_eq!(check_track_cache_key(&format!("{key}é")).unwrap_err().kind(), StoreErrorKind::TooLarge);
    }
}
