//! Port errors in domain words; adapters keep their SDK error as the source.

use std::error::Error as StdError;
use std::fmt;

type Source = Box<dyn StdError + Send + Sync>;

/// What went wrong in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// A conditional write lost: someone else wrote a newer version first.
    Conflict,
    /// The backend could not be reached or refused the call; may be retried.
    Unavailable,
    /// A stored item could not be read back into a domain type.
    Corrupt,
    /// A deployment-wide limit (the allowlist's slots) is reached.
    LimitReached,
    /// The caller passed something the store cannot use (a forged or
    /// stale page cursor).
    InvalidInput,
    /// The caller passed a key or value over the store's size limit (a
    /// track cache entry; see [`crate::MAX_TRACK_CACHE_VALUE_BYTES`]).
    /// Nothing was written; trying again with the same input fails again.
    TooLarge,
}

/// A store operation failed.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    source: Option<Source>,
}

impl StoreError {
    /// An error of `kind` with no underlying cause.
    pub fn new(kind: StoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by an adapter's own error.
    pub fn with_source(kind: StoreErrorKind, source: impl Into<Source>) -> Self {
        Self { kind, source: Some(source.into()) }
    }

    /// What went wrong.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, StoreErrorKind::Unavailable | StoreErrorKind::Conflict)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StoreErrorKind::Conflict => f.write_str("conflicting write: the item changed since it was read"),
            StoreErrorKind::Unavailable => f.write_str("store unavailable"),
            StoreErrorKind::Corrupt => f.write_str("stored item could not be decoded"),
            StoreErrorKind::LimitReached => f.write_str("limit reached"),
            StoreErrorKind::InvalidInput => f.write_str("invalid input for the store"),
            StoreErrorKind::TooLarge => f.write_str("too large for the store"),
        }
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

/// A secret could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// No secret of that name exists.
    #[error("secret {0} not found")]
    NotFound(String),
    /// The backend failed; the message names the secret, never its value.
    #[error("secret {name} could not be read")]
    Unavailable {
        /// The secret's name.
        name: String,
        /// The adapter's error.
        #[source]
        source: Source,
    },
}

/// What went wrong on the command bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BusErrorKind {
    /// The bus could not be reached; may be retried.
    Unavailable,
    /// A message on the bus could not be decoded; it should be dropped.
    Malformed,
    /// The bus was closed (the process is shutting down).
    Closed,
    /// The delivery is no longer held: acknowledged, released, or its
    /// visibility timeout ran out (it may be with another receiver now).
    NotHeld,
}

/// A command bus operation failed.
#[derive(Debug)]
pub struct BusError {
    kind: BusErrorKind,
    source: Option<Source>,
}

impl BusError {
    /// An error of `kind` with no underlying cause.
    pub fn new(kind: BusErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by an adapter's own error.
    pub fn with_source(kind: BusErrorKind, source: impl Into<Source>) -> Self {
        Self { kind, source: Some(source.into()) }
    }

    /// What went wrong.
    pub fn kind(&self) -> BusErrorKind {
        self.kind
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == BusErrorKind::Unavailable
    }
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BusErrorKind::Unavailable => f.write_str("command bus unavailable"),
            BusErrorKind::Malformed => f.write_str("malformed command bus message"),
            BusErrorKind::Closed => f.write_str("command bus closed"),
            BusErrorKind::NotHeld => f.write_str("command bus delivery no longer held"),
        }
    }
}

impl StdError for BusError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}
