//! The gateway service's CloudWatch metrics: one EMF record a minute.
//!
//! When [`GatewaySettings::emit_metrics`](crate::GatewaySettings) is on,
//! [`run`] writes a record with `Service = "gateway"` every
//! [`METRICS_INTERVAL`] and a last one at shutdown:
//! [`ACTIVE_PLAYERS`] (players with a current track at that moment),
//! [`FRAME_DEFICIT`] (20 ms frames the tracks fell behind wall-clock time
//! during the interval; see [`timmybot_voice::playback_meter`]),
//! [`COMMANDS_PROCESSED`] and [`COMMAND_ERRORS`] (during the interval, from
//! [`CommandCounters`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use timmybot_core::emf::{
    ACTIVE_PLAYERS, COMMAND_ERRORS, COMMANDS_PROCESSED, EmfEmitter, FRAME_DEFICIT, GATEWAY_SERVICE, MetricRecord, Unit,
};
use timmybot_voice::{GuildPlayers, PlaybackSample};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// How often a record is written: CloudWatch's standard resolution.
pub const METRICS_INTERVAL: Duration = Duration::from_secs(60);

/// Commands run and commands failed, counted by the
/// [`CommandProcessor`](crate::CommandProcessor) and taken (reset) by each
/// record. Cheap to clone; clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct CommandCounters(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    processed: AtomicU64,
    errors: AtomicU64,
}

impl CommandCounters {
    /// Counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one command; `failed` when it failed on our side.
    pub fn record(&self, failed: bool) {
        self.0.processed.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.0.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `(processed, errors)` since the last call, resetting both.
    pub fn take(&self) -> (u64, u64) {
        (self.0.processed.swap(0, Ordering::Relaxed), self.0.errors.swap(0, Ordering::Relaxed))
    }
}

/// Where the playback half of a record comes from: the players, or a fake.
#[async_trait]
pub trait PlaybackProbe: Send + Sync + 'static {
    /// Active players now and the frame deficit since the previous call.
    async fn playback_sample(&self) -> PlaybackSample;
}

#[async_trait]
impl PlaybackProbe for GuildPlayers {
    async fn playback_sample(&self) -> PlaybackSample {
        GuildPlayers::playback_sample(self).await
    }
}

/// The record for one interval.
pub fn gateway_record(playback: PlaybackSample, processed: u64, errors: u64) -> MetricRecord {
    MetricRecord::new(GATEWAY_SERVICE)
        .metric(ACTIVE_PLAYERS, Unit::Count, playback.active_players as f64)
        .metric(FRAME_DEFICIT, Unit::Count, playback.frame_deficit as f64)
        .metric(COMMANDS_PROCESSED, Unit::Count, processed as f64)
        .metric(COMMAND_ERRORS, Unit::Count, errors as f64)
}

/// Writes a record every `interval` until `stop` is cancelled, then one last
/// record covering the time since the previous one.
///
/// Cancel `stop` after the players have left their calls, so the final
/// record includes the deficit of the tracks that were still playing.
pub async fn run(
    probe: Arc<dyn PlaybackProbe>,
    counters: CommandCounters,
    emitter: EmfEmitter,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            () = stop.cancelled() => true,
            _ = ticks.tick() => false,
        };
        let playback = probe.playback_sample().await;
        let (processed, errors) = counters.take();
        if let Err(error) = emitter.emit(&gateway_record(playback, processed, errors)) {
            warn!(%error, "metrics record not written");
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use timmybot_core::ManualClock;
    use timmybot_core::emf::MemorySink;

    use super::*;

    /// Hands out prepared samples, then empty ones.
    struct FakeProbe(Mutex<Vec<PlaybackSample>>);

    #[async_trait]
    impl PlaybackProbe for FakeProbe {
        async fn playback_sample(&self) -> PlaybackSample {
            let mut samples = self.0.lock().unwrap();
            if samples.is_empty() { PlaybackSample::default() } else { samples.remove(0) }
        }
    }

    #[test]
    fn counters_are_reset_by_each_take() {
        let counters = CommandCounters::new();
        counters.record(false);
        counters.clone().record(true);
        assert_eq!(counters.take(), (2, 1));
        assert_eq!(counters.take(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_every_interval_and_a_last_one_at_shutdown() {
        let sink = MemorySink::new();
        let emitter = EmfEmitter::new(Arc::new(sink.clone()), Arc::new(ManualClock::at(1_767_225_600)));
        let probe = Arc::new(FakeProbe(Mutex::new(vec![
            PlaybackSample { active_players: 2, frame_deficit: 7 },
            PlaybackSample { active_players: 1, frame_deficit: 0 },
            PlaybackSample { active_players: 0, frame_deficit: 3 },
        ])));
        let counters = CommandCounters::new();
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(probe, counters.clone(), emitter, METRICS_INTERVAL, stop.clone()));

        counters.record(false);
        counters.record(true);
        tokio::time::sleep(METRICS_INTERVAL / 2).await;
        assert!(sink.lines().is_empty(), "nothing before the first interval ends");
        tokio::time::sleep(METRICS_INTERVAL / 2 + Duration::from_millis(1)).await;
        counters.record(false);
        tokio::time::sleep(METRICS_INTERVAL).await;
        stop.cancel();
        task.await.unwrap();

        let records = sink.records();
        let values: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r["ActivePlayers"].clone(),
                    r["FrameDeficit"].clone(),
                    r["CommandsProcessed"].clone(),
                    r["CommandErrors"].clone(),
                )
            })
            .collect();
        assert_eq!(
            values,
            [
                (json!(2), json!(7), json!(2), json!(1)),
                (json!(1), json!(0), json!(1), json!(0)),
                (json!(0), json!(3), json!(0), json!(0)),
            ]
        );
        for record in &records {
            assert_eq!(record["Service"], "gateway");
            assert_eq!(record["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Service"]]));
        }
    }
}
