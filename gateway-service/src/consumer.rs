//! The command-bus consumer: receives commands and runs each guild's in order,
//! each one once.
//!
//! One worker task per guild with pending commands keeps a guild's commands
//! in arrival order while guilds run in parallel. A message is acknowledged
//! only after it was processed, so a crash or a shutdown before that leaves it
//! on a durable bus to be delivered again.
//!
//! Every delivery the consumer holds (the one a worker runs and those queued
//! behind it) is kept invisible by a keep-alive that extends each one every
//! third of the bus's visibility timeout, so a batch never outlives its
//! timeout however long its commands take, and no other receiver is handed a
//! command while it runs. On stop, deliveries not started are released, so
//! the next task receives them at once.
//!
//! A command that took effect is recorded in the [`CommandLedger`] (the
//! handler says when, through [`Effect::took_effect`]); a delivery whose
//! command is recorded there is only acknowledged. That covers a crash
//! between the effect and the acknowledgement, and a timeout that ran out
//! anyway (a keep-alive that could not reach the bus).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use timmybot_core::{
    BusDelivery, BusErrorKind, BusMessage, COMMAND_LEDGER_TTL, Clock, CommandBus, CommandLedger, GuildId,
};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

/// How long one receive call waits for messages while the consumer holds
/// none (long polling: SQS's longest, so an idle consumer makes three
/// requests a minute). Stopping does not wait for it: the receive is raced
/// against the stop token.
pub const RECEIVE_WAIT: Duration = Duration::from_secs(20);
/// How long a receive waits while the consumer holds deliveries. A guild's
/// next message is receivable only once the one in flight is acknowledged;
/// SQS hands it to a poll already waiting, but moto (the emulator the tests
/// run on) only to a poll started after the acknowledgement, and a poll
/// started while a guild was busy would hold that guild's next command
/// back for its whole wait. Short polls while busy cost a request every
/// 2 s only while commands run.
pub const BUSY_RECEIVE_WAIT: Duration = Duration::from_secs(2);
/// How long an idle guild worker lives before it is reaped.
const WORKER_IDLE: Duration = Duration::from_secs(60);

/// Runs one command from the bus; the consumer around it acknowledges,
/// keeps the delivery invisible and keeps the ledger.
#[async_trait]
pub trait CommandHandler: Send + Sync + 'static {
    /// Runs `message`. Calls [`Effect::took_effect`] as soon as the command
    /// changed something (the player accepted it), before answering the
    /// member, so that a redelivery of it is not run again.
    async fn handle(&self, message: &BusMessage, effect: &Effect);
}

/// Records, for the command being handled, that it took effect.
pub struct Effect {
    ledger: Arc<dyn CommandLedger>,
    clock: Arc<dyn Clock>,
    guild: GuildId,
    interaction: timmybot_core::InteractionId,
}

impl Effect {
    /// Records the command in the ledger, for [`COMMAND_LEDGER_TTL`]. A
    /// failed write is logged: a redelivery may then run the command again.
    pub async fn took_effect(&self) {
        let now = self.clock.now_unix_millis();
        let expires_at = now.saturating_add(u64::try_from(COMMAND_LEDGER_TTL.as_millis()).unwrap_or(u64::MAX));
        match self.ledger.record_ran(self.guild, self.interaction, now, expires_at).await {
            Ok(true) => debug!("command recorded as run"),
            // Another task ran it too (its delivery came back while this one
            // ran); nothing to undo from here, but worth knowing.
            Ok(false) => warn!("command was recorded as run by another task already"),
            Err(e) => warn!(error = %e, "recording that the command ran failed; a redelivery may run it again"),
        }
    }
}

/// Consumes `bus` until `stop` is cancelled or the bus closes, running each
/// command through `handler` unless `ledger` says it already ran.
///
/// On stop, no new message is taken; each worker finishes the command it is
/// running, acknowledges it and returns; the deliveries queued behind it are
/// released at once.
pub async fn run(
    bus: Arc<dyn CommandBus>,
    handler: Arc<dyn CommandHandler>,
    ledger: Arc<dyn CommandLedger>,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    let ctx = Arc::new(Context { bus, handler, ledger, clock, held: Mutex::new(HashMap::new()) });
    let keep_alive_stop = CancellationToken::new();
    let keep_alive = tokio::spawn(keep_alive(ctx.clone(), keep_alive_stop.clone()));
    let mut workers: HashMap<GuildId, mpsc::UnboundedSender<BusDelivery>> = HashMap::new();
    let mut tasks = JoinSet::new();
    loop {
        let wait = if ctx.held.lock().await.is_empty() { RECEIVE_WAIT } else { BUSY_RECEIVE_WAIT };
        let received = tokio::select! {
            () = stop.cancelled() => break,
            received = ctx.bus.receive(10, wait) => received,
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
        {
            let mut held = ctx.held.lock().await;
            for delivery in &deliveries {
                held.insert(delivery.receipt.clone(), delivery.clone());
            }
        }
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
            tasks.spawn(guild_worker(rx, ctx.clone(), stop.clone()));
        }
        workers.retain(|_, w| !w.is_closed());
        while tasks.try_join_next().is_some() {}
    }
    drop(workers);
    while tasks.join_next().await.is_some() {}
    // Whatever no worker got to (none should be left: each releases its own).
    let left: Vec<BusDelivery> = ctx.held.lock().await.drain().map(|(_, d)| d).collect();
    for delivery in left {
        ctx.release(&delivery).await;
    }
    keep_alive_stop.cancel();
    let _ = keep_alive.await;
}

