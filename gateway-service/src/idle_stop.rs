//! Scale to zero, the gateway's side: the heartbeat the interactions
//! handler reads to know the gateway runs, and the idle stop.
//!
//! Once every shard is connected the service beats every
//! [`HEARTBEAT_INTERVAL`] and clears the starting marker (the start it
//! stood for is done). When the bot has been in no voice channel for
//! [`ScaleToZero::idle_stop_after`] (so nothing plays, and no guild has
//! 24/7 on: a 24/7 player never leaves its channel) and nothing is
//! outstanding on the bus, the service stops itself: it stops consuming,
//! stores every player (the graceful shutdown), sets its desired count to
//! 0, clears its heartbeat, then looks at the bus once more (its count,
//! and a one-second receive, since SQS's counts are approximate) and sets
//! the desired count back to 1 if a command arrived meanwhile, so the next
//! task takes it (a message that last receive took comes back after its
//! visibility timeout). A command published after the heartbeat is gone starts
//! the service through the interactions handler instead.

use std::sync::Arc;
use std::time::Duration;

use timmybot_core::{Clock, CommandBus, GatewayPresence, GatewayScaler, HEARTBEAT_INTERVAL};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::Health;

/// What the gateway needs to stop itself and be started again.
#[derive(Clone)]
pub struct ScaleToZero {
    /// Sets the gateway service's desired count.
    pub scaler: Arc<dyn GatewayScaler>,
    /// Where the heartbeat and the starting marker live.
    pub presence: Arc<dyn GatewayPresence>,
    /// How long the bot must be in no voice channel, with nothing on the
    /// bus, before the service stops itself (`TIMMYBOT_IDLE_STOP_MINUTES`,
    /// default 10 minutes).
    pub idle_stop_after: Duration,
}

/// The default of [`ScaleToZero::idle_stop_after`].
pub const DEFAULT_IDLE_STOP_AFTER: Duration = Duration::from_secs(10 * 60);

/// The running heartbeat and idle watch.
pub(crate) struct IdleStop {
    scale: ScaleToZero,
    bus: Arc<dyn CommandBus>,
    beats_stop: CancellationToken,
    heartbeat: JoinHandle<()>,
    idle: CancellationToken,
}

impl IdleStop {
    /// Starts the heartbeat (once `health` says every shard is connected)
    /// and the idle watch, which cancels `stopping` when the service has
    /// been idle long enough. `in_voice` says whether the bot is in any
    /// voice channel.
    pub(crate) fn start(
        scale: ScaleToZero,
        bus: Arc<dyn CommandBus>,
        health: Health,
        clock: Arc<dyn Clock>,
        in_voice: impl Fn() -> bool + Send + 'static,
        stopping: CancellationToken,
    ) -> Self {
        let beats_stop = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(scale.presence.clone(), health, clock, beats_stop.clone()));
        let idle = CancellationToken::new();
        let watch = watch_idle(in_voice, bus.clone(), scale.idle_stop_after, stopping.clone());
        let idle_flag = idle.clone();
        tokio::spawn(async move {
            if watch.await {
                info!("idle: no voice channel and nothing on the bus; stopping the gateway service");
                idle_flag.cancel();
                stopping.cancel();
            }
        });
        Self { scale, bus, beats_stop, heartbeat, idle }
    }

    /// After the graceful shutdown (players stored): stops the heartbeat
    /// and clears it; after an idle stop, also sets the desired count to 0
    /// first and back to 1 when a command is outstanding by then.
    pub(crate) async fn stand_down(self) {
        self.beats_stop.cancel();
        let _ = self.heartbeat.await;
        let idle = self.idle.is_cancelled();
        if idle && let Err(e) = self.scale.scaler.stop().await {
            warn!(error = %e, "could not set the gateway service's desired count to 0");
        }
        if let Err(e) = self.scale.presence.clear_beat().await {
            warn!(error = %e, "could not clear the gateway's heartbeat");
        }
        if !idle {
            return;
        }
        match last_look(self.bus.as_ref()).await {
            Ok(0) => info!("gateway service stopped for idleness"),
            outstanding => {
                // A command (or an unknown count) arrived while stopping: the
                // next task must take it.
                warn!(?outstanding, "commands arrived while stopping; asking for the next task");
                if let Err(e) = self.scale.scaler.ensure_running().await {
                    warn!(error = %e, "could not set the gateway service's desired count back to 1");
                }
            }
        }
    }
}

/// Whether anything arrived while stopping: the bus's count, and when that
/// says 0, one short receive too (SQS's counts are approximate and may lag a
/// message sent a moment ago). A message received here is not acknowledged:
/// it comes back after its visibility timeout, for the next task.
async fn last_look(bus: &dyn CommandBus) -> Result<u64, timmybot_core::BusError> {
    let outstanding = bus.outstanding().await?;
    if outstanding > 0 {
        return Ok(outstanding);
    }
    Ok(bus.receive(1, LAST_LOOK_WAIT).await?.len() as u64)
}

/// How long the last look's receive waits for a message.
const LAST_LOOK_WAIT: Duration = Duration::from_secs(1);

