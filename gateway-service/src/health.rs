//! The health endpoint: the service is healthy when every shard is connected.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// Shared health counters. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    shards: AtomicU32,
    shards_ready: AtomicU32,
}

impl Health {
    /// Counters with no shards yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn set_shards(&self, count: u32) {
        self.inner.shards.store(count, Ordering::SeqCst);
    }

    pub(crate) fn shard_ready(&self) {
        self.inner.shards_ready.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn shard_lost(&self) {
        let _ = self.inner.shards_ready.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// Whether every shard is connected.
    pub fn is_healthy(&self) -> bool {
        let shards = self.inner.shards.load(Ordering::SeqCst);
        shards > 0 && self.inner.shards_ready.load(Ordering::SeqCst) >= shards
    }
}

/// `GET /health`: 200 with shard counts when healthy, 503 otherwise.
pub fn health_router(health: Health) -> axum::Router {
    axum::Router::new().route("/health", get(health_get)).with_state(health)
}

async fn health_get(State(health): State<Health>) -> (StatusCode, Json<serde_json::Value>) {
    let body = serde_json::json!({
        "shards": health.inner.shards.load(Ordering::SeqCst),
        "shards_ready": health.inner.shards_ready.load(Ordering::SeqCst),
    });
    let status = if health.is_healthy() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}
