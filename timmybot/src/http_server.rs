//! The local HTTP server: the same handlers the Lambdas run, on one axum router.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use timmybot_gateway::{Health, PlayerStats, health_router, metrics_router};
use timmybot_interactions::{InteractionHandler, MAX_BODY_BYTES};

/// `POST /interactions` (Discord's interactions endpoint), `GET /health`
/// and `GET /metrics` (the players' frame statistics).
pub fn router(handler: Arc<InteractionHandler>, health: Health, player_stats: PlayerStats) -> Router {
    Router::new()
        .route("/interactions", post(interactions_post))
        // Refuse large bodies while reading them, before any buffering or parsing.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(handler)
        .merge(health_router(health))
        .merge(metrics_router(player_stats))
}

async fn interactions_post(
    State(handler): State<Arc<InteractionHandler>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = handler.handle_http(&headers, &body).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, reply.content_type)], reply.body).into_response()
}
