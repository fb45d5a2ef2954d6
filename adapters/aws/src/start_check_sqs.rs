//! [`StartCheckTimer`] on SQS: a message with `DelaySeconds` on the
//! start-check queue (a standard queue: FIFO queues refuse per-message
//! delays), whose delivery invokes the start-check Lambda.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use timmybot_core::{ScaleError, StartCheckTimer};

/// SQS delays a message by at most 15 minutes.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// What the message says; the check reads the store, not the message.
const BODY: &str = r#"{"check":"gateway-start"}"#;

/// Sets start checks as delayed messages on one queue.
#[derive(Debug, Clone)]
pub struct SqsStartCheckTimer {
    client: Client,
    queue_url: String,
}

impl SqsStartCheckTimer {
    /// A timer that sends to the queue at `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }
}

/// `delay` in whole seconds, rounded up and held to what SQS accepts.
fn delay_seconds(delay: Duration) -> i32 {
    let seconds = delay.min(MAX_DELAY).as_millis().div_ceil(1000);
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

#[async_trait]
impl StartCheckTimer for SqsStartCheckTimer {
    async fn check_after(&self, delay: Duration) -> Result<(), ScaleError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(BODY)
            .delay_seconds(delay_seconds(delay))
            .send()
            .await
            .map_err(ScaleError::new)?;
        tracing::info!(delay_s = delay_seconds(delay), "start check set");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_to_seconds_and_stop_at_fifteen_minutes() {
        assert_eq!(delay_seconds(Duration::from_secs(180)), 180);
        assert_eq!(delay_seconds(Duration::from_millis(1_200)), 2);
        assert_eq!(delay_seconds(Duration::ZERO), 0);
        assert_eq!(delay_seconds(Duration::from_secs(3_600)), 900);
    }
}
