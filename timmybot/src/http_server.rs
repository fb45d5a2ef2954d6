//! The local HTTP server: the same handlers the Lambdas run, on one axum router.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use timmybot_gateway::{Health, PlayerStats, health_router, metrics_router};
use timmybot_interactions::{InteractionHandler, MAX_BODY_BYTES};
use timmybot_linking::{AccountLinks, SPOTIFY_CALLBACK_PATH};

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

/// `GET /oauth/spotify/callback`: where Spotify sends the member's browser
/// back after they allowed (or refused) the link; the same handler the
/// `lambdas/oauth` Function URL runs. Without account links, no route (404).
pub fn oauth_router(links: Option<Arc<AccountLinks>>) -> Router {
    match links {
        Some(links) => Router::new().route(SPOTIFY_CALLBACK_PATH, get(oauth_callback)).with_state(links),
        None => Router::new(),
    }
}

/// The callback's query: the provider's `state` and `code`, or `error`
/// (anything else ignored; a missing `state` is an expired link).
async fn oauth_callback(
    State(links): State<Arc<AccountLinks>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| query.get(name).map(String::as_str);
    let page = links.complete(field("state").unwrap_or_default(), field("code"), field("error")).await;
    let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // The page follows a code in the address bar: never cached, never
        // sent on as a referrer.
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (status, headers, page.html()).into_response()
}
