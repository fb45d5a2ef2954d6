//! [`CommandBus`] on an SQS FIFO queue.
//!
//! The guild id is the message group, so SQS keeps each guild's commands in
//! order and hands out a guild's next command only once the previous one is
//! deleted (acknowledged) or its visibility timeout ends. The interaction id
//! is the deduplication id, so a retried publish within SQS's five-minute
//! window is dropped by SQS itself.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use timmybot_core::{BusDelivery, BusError, BusErrorKind, BusMessage, CommandBus};

use crate::SetupError;

/// SQS's longest long poll.
const MAX_WAIT_SECONDS: u64 = 20;
/// SQS's largest receive batch.
const MAX_BATCH: usize = 10;
/// Receives before a message moves to the dead-letter queue (see
/// [`create_queue`]).
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// The deployed queue's visibility timeout: longer than any one command
/// takes (a yt-dlp resolve may take 20 s, joining voice a few more), so SQS
/// never hands a command out twice while it runs, and short enough that a
/// crashed gateway's command comes back within a minute.
pub const COMMAND_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(60);

/// The command bus on one SQS FIFO queue.
///
/// Every receive asks SQS for this bus's visibility timeout (the
/// `VisibilityTimeout` of ReceiveMessage), so what the consumer's keep-alive
/// counts with is what SQS applies, whatever the queue's own attribute says.
#[derive(Debug, Clone)]
pub struct SqsBus {
    client: Client,
    queue_url: String,
    visibility_timeout: Duration,
}

impl SqsBus {
    /// A bus on the FIFO queue at `queue_url`, receiving with
    /// [`COMMAND_VISIBILITY_TIMEOUT`].
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into(), visibility_timeout: COMMAND_VISIBILITY_TIMEOUT }
    }

    /// This bus receiving with `timeout` instead, rounded up to whole
    /// seconds and capped at SQS's 12 hours (tests use a short one).
    #[must_use]
    pub fn with_visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = Duration::from_secs(whole_seconds(timeout));
        self
    }

    /// The queue this bus uses.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Deletes a message the port cannot decode, so it neither blocks its
    /// guild's group nor comes back. The body is not logged: it holds an
    /// interaction token.
    async fn drop_malformed(&self, message_id: Option<&str>, receipt: &str, error: &BusError) {
        tracing::warn!(message_id, error = %error, "dropping malformed command bus message");
        if let Err(e) = self.client.delete_message().queue_url(&self.queue_url).receipt_handle(receipt).send().await {
            // It will come back after the visibility timeout and, after
            // MAX_RECEIVE_COUNT receives, land in the dead-letter queue.
            tracing::warn!(message_id, error = %e, "could not delete malformed command bus message");
        }
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> BusError {
    BusError::with_source(BusErrorKind::Unavailable, e)
}

/// SQS's longest visibility timeout, in seconds (12 hours).
const MAX_VISIBILITY_SECONDS: u64 = 12 * 60 * 60;

/// `d` in whole seconds, rounded up (SQS counts seconds; rounding down could
/// let a message reappear before the caller expects), capped at SQS's most.
fn whole_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).min(MAX_VISIBILITY_SECONDS)
}