/// Beats every [`HEARTBEAT_INTERVAL`] from the moment every shard is
/// connected, clearing the starting marker and the waiting members at the
/// first beat (their commands run now and their replies are edited with
/// the outcome: a later start's check must not tell them it is late).
async fn heartbeat(presence: Arc<dyn GatewayPresence>, health: Health, clock: Arc<dyn Clock>, stop: CancellationToken) {
    while !health.is_healthy() {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let mut marker_cleared = false;
    loop {
        let now = clock.now_unix_millis();
        match presence.beat(now).await {
            Ok(()) if !marker_cleared => match clear_start(presence.as_ref(), now).await {
                Ok(waiters) => {
                    info!(waiters, "gateway up: heartbeat written, starting marker cleared");
                    marker_cleared = true;
                }
                Err(e) => warn!(error = %e, "could not clear the gateway's starting marker"),
            },
            Ok(()) => {}
            Err(e) => warn!(error = %e, "could not write the gateway's heartbeat"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(HEARTBEAT_INTERVAL) => {}
        }
    }
}

/// Removes the starting marker and the members waiting on it; returns how
/// many were waiting.
async fn clear_start(presence: &dyn GatewayPresence, now_ms: u64) -> Result<usize, timmybot_core::StoreError> {
    presence.clear_start().await?;
    Ok(presence.take_waiters(now_ms).await?.len())
}

/// How often the idle watch looks: often enough that the stop comes within
/// a sixth of `idle_after` of it being due, at most every 15 s.
fn check_every(idle_after: Duration) -> Duration {
    (idle_after / 6).clamp(Duration::from_millis(100), Duration::from_secs(15))
}

/// Returns `true` once the bot has been in no voice channel, with nothing
/// outstanding on `bus`, for `idle_after` without a break; `false` when
/// `stop` is cancelled first. A bus that cannot be asked counts as busy.
pub(crate) async fn watch_idle(
    in_voice: impl Fn() -> bool,
    bus: Arc<dyn CommandBus>,
    idle_after: Duration,
    stop: CancellationToken,
) -> bool {
    let every = check_every(idle_after);
    let mut idle_since = Instant::now();
    loop {
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tokio::time::sleep(every) => {}
        }
        let busy = in_voice()
            || match bus.outstanding().await {
                Ok(n) => n > 0,
                Err(e) => {
                    warn!(error = %e, "could not ask the bus what is outstanding");
                    true
                }
            };
        let now = Instant::now();
        if busy {
            idle_since = now;
        } else if now.duration_since(idle_since) >= idle_after {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use async_trait::async_trait;
    use timmybot_core::{BusDelivery, BusError, BusMessage};

    use super::*;

    #[derive(Default)]
    struct CountingBus(AtomicU64);

    #[async_trait]
    impl CommandBus for CountingBus {
        async fn publish(&self, _message: &BusMessage) -> Result<(), BusError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn receive(&self, _max: usize, _wait: Duration) -> Result<Vec<BusDelivery>, BusError> {
            Ok(Vec::new())
        }
        async fn ack(&self, _delivery: &BusDelivery) -> Result<(), BusError> {
            Ok(())
        }
        fn visibility_timeout(&self) -> Duration {
            Duration::from_secs(30)
        }
        async fn extend(&self, _delivery: &BusDelivery, _timeout: Duration) -> Result<(), BusError> {
            Ok(())
        }
        async fn release(&self, _delivery: &BusDelivery) -> Result<(), BusError> {
            Ok(())
        }
        async fn outstanding(&self) -> Result<u64, BusError> {
            Ok(self.0.load(Ordering::SeqCst))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_is_declared_only_after_the_whole_time_without_voice_or_commands() {
        let bus = Arc::new(CountingBus::default());
        let voice = Arc::new(AtomicBool::new(true));
        let in_voice = {
            let voice = voice.clone();
            move || voice.load(Ordering::SeqCst)
        };
        let idle_after = Duration::from_secs(600);
        let started = Instant::now();
        let watch = tokio::spawn(watch_idle(in_voice, bus.clone(), idle_after, CancellationToken::new()));
        // The watch looks every 100 s. In voice until 1250 s; a command
        // outstanding from 1550 s to 1650 s.
        tokio::time::sleep(Duration::from_secs(1250)).await;
        voice.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(300)).await;
        bus.0.store(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(100)).await;
        bus.0.store(0, Ordering::SeqCst);
        // Idle since the look at 1200 s would have stopped at 1800 s; the
        // command seen at 1600 s moved that to 2200 s.
        tokio::time::sleep(Duration::from_secs(200)).await;
        assert!(!watch.is_finished(), "the command seen at 1600 s restarted the idle time");
        assert!(watch.await.unwrap());
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(2200) && took < Duration::from_secs(2300), "declared idle at {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_watch_without_idleness() {
        let stop = CancellationToken::new();
        let watch =
            tokio::spawn(watch_idle(|| true, Arc::new(CountingBus::default()), Duration::from_secs(60), stop.clone()));
        tokio::time::sleep(Duration::from_secs(30)).await;
        stop.cancel();
        assert!(!watch.await.unwrap());
    }
}
