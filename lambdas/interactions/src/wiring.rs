//! Builds the handler and its clients once per cold start.

use std::sync::Arc;

use timmybot_aws::SqsBus;
use timmybot_core::SystemClock;
use timmybot_interactions::InteractionHandler;

use crate::Config;

/// Builds the interactions handler: the SQS client and command bus, and the
/// real clock. Called once; every invocation shares the result.
pub async fn build_handler(config: Config) -> InteractionHandler {
    // Region, credentials and endpoint overrides (AWS_ENDPOINT_URL_SQS for the
    // local emulator) come from the Lambda environment.
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let bus = SqsBus::new(aws_sdk_sqs::Client::new(&sdk), config.command_queue_url);
    InteractionHandler::new(Arc::new(bus), Arc::new(SystemClock), config.public_key, config.application_id)
}
