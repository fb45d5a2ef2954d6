//! The command-bus consumer: receives commands and runs each guild's in order.
//!
//! One worker task per guild with pending commands keeps a guild's commands
//! in arrival order while guilds run in parallel. A message is acknowledged
//! only after it was processed, so a crash or a shutdown before that leaves it
//! on a durable bus to be delivered again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use timmybot_core::{BusDelivery, BusErrorKind, CommandBus, GuildId};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use crate::CommandProcessor;

/// How long one receive call waits for messages (long polling).
const RECEIVE_WAIT: Duration = Duration::from_secs(2);
/// How long an idle guild worker lives before it is reaped.
const WORKER_IDLE: Duration = Duration::from_secs(60);

/// Consumes `bus` until `stop` is cancelled or the bus closes.
///
/// On stop, no new message is taken; each worker finishes the command it is
/// running and returns, leaving the rest unacknowledged.
pub async fn run(bus: Arc<dyn CommandBus>, processor: CommandProcessor, stop: CancellationToken) {
    let mut workers: HashMap<GuildId, mpsc::UnboundedSender<BusDelivery>> = HashMap::new();
    let mut tasks = JoinSet::new();
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => break,
            received = bus.receive(10, RECEIVE_WAIT) => received,
        };
        let deliveries = match received {
            Ok(deliveries) => deliveries,
            Err(e) if e.kind() == BusErrorKind::Closed => break,
            Err(e) => {
                warn!(error = %e, "receiving from the command bus failed");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        for delivery in deliveries {
            let guild = delivery.message.guild_id;
            let delivery = match workers.get(&guild) {
                Some(worker) => match worker.send(delivery) {
                    Ok(()) => continue,
                    Err(mpsc::error::SendError(d)) => d,
                },
                None => delivery,
            };
            // No live worker for this guild: start one.
            let (tx, rx) = mpsc::unbounded_channel();
            tx.send(delivery).expect("receiver is alive");
            workers.insert(guild, tx);
            tasks.spawn(guild_worker(rx, bus.clone(), processor.clone(), stop.clone()));
        }
        workers.retain(|_, w| !w.is_closed());
        while tasks.try_join_next().is_some() {}
    }
    drop(workers);
    while tasks.join_next().await.is_some() {}
}

async fn guild_worker(
    mut rx: mpsc::UnboundedReceiver<BusDelivery>,
    bus: Arc<dyn CommandBus>,
    processor: CommandProcessor,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = tokio::time::timeout(WORKER_IDLE, rx.recv()) => next,
        };
        let delivery = match next {
            Ok(Some(delivery)) => delivery,
            Ok(None) => return,
            Err(_idle) => {
                // Refuse new work, then run what slipped in before closing.
                rx.close();
                while let Ok(delivery) = rx.try_recv() {
                    handle(&bus, &processor, delivery).await;
                }
                return;
            }
        };
        handle(&bus, &processor, delivery).await;
    }
}

async fn handle(bus: &Arc<dyn CommandBus>, processor: &CommandProcessor, delivery: BusDelivery) {
    let span = info_span!(
        "bus_message",
        guild_id = %delivery.message.guild_id,
        interaction_id = %delivery.message.interaction_id,
        user_id = %delivery.message.user_id,
    );
    async {
        processor.process(&delivery.message).await;
        if let Err(e) = bus.ack(&delivery).await {
            warn!(error = %e, "acknowledging a command failed; it may run again");
        }
    }
    .instrument(span)
    .await;
}