/// What the consumer's tasks share.
struct Context {
    bus: Arc<dyn CommandBus>,
    handler: Arc<dyn CommandHandler>,
    ledger: Arc<dyn CommandLedger>,
    clock: Arc<dyn Clock>,
    /// Received and neither acknowledged nor released, by receipt. An async
    /// lock, held across a keep-alive round and a release, so an extend
    /// can never land after the release of the same delivery (which would
    /// hide a released message again).
    held: Mutex<HashMap<String, BusDelivery>>,
}

impl Context {
    async fn release(&self, delivery: &BusDelivery) {
        let mut held = self.held.lock().await;
        held.remove(&delivery.receipt);
        match self.bus.release(delivery).await {
            Ok(()) => {
                debug!(interaction_id = %delivery.message.interaction_id, "command released to the next receiver")
            }
            Err(e) => warn!(
                interaction_id = %delivery.message.interaction_id,
                error = %e,
                "releasing a command failed; it comes back after its visibility timeout"
            ),
        }
    }

    async fn ack(&self, delivery: &BusDelivery) {
        // Out of the held set first, so the keep-alive stops extending it.
        self.held.lock().await.remove(&delivery.receipt);
        if let Err(e) = self.bus.ack(delivery).await {
            warn!(error = %e, "acknowledging a command failed; it may be delivered again");
        }
    }

    async fn handle(&self, delivery: BusDelivery) {
        let message = &delivery.message;
        let span = info_span!(
            "bus_message",
            guild_id = %message.guild_id,
            interaction_id = %message.interaction_id,
            user_id = %message.user_id,
        );
        async {
            let now = self.clock.now_unix_millis();
            match self.ledger.already_ran(message.guild_id, message.interaction_id, now).await {
                Ok(true) => {
                    info!(command = message.command.label(), "already ran; acknowledging the redelivery");
                    self.ack(&delivery).await;
                    return;
                }
                Ok(false) => {}
                // Running it is the lesser harm: the bus delivers at least
                // once, and a store this unwell likely fails the command too.
                Err(e) => warn!(error = %e, "could not read whether the command already ran; running it"),
            }
            let effect = Effect {
                ledger: self.ledger.clone(),
                clock: self.clock.clone(),
                guild: message.guild_id,
                interaction: message.interaction_id,
            };
            self.handler.handle(message, &effect).await;
            self.ack(&delivery).await;
        }
        .instrument(span)
        .await;
    }
}

/// Extends every held delivery every third of the visibility timeout, by
/// the whole timeout, until `stop`.
async fn keep_alive(ctx: Arc<Context>, stop: CancellationToken) {
    let timeout = ctx.bus.visibility_timeout();
    let period = timeout / 3;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        let mut held = ctx.held.lock().await;
        let bus = &ctx.bus;
        let extends = held.values().map(|d| async move { (d.receipt.clone(), bus.extend(d, timeout).await) });
        let results = futures_util::future::join_all(extends).await;
        for (receipt, result) in results {
            match result {
                Ok(()) => {}
                Err(e) if e.kind() == BusErrorKind::NotHeld => {
                    // Its timeout ran out before we got to it: another
                    // receiver may have it. The ledger keeps it from running
                    // twice if that one is still to run; stop extending.
                    if let Some(d) = held.remove(&receipt) {
                        warn!(interaction_id = %d.message.interaction_id, "a held command's visibility ran out");
                    }
                }
                Err(e) => warn!(error = %e, "keeping a held command invisible failed; trying again"),
            }
        }
    }
}

async fn guild_worker(mut rx: mpsc::UnboundedReceiver<BusDelivery>, ctx: Arc<Context>, stop: CancellationToken) {
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => break,
            next = tokio::time::timeout(WORKER_IDLE, rx.recv()) => next,
        };
        let delivery = match next {
            Ok(Some(delivery)) => delivery,
            Ok(None) => return,
            Err(_idle) => {
                // Refuse new work, then run what slipped in before closing.
                rx.close();
                while let Ok(delivery) = rx.try_recv() {
                    ctx.handle(delivery).await;
                }
                return;
            }
        };
        let running = ctx.handle(delivery);
        tokio::pin!(running);
        tokio::select! {
            () = &mut running => {}
            () = stop.cancelled() => {
                // Give the queued ones back now, not after this one ends:
                // the bus still holds the guild's later messages back until
                // this one is acknowledged, so the order is kept.
                release_queued(&mut rx, &ctx).await;
                running.await;
                return;
            }
        }
    }
    release_queued(&mut rx, &ctx).await;
}

/// Closes the worker's queue and releases what is in it.
async fn release_queued(rx: &mut mpsc::UnboundedReceiver<BusDelivery>, ctx: &Context) {
    rx.close();
    while let Ok(delivery) = rx.try_recv() {
        ctx.release(&delivery).await;
    }
}
