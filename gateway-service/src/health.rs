//! The health endpoint (the service is healthy when every shard is
//! ready) and the players' frame statistics beside it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use timmybot_voice::{FrameStats, GuildPlayers, PlayerFrameStats, playback_meter};

/// Where one gateway shard stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardState {
    /// Opening a socket and identifying (no session yet, or it was refused).
    Connecting,
    /// READY or RESUMED arrived: events flow.
    Ready,
    /// The socket closed and the shard is resuming its session.
    Resuming,
    /// Closed and not coming back by itself (shutdown, or a close code
    /// twilight does not reconnect after).
    Disconnected,
}

impl ShardState {
    /// The state's name in `GET /health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Ready => "ready",
            Self::Resuming => "resuming",
            Self::Disconnected => "disconnected",
        }
    }
}

/// Each shard's state, shared with the health endpoint. Cheap to clone.
///
/// A state per shard id, not a count of READY events: a shard that sends
/// READY twice (it identified again) is still one shard.
#[derive(Debug, Clone, Default)]
pub struct Health {
    shards: Arc<Mutex<BTreeMap<u32, ShardState>>>,
}

impl Health {
    /// No shards yet (unhealthy).
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts tracking shards `ids`, each connecting; forgets any others.
    pub(crate) fn set_shards(&self, ids: impl IntoIterator<Item = u32>) {
        let mut shards = self.lock();
        shards.clear();
        shards.extend(ids.into_iter().map(|id| (id, ShardState::Connecting)));
    }

    /// Records where shard `id` stands now.
    pub(crate) fn set_state(&self, id: u32, state: ShardState) {
        self.lock().insert(id, state);
    }

    /// Every shard with its state, by id.
    pub fn shards(&self) -> Vec<(u32, ShardState)> {
        self.lock().iter().map(|(id, state)| (*id, *state)).collect()
    }

    /// Whether there are shards and every one is ready.
    pub fn is_healthy(&self) -> bool {
        let shards = self.lock();
        !shards.is_empty() && shards.values().all(|state| *state == ShardState::Ready)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, ShardState>> {
        self.shards.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The body of `GET /health`: each shard with its state, and the counts.
///
/// ```json
/// {"shards":[{"id":0,"state":"ready"},{"id":1,"state":"resuming"}],"shard_count":2,"shards_ready":1}
/// ```
pub fn health_json(health: &Health) -> Value {
    let shards = health.shards();
    let ready = shards.iter().filter(|(_, state)| *state == ShardState::Ready).count();
    json!({
        "shards": shards.iter().map(|(id, state)| json!({"id": id, "state": state.as_str()})).collect::<Vec<_>>(),
        "shard_count": shards.len(),
        "shards_ready": ready,
    })
}

/// `GET /health`: 200 when every shard is ready, 503 otherwise; the body
/// ([`health_json`]) names each shard's state either way.
pub fn health_router(health: Health) -> axum::Router {
    axum::Router::new().route("/health", get(health_get)).with_state(health)
}

async fn health_get(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let status = if health.is_healthy() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health_json(&health)))
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
    fn a_duplicate_ready_does_not_make_two_shards_healthy() {
        let health = Health::new();
        assert!(!health.is_healthy(), "no shards yet");
        health.set_shards([0, 1]);
        health.set_state(0, ShardState::Ready);
        // Shard 0 identified again: a second READY on the same shard.
        health.set_state(0, ShardState::Ready);
        assert!(!health.is_healthy(), "shard 1 never got ready");
        assert_eq!(health_json(&health)["shards"][1], json!({"id": 1, "state": "connecting"}));
        health.set_state(1, ShardState::Ready);
        assert!(health.is_healthy());
        health.set_state(1, ShardState::Resuming);
        assert!(!health.is_healthy());
        assert_eq!(
            health_json(&health),
            json!({
                "shards": [{"id": 0, "state": "ready"}, {"id": 1, "state": "resuming"}],
                "shard_count": 2,
                "shards_ready": 1,
            })
        );
    }

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
