//! Interactions that arrive over the gateway (INTERACTION_CREATE) instead of
//! over HTTP: a self-hoster without a public URL gets them this way. They are
//! handed to the same handler as HTTP ones and answered through
//! `POST /interactions/{id}/{token}/callback`.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::warn;
use twilight_model::application::interaction::Interaction;
use twilight_model::http::interaction::InteractionResponse;

/// Handles an interaction that arrived over the gateway, already trusted
/// (the gateway is an authenticated connection, so there is no signature).
///
/// Takes and returns Discord's JSON so this crate does not depend on the
/// handler's types; the binary wires the interactions handler in.
#[async_trait]
pub trait GatewayInteractions: Send + Sync + 'static {
    /// The interaction response (Discord's JSON) for `interaction` (Discord's JSON).
    async fn respond(&self, interaction: serde_json::Value) -> serde_json::Value;
}

pub(crate) async fn answer(
    handler: Arc<dyn GatewayInteractions>,
    http: Arc<twilight_http::Client>,
    interaction: Interaction,
) {
    let id = interaction.id;
    let token = interaction.token.clone();
    let app = interaction.application_id;
    let json = match serde_json::to_value(&interaction) {
        Ok(json) => json,
        Err(e) => {
            warn!(interaction_id = %id, error = %e, "could not re-encode a gateway interaction");
            return;
        }
    };
    let response = handler.respond(json).await;
    let response: InteractionResponse = match serde_json::from_value(response) {
        Ok(r) => r,
        Err(e) => {
            warn!(interaction_id = %id, error = %e, "handler produced a response twilight cannot send");
            return;
        }
    };
    if let Err(e) = http.interaction(app).create_response(id, &token, &response).await {
        // The error's Display may include the path with the token: log the kind only.
        warn!(interaction_id = %id, kind = ?std::mem::discriminant(e.kind()), "interaction callback failed");
    }
}
