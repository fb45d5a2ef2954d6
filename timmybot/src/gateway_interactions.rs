//! Hands interactions that arrive over the gateway to the same handler that
//! serves `POST /interactions`.

use std::sync::Arc;

use async_trait::async_trait;
use timmybot_gateway::GatewayInteractions;
use timmybot_interactions::{Interaction, InteractionHandler, InteractionResponse};

/// The interactions handler, seen from the gateway service.
pub struct HandlerOverGateway(pub Arc<InteractionHandler>);

#[async_trait]
impl GatewayInteractions for HandlerOverGateway {
    async fn respond(&self, interaction: serde_json::Value) -> serde_json::Value {
        match serde_json::from_value::<Interaction>(interaction) {
            Ok(interaction) => self.0.handle_interaction(interaction).await.to_json(),
            Err(e) => {
                tracing::warn!(error = %e, "gateway interaction not understood");
                InteractionResponse::ephemeral("Sorry, I could not read that command.").to_json()
            }
        }
    }
}
