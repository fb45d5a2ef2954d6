//! [`GatewayScaler`] on ECS: the gateway service's desired count, set with
//! `UpdateService` (1 to start, 0 to stop) and read with `DescribeServices`.

use async_trait::async_trait;
use aws_sdk_ecs::Client;
use timmybot_core::{GatewayScaler, ScaleError};

/// Starts and stops one ECS service.
#[derive(Debug, Clone)]
pub struct EcsScaler {
    client: Client,
    cluster: String,
    service: String,
}

impl EcsScaler {
    /// The scaler of `service` in `cluster` (names or ARNs).
    pub fn new(client: Client, cluster: impl Into<String>, service: impl Into<String>) -> Self {
        Self { client, cluster: cluster.into(), service: service.into() }
    }

    /// Sets the service's desired count.
    ///
    /// # Errors
    /// ECS refused or could not be reached.
    pub async fn set_desired(&self, count: i32) -> Result<(), ScaleError> {
        self.client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .desired_count(count)
            .send()
            .await
            .map_err(ScaleError::new)?;
        tracing::info!(cluster = %self.cluster, service = %self.service, desired = count, "gateway service scaled");
        Ok(())
    }

    /// The service's desired and running counts.
    ///
    /// # Errors
    /// ECS refused, could not be reached, or does not know the service.
    pub async fn counts(&self) -> Result<(i32, i32), ScaleError> {
        let output = self
            .client
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .map_err(ScaleError::new)?;
        let service = output
            .services
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| ScaleError::new(format!("ECS has no service {} in {}", self.service, self.cluster)))?;
        Ok((service.desired_count, service.running_count))
    }
}

#[async_trait]
impl GatewayScaler for EcsScaler {
    async fn ensure_running(&self) -> Result<(), ScaleError> {
        self.set_desired(1).await
    }

    async fn stop(&self) -> Result<(), ScaleError> {
        self.set_desired(0).await
    }
}
