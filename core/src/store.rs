//! Storage ports: small capability traits, one per repository.

use async_trait::async_trait;

use crate::{
    AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, GuildId, GuildQueue, Secret,
    SecretError, SlotUsage, StoreError,
};

/// Persists each guild's queue.
///
/// Saves are conditional: `save` succeeds only when the stored version is
/// still the one the queue was read at (`queue.version`), and stores the
/// queue with `version + 1`. A queue never saved has version 0.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// The guild's queue, or `None` when it has none.
    async fn load(&self, guild: GuildId) -> Result<Option<GuildQueue>, StoreError>;

    /// Stores `queue` if nobody saved since it was read; returns the new version.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::Conflict`] when the stored version moved on.
    async fn save(&self, queue: &GuildQueue) -> Result<u64, StoreError>;

    /// Removes the guild's queue (no error when there is none).
    async fn delete(&self, guild: GuildId) -> Result<(), StoreError>;
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
