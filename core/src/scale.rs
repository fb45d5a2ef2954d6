//! Scale to zero: the ports that start and stop the gateway service, and
//! the store of its presence (heartbeat and "starting" marker).
//!
//! The interactions handler, receiving a voice command while the gateway's
//! heartbeat is missing or stale, claims the starting marker (one
//! conditional write: of a hundred commands arriving together, one wins)
//! and the winner asks the [`GatewayScaler`] to run the service. The gateway
//! beats every [`HEARTBEAT_INTERVAL`] while it runs, clears the marker on
//! its first beat, and stops itself ([`GatewayScaler::stop`]) when nothing
//! plays and nothing waits.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::{ApplicationId, InteractionId, Secret, StoreError};

/// How often the gateway writes its heartbeat.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// A heartbeat older than this (three missed beats) means the gateway is
/// not running.
pub const HEARTBEAT_STALE_AFTER: Duration = Duration::from_secs(45);

/// How long a start may take before the members waiting on it are told it
/// is late and the start is asked again (a Fargate task is usually up in
/// about a minute).
pub const START_DEADLINE: Duration = Duration::from_secs(180);

/// How long Discord lets a reply be edited after the interaction: a
/// waiting member's entry is useless after this.
pub const INTERACTION_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Whether a heartbeat at `last_beat_ms` (Unix milliseconds) says the
/// gateway runs at `now_ms`.
pub fn heartbeat_is_fresh(last_beat_ms: Option<u64>, now_ms: u64) -> bool {
    last_beat_ms.is_some_and(|at| now_ms.saturating_sub(at) <= HEARTBEAT_STALE_AFTER.as_millis() as u64)
}

/// Starts and stops the gateway service (on AWS: the ECS service's desired
/// count). Both calls are idempotent.
#[async_trait]
pub trait GatewayScaler: Send + Sync + 'static {
    /// Makes sure the service runs (desired count 1).
    async fn ensure_running(&self) -> Result<(), ScaleError>;

    /// Stops the service (desired count 0). A running task is not killed by
    /// this; it is the task itself that calls it before it exits.
    async fn stop(&self) -> Result<(), ScaleError>;
}

/// The gateway's presence, deployment-wide: its heartbeat and the marker
/// of a start asked for and not yet done. Times are Unix milliseconds.
///
/// Contract (checked by the shared test suite over every adapter):
/// - [`Self::last_beat`] is the latest [`Self::beat`], `None` after
///   [`Self::clear_beat`];
/// - [`Self::claim_start`] succeeds only when no marker exists or the
///   existing one's deadline has passed, atomically: of concurrent claims
///   exactly one wins;
/// - [`Self::clear_start`] removes the marker (no error when there is none).
#[async_trait]
pub trait GatewayPresence: Send + Sync + 'static {
    /// Records that the gateway is alive at `at_ms`.
    async fn beat(&self, at_ms: u64) -> Result<(), StoreError>;

    /// The last heartbeat, if any.
    async fn last_beat(&self) -> Result<Option<u64>, StoreError>;

    /// Removes the heartbeat (the gateway is stopping).
    async fn clear_beat(&self) -> Result<(), StoreError>;

    /// Puts the starting marker with `deadline_ms`, if there is none or the
    /// one there has a deadline before `now_ms`; returns whether it did.
    async fn claim_start(&self, now_ms: u64, deadline_ms: u64) -> Result<bool, StoreError>;

    /// The starting marker's deadline, if a marker exists.
    async fn start_deadline(&self) -> Result<Option<u64>, StoreError>;

    /// Removes the starting marker (the gateway is up).
    async fn clear_start(&self) -> Result<(), StoreError>;

    /// Records a member whose reply says the player is starting, so the
    /// start check can tell them when the start is late. Adding the same
    /// interaction twice keeps one entry.
    async fn add_waiter(&self, waiter: &StartWaiter) -> Result<(), StoreError>;

    /// Removes every waiting member and returns those whose reply can
    /// still be edited at `now_ms` (not past [`StartWaiter::expires_ms`]).
    async fn take_waiters(&self, now_ms: u64) -> Result<Vec<StartWaiter>, StoreError>;
}

/// A member waiting on a start: the interaction whose reply said "Starting
/// the player…". Kept until the gateway is up or the start check told them
/// it is late; the token edits that one reply and dies with it
/// ([`INTERACTION_TOKEN_LIFETIME`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartWaiter {
    /// The interaction (one entry per interaction).
    pub interaction: InteractionId,
    /// The application the interaction was sent to.
    pub application: ApplicationId,
    /// The interaction's token (edits its `@original` reply).
    pub token: Secret,
    /// When the token stops working, Unix milliseconds.
    pub expires_ms: u64,
}

/// Runs the start check once, after a delay: the timer a claimed start
/// sets so that members are told when the gateway is late even if nobody
/// sends another command (on AWS: a delayed message on the start-check
/// queue, which invokes the start-check Lambda).
#[async_trait]
pub trait StartCheckTimer: Send + Sync + 'static {
    /// Asks for one start check `delay` from now.
    async fn check_after(&self, delay: Duration) -> Result<(), ScaleError>;
}

/// Starting or stopping the gateway service failed.
#[derive(Debug)]
pub struct ScaleError {
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl ScaleError {
    /// An error caused by the adapter's own error (kept as the source).
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { source: source.into() }
    }
}

impl fmt::Display for ScaleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not reach the gateway service's scaling")
    }
}

impl std::error::Error for ScaleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_is_fresh_for_three_beats() {
        assert!(!heartbeat_is_fresh(None, 100_000));
        assert!(heartbeat_is_fresh(Some(55_000), 100_000));
        assert!(!heartbeat_is_fresh(Some(54_999), 100_000));
        // A beat from a clock slightly ahead is fresh, not an underflow.
        assert!(heartbeat_is_fresh(Some(100_500), 100_000));
    }
}
