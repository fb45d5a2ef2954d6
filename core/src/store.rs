//! Storage ports: small capability traits, one per repository.

use async_trait::async_trait;

use crate::player::PlayerState;
use crate::{
    AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, GuildId, GuildSettings, Secret,
    SecretError, SlotUsage, StoreError,
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
