//! Storage ports: small capability traits, one per repository.

use async_trait::async_trait;

use crate::{AllowlistRecord, GuildId, GuildQueue, Secret, SecretError, StoreError};

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

/// Persists each guild's allowlist record, with the same versioning as
/// [`QueueStore`].
#[async_trait]
pub trait AllowlistStore: Send + Sync + 'static {
    /// The guild's record, or `None` when it never asked.
    async fn get(&self, guild: GuildId) -> Result<Option<AllowlistRecord>, StoreError>;

    /// Stores `record` if nobody saved since it was read; returns the new version.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::Conflict`] when the stored version moved on.
    async fn put(&self, record: &AllowlistRecord) -> Result<u64, StoreError>;
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
