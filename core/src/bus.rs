//! The command bus port: a durable, per-guild ordered queue of commands from
//! the interactions handler to the gateway service.

use async_trait::async_trait;

use crate::{BusError, BusMessage};

/// A received message; acknowledge it once handled, or it comes back.
#[derive(Debug)]
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
/// - an acknowledged message is not received again.
#[async_trait]
pub trait CommandBus: Send + Sync + 'static {
    /// Publishes a command.
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError>;

    /// Waits up to `wait` for messages; returns at most `max` (may be none).
    async fn receive(&self, max: usize, wait: std::time::Duration) -> Result<Vec<BusDelivery>, BusError>;

    /// Marks a delivery as handled.
    async fn ack(&self, delivery: &BusDelivery) -> Result<(), BusError>;

    /// How many messages wait or are in flight (received, not yet
    /// acknowledged): zero means nothing is left to do. Exact in process;
    /// on SQS an approximate count, which is never zero while a message
    /// was published more than a moment ago and not yet deleted.
    async fn outstanding(&self) -> Result<u64, BusError>;
}