#[async_trait]
impl CommandBus for SqsBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.to_wire())
            .message_group_id(message.guild_id.to_string())
            .message_deduplication_id(message.interaction_id.to_string())
            .send()
            .await
            .map_err(unavailable)?;
        tracing::debug!(guild_id = %message.guild_id, interaction_id = %message.interaction_id, "command published");
        Ok(())
    }

    /// Long-polls for up to `wait`, rounded down to whole seconds and capped
    /// at SQS's 20; `max` is capped at SQS's 10.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<BusDelivery>, BusError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let batch = max.min(MAX_BATCH) as i32;
        let wait_seconds = wait.as_secs().min(MAX_WAIT_SECONDS) as i32;
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(batch)
            .wait_time_seconds(wait_seconds)
            .visibility_timeout(self.visibility_timeout.as_secs() as i32)
            .send()
            .await
            .map_err(unavailable)?;

        let mut deliveries = Vec::new();
        for raw in output.messages.unwrap_or_default() {
            let Some(receipt) = raw.receipt_handle else {
                // Without a receipt it cannot be acknowledged; SQS always
                // sends one, so this is a broken response, not a message.
                continue;
            };
            match BusMessage::from_wire(raw.body.as_deref().unwrap_or_default()) {
                Ok(message) => deliveries.push(BusDelivery { message, receipt }),
                Err(e) => self.drop_malformed(raw.message_id.as_deref(), &receipt, &e).await,
            }
        }
        Ok(deliveries)
    }

    /// `ApproximateNumberOfMessages` + `ApproximateNumberOfMessagesNotVisible`.
    async fn outstanding(&self) -> Result<u64, BusError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(unavailable)?;
        let attributes = output.attributes.unwrap_or_default();
        let count = |name: QueueAttributeName| -> Result<u64, BusError> {
            match attributes.get(&name) {
                Some(value) => value.parse::<u64>().map_err(unavailable),
                None => Err(BusError::new(BusErrorKind::Unavailable)),
            }
        };
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)?
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?)
    }

    async fn ack(&self, delivery: &BusDelivery) -> Result<(), BusError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&delivery.receipt)
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    fn visibility_timeout(&self) -> Duration {
        self.visibility_timeout
    }

    async fn extend(&self, delivery: &BusDelivery, timeout: Duration) -> Result<(), BusError> {
        self.change_visibility(delivery, whole_seconds(timeout)).await
    }

    async fn release(&self, delivery: &BusDelivery) -> Result<(), BusError> {
        self.change_visibility(delivery, 0).await
    }
}

impl SqsBus {
    /// ChangeMessageVisibility: `seconds` from now. SQS refuses a receipt
    /// whose message was deleted or is not in flight (its timeout ran out):
    /// that is [`BusErrorKind::NotHeld`].
    async fn change_visibility(&self, delivery: &BusDelivery, seconds: u64) -> Result<(), BusError> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(seconds as i32)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_message_not_inflight() || s.is_receipt_handle_is_invalid()) =>
            {
                Err(BusError::with_source(BusErrorKind::NotHeld, e))
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The queues made by [`create_queue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedQueue {
    /// The command queue (`<name>.fifo`).
    pub url: String,
    /// Its dead-letter queue (`<name>-dlq.fifo`).
    pub dead_letter_url: String,
}

/// Creates the FIFO command queue `<name>.fifo` and its dead-letter queue
/// `<name>-dlq.fifo`, with a redrive after [`MAX_RECEIVE_COUNT`] receives and
/// explicit deduplication ids; for tests and local development (production
/// queues come from CDK). Safe to run again with the same arguments.
///
/// `name` may be up to 71 characters (SQS allows 80 with the suffixes).
///
/// # Errors
/// [`SetupError`] naming the queue that could not be created.
pub async fn create_queue(
    client: &Client,
    name: &str,
    visibility_timeout: Duration,
) -> Result<CreatedQueue, SetupError> {
    let dlq_name = format!("{name}-dlq.fifo");
    let dead_letter_url = client
        .create_queue()
        .queue_name(&dlq_name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .map_err(|e| SetupError::new(&dlq_name, e))?
        .queue_url
        .ok_or_else(|| SetupError::new(&dlq_name, "no queue url in the response"))?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| SetupError::new(&dlq_name, e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| SetupError::new(&dlq_name, "no queue arn in the response"))?;

    let queue_name = format!("{name}.fifo");
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT });
    let url = client
        .create_queue()
        .queue_name(&queue_name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_timeout.as_secs().to_string())
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| SetupError::new(&queue_name, e))?
        .queue_url
        .ok_or_else(|| SetupError::new(&queue_name, "no queue url in the response"))?;
    Ok(CreatedQueue { url, dead_letter_url })
}
