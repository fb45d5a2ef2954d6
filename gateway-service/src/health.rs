//! The health endpoint (the service is healthy when every shard is
//! connected) and the players' frame statistics beside it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use timmybot_voice::{FrameStats, GuildPlayers, PlayerFrameStats, playback_meter};

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

/// Where `GET /metrics` reads the players from: empty until the gateway
/// service has started them. Cheap to clone; clones share the players.
#[derive(Clone, Default)]
pub struct PlayerStats {
    players: Arc<RwLock<Option<GuildPlayers>>>,
}

impl PlayerStats {
    /// No players yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn set(&self, players: GuildPlayers) {
        *self.players.write().expect("player stats lock poisoned") = Some(players);
    }

    /// Every player in voice that has played, with its frame statistics;
    /// empty before the players start.
    pub fn frame_stats(&self) -> Vec<PlayerFrameStats> {
        self.players
            .read()
            .expect("player stats lock poisoned")
            .as_ref()
            .map(GuildPlayers::frame_stats)
            .unwrap_or_default()
    }
}

/// `GET /metrics`: each player's 20 ms frames (sent, nulled, deficit) over
/// the last minute and in total, as JSON:
///
/// ```json
/// {"frame_ms":20,"expected_per_minute":3000,"players":[{"guild_id":"81384788765712384",
///   "has_track":true,"last_minute":{"sent":2998,"nulled":0,"deficit":1},
///   "total":{"sent":9120,"nulled":3,"deficit":2}}]}
/// ```
///
/// What the counts mean is in `timmybot_voice::playback_meter`. The list
/// names guilds: like `/health`, the route is for the operator, not for
/// the public.
pub fn metrics_router(stats: PlayerStats) -> axum::Router {
    axum::Router::new().route("/metrics", get(metrics_get)).with_state(stats)
}

fn counts_json(stats: FrameStats) -> Value {
    json!({ "sent": stats.sent, "nulled": stats.nulled, "deficit": stats.deficit })
}

/// The body of `GET /metrics`.
pub fn metrics_json(players: &[PlayerFrameStats]) -> Value {
    let players: Vec<Value> = players
        .iter()
        .map(|p| {
            json!({
                // Discord ids are strings in JSON: they pass 2^53.
                "guild_id": p.guild.get().to_string(),
                "has_track": p.has_track,
                "last_minute": counts_json(p.last_minute),
                "total": counts_json(p.total),
            })
        })
        .collect();
    json!({
        "frame_ms": playback_meter::FRAME.as_millis() as u64,
        "expected_per_minute": playback_meter::FRAMES_PER_MINUTE,
        "players": players,
    })
}

async fn metrics_get(State(stats): State<PlayerStats>) -> Json<Value> {
    Json(metrics_json(&stats.frame_stats()))
}

#[cfg(test)]
mod tests {
    use timmybot_core::GuildId;

    use super::*;

    #[test]
    fn the_metrics_body_lists_each_player_with_string_ids() {
        let player = PlayerFrameStats {
            guild: GuildId::new(81_384_788_765_712_384).unwrap(),
            has_track: true,
            last_minute: FrameStats { sent: 2998, nulled: 0, deficit: 1 },
            total: FrameStats { sent: 9120, nulled: 3, deficit: 2 },
        };
        assert_eq!(
            metrics_json(&[player]),
            json!({
                "frame_ms": 20,
                "expected_per_minute": 3000,
                "players": [{
                    "guild_id": "81384788765712384",
                    "has_track": true,
                    "last_minute": {"sent": 2998, "nulled": 0, "deficit": 1},
                    "total": {"sent": 9120, "nulled": 3, "deficit": 2},
                }],
            })
        );
        assert_eq!(metrics_json(&[])["players"], json!([]));
        assert!(PlayerStats::new().frame_stats().is_empty(), "no players before the service starts them");
    }
}
