//! The command bus port: a durable, per-guild ordered queue of commands from
//! the interactions handler to the gateway service.

use std::time::Duration;

use async_trait::async_trait;

use crate::{BusError, BusMessage};

/// A received message; acknowledge it once handled, or it comes back.
#[derive(Debug, Clone)]
pub struct BusDelivery {
    /// The command.
    pub message: BusMessage,
    /// Adapter handle used by [`CommandBus::ack`] (an SQS receipt handle, …).
    pub receipt: String,
}

/// Carries [`BusMessage`]s in order per guild, at most once per interaction.
///
/// Contract (checked by the shared test suite over every adapter):
/// - messages of one guild are received in the order they were published;
/// - publishing the same interaction id twice delivers it once;
/// - an acknowledged message is not received again;
/// - a received message nobody acknowledges is received again once its
///   visibility timeout ([`Self::visibility_timeout`]) runs out, unless it
///   was extended ([`Self::extend`]) or released ([`Self::release`]).
#[async_trait]
pub trait CommandBus: Send + Sync + 'static {
    /// Publishes a command.
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError>;

    /// Waits up to `wait` for messages; returns at most `max` (may be none).
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<BusDelivery>, BusError>;

    /// Marks a delivery as handled.
    async fn ack(&self, delivery: &BusDelivery) -> Result<(), BusError>;

    /// How many messages wait or are in flight (received, not yet
    /// acknowledged): zero means nothing is left to do. Exact in process;
    /// on SQS an approximate count, which is never zero while a message
    /// was published more than a moment ago and not yet deleted.
    async fn outstanding(&self) -> Result<u64, BusError>;

    /// How long a received message stays invisible to other receivers,
    /// counted from the receive (or the last [`Self::extend`]).
    fn visibility_timeout(&self) -> Duration;

    /// Keeps a received, unacknowledged delivery invisible for `timeout`
    /// from now (SQS's ChangeMessageVisibility), so a command that runs
    /// long is not handed to another receiver meanwhile.
    ///
    /// # Errors
    /// When the delivery is no longer held (acknowledged, released, or its
    /// timeout ran out before this call) or the bus cannot be reached.
    async fn extend(&self, delivery: &BusDelivery, timeout: Duration) -> Result<(), BusError>;

    /// Gives a received delivery back unhandled: it is receivable again at
    /// once, in its place in its guild's order (visibility 0).
    ///
    /// # Errors
    /// As [`Self::extend`].
    async fn release(&self, delivery: &BusDelivery) -> Result<(), BusError>;
}
