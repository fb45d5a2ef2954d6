//! The SDK configuration every AWS entry point loads: region, credentials and
//! endpoint overrides from the default chain (environment, Lambda or ECS
//! role; `AWS_ENDPOINT_URL_<SERVICE>` points it at the local emulators), plus
//! explicit timeouts, because the SDK's default is to wait forever.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Timeouts for calls made while someone waits for an answer: a Discord
/// interaction must be answered within 3 s, so a hanging SQS or DynamoDB
/// call gives up after 1 s per attempt and 2.5 s in all (the standard retry
/// makes up to three attempts) and the member is told, instead of the
/// Lambda being killed at its own timeout.
pub fn interactive_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_millis(2500))
        .build()
}

/// Timeouts for the long-running gateway service: no operation limit,
/// because the command bus long-polls SQS for up to 20 s, but a connect
/// limit so an unreachable endpoint is noticed.
pub fn service_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(Duration::from_secs(3)).read_timeout(Duration::from_secs(30)).build()
}

/// Loads the default chain's configuration with `timeouts`.
pub async fn load_sdk_config(timeouts: TimeoutConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts).load().await
}
