//! The gateway service's metrics: one record a minute.
//!
//! When [`GatewayDeps::metrics`](crate::GatewayDeps) has a recorder (in the
//! AWS deployment, an adapter that prints each record as an EMF line),
//! [`run`] hands it a record of service [`GATEWAY_SERVICE`] every
//! [`METRICS_INTERVAL`] and a last one at shutdown:
//! [`ACTIVE_PLAYERS`] (players with a current track at that moment),
//! [`FRAMES_SENT`], [`FRAMES_NULLED`] and [`FRAME_DEFICIT`] (20 ms frames
//! during the interval, summed over players; see
//! [`timmybot_voice::playback_meter`]), [`COMMANDS_PROCESSED`] and
//! [`COMMAND_ERRORS`] (during the interval, from [`CommandCounters`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use timmybot_core::metrics::{
    ACTIVE_PLAYERS, COMMAND_ERRORS, COMMANDS_PROCESSED, FRAME_DEFICIT, FRAMES_NULLED, FRAMES_SENT, GATEWAY_SERVICE,
    MetricRecord, MetricsRecorder, Unit,
};
use timmybot_voice::{GuildPlayers, PlaybackSample};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

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
    /// Active players now and the frames counted since the previous call.
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
        .metric(FRAMES_SENT, Unit::Count, playback.frames.sent as f64)
        .metric(FRAMES_NULLED, Unit::Count, playback.frames.nulled as f64)
        .metric(FRAME_DEFICIT, Unit::Count, playback.frames.deficit as f64)
        .metric(COMMANDS_PROCESSED, Unit::Count, processed as f64)
        .metric(COMMAND_ERRORS, Unit::Count, errors as f64)
}

/// Writes a record every `interval` until `stop` is cancelled, then one last
/// record covering the time since the previous one.
///
/// Cancel `stop` after the players have left their calls, so the final
/// record includes the frames of the tracks that were still playing.
pub async fn run(
    probe: Arc<dyn PlaybackProbe>,
    counters: CommandCounters,
    recorder: Arc<dyn MetricsRecorder>,
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
        recorder.record(&gateway_record(playback, processed, errors));
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use timmybot_voice::FrameStats;

    use super::*;

    /// Keeps the records it is handed.
    #[derive(Default)]
    struct Records(Mutex<Vec<MetricRecord>>);

    impl MetricsRecorder for Records {
        fn record(&self, record: &MetricRecord) {
            self.0.lock().unwrap().push(record.clone());
        }
    }

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

    fn sample(active_players: u64, sent: u64, nulled: u64, deficit: u64) -> PlaybackSample {
        PlaybackSample { active_players, frames: FrameStats { sent, nulled, deficit } }
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_every_interval_and_a_last_one_at_shutdown() {
        let records = Arc::new(Records::default());
        let probe =
            Arc::new(FakeProbe(Mutex::new(vec![sample(2, 5990, 3, 7), sample(1, 3000, 0, 0), sample(0, 120, 0, 3)])));
        let counters = CommandCounters::new();
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(probe, counters.clone(), records.clone(), METRICS_INTERVAL, stop.clone()));

        counters.record(false);
        counters.record(true);
        tokio::time::sleep(METRICS_INTERVAL / 2).await;
        assert!(records.0.lock().unwrap().is_empty(), "nothing before the first interval ends");
        tokio::time::sleep(METRICS_INTERVAL / 2 + Duration::from_millis(1)).await;
        counters.record(false);
        tokio::time::sleep(METRICS_INTERVAL).await;
        stop.cancel();
        task.await.unwrap();

        let records = records.0.lock().unwrap();
        let names = [ACTIVE_PLAYERS, FRAMES_SENT, FRAMES_NULLED, FRAME_DEFICIT, COMMANDS_PROCESSED, COMMAND_ERRORS];
        let values: Vec<Vec<f64>> =
            records.iter().map(|r| names.iter().map(|n| r.value(n).expect("every metric")).collect()).collect();
        assert_eq!(
            values,
            [
                vec![2.0, 5990.0, 3.0, 7.0, 2.0, 1.0],
                vec![1.0, 3000.0, 0.0, 0.0, 1.0, 0.0],
                vec![0.0, 120.0, 0.0, 3.0, 0.0, 0.0],
            ]
        );
        for record in records.iter() {
            assert_eq!(record.service(), GATEWAY_SERVICE);
        }
    }
}
