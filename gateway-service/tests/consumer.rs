//! The consumer on real buses and stores: SQS FIFO on moto with the command
//! ledger on DynamoDB Local (through the real SDK), and the in-process bus
//! with the ledger on SQLite. Commands are run by a handler that takes as
//! long as it is told and records its effect as the command processor does
//! (right after the effect, through [`Effect::took_effect`]).
//!
//! Needs the emulators (`scripts/emulators.sh`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use timmybot_core::{
    BusDelivery, BusError, BusErrorKind, BusMessage, CommandBus, CommandLedger, GuildId, InteractionId, SystemClock,
};
use timmybot_gateway::consumer::{self, CommandHandler, Effect};
use timmybot_test_support::contract::{command_bus, random_guild};
use timmybot_test_support::emulators::{Emulators, unique_name};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The short visibility timeout the tests' buses use: commands take longer.
const SHORT_VISIBILITY: Duration = Duration::from_secs(2);
/// How long a test waits for what it expects before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// A bus and a ledger over real parts.
struct Backend {
    bus: Arc<dyn CommandBus>,
    ledger: Arc<dyn CommandLedger>,
}

async fn aws(visibility: Duration) -> Backend {
    let config = Emulators::from_env().sdk_config();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = timmybot_aws::create_queue(&sqs, &unique_name("consumer"), visibility).await.expect("queue on moto");
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let tables = timmybot_aws::DynamoTables::with_prefix(&format!("{}-", unique_name("consumer")));
    timmybot_aws::create_tables(&dynamodb, &tables).await.expect("tables on DynamoDB Local");
    Backend {
        bus: Arc::new(timmybot_aws::SqsBus::new(sqs, queue.url).with_visibility_timeout(visibility)),
        ledger: Arc::new(timmybot_aws::DynamoStore::new(dynamodb, tables)),
    }
}

fn embedded(visibility: Duration) -> Backend {
    Backend {
        bus: Arc::new(timmybot_embedded::InProcessBus::with_visibility_timeout(visibility)),
        ledger: Arc::new(timmybot_embedded::SqliteStore::in_memory().expect("in-memory database")),
    }
}

/// Runs commands: each takes the time its guild is given (none by default),
/// or waits for a permit of `gate` when its guild is gated; then it takes
/// effect (counted) and tells the ledger.
#[derive(Default)]
struct TestHandler {
    delays: Mutex<HashMap<GuildId, Duration>>,
    gated: Mutex<HashMap<GuildId, Arc<Semaphore>>>,
    /// How often each interaction took effect.
    effects: Mutex<HashMap<InteractionId, usize>>,
    started: Mutex<Vec<InteractionId>>,
    finished: Mutex<Vec<(InteractionId, Instant)>>,
}

impl TestHandler {
    fn effects_of(&self, id: InteractionId) -> usize {
        self.effects.lock().unwrap().get(&id).copied().unwrap_or(0)
    }

    fn finished_at(&self, id: InteractionId) -> Option<Instant> {
        self.finished.lock().unwrap().iter().find(|(i, _)| *i == id).map(|(_, at)| *at)
    }
}

#[async_trait]
impl CommandHandler for TestHandler {
    async fn handle(&self, message: &BusMessage, effect: &Effect) {
        self.started.lock().unwrap().push(message.interaction_id);
        let delay = self.delays.lock().unwrap().get(&message.guild_id).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let gate = self.gated.lock().unwrap().get(&message.guild_id).cloned();
        if let Some(gate) = gate {
            gate.acquire().await.expect("gate open").forget();
        }
        *self.effects.lock().unwrap().entry(message.interaction_id).or_default() += 1;
        effect.took_effect().await;
        self.finished.lock().unwrap().push((message.interaction_id, Instant::now()));
    }
}

/// A bus that passes everything through, counts what it hands out, and
/// loses acknowledgements while `fail_acks` is set (the process died
/// between the effect and the delete).
struct TestBus {
    inner: Arc<dyn CommandBus>,
    fail_acks: AtomicBool,
    received: AtomicUsize,
}

impl TestBus {
    fn new(inner: Arc<dyn CommandBus>) -> Arc<Self> {
        Arc::new(Self { inner, fail_acks: AtomicBool::new(false), received: AtomicUsize::new(0) })
    }
}

#[async_trait]
impl CommandBus for TestBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        self.inner.publish(message).await
    }
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<BusDelivery>, BusError> {
        let got = self.inner.receive(max, wait).await?;
        self.received.fetch_add(got.len(), Ordering::SeqCst);
        Ok(got)
    }
    async fn ack(&self, delivery: &BusDelivery) -> Result<(), BusError> {
        if self.fail_acks.load(Ordering::SeqCst) {
            return Err(BusError::new(BusErrorKind::Unavailable));
        }
        self.inner.ack(delivery).await
    }
    fn visibility_timeout(&self) -> Duration {
        self.inner.visibility_timeout()
    }
    async fn extend(&self, delivery: &BusDelivery, timeout: Duration) -> Result<(), BusError> {
        self.inner.extend(delivery, timeout).await
    }
    async fn release(&self, delivery: &BusDelivery) -> Result<(), BusError> {
        self.inner.release(delivery).await
    }
    async fn outstanding(&self) -> Result<u64, BusError> {
        self.inner.outstanding().await
    }
}

/// A consumer running until the returned token is cancelled.
fn start(
    bus: Arc<dyn CommandBus>,
    handler: Arc<TestHandler>,
    ledger: Arc<dyn CommandLedger>,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let task = tokio::spawn(consumer::run(bus, handler, ledger, Arc::new(SystemClock), stop.clone()));
    (stop, task)
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Receives for `wait` straight from the bus; what came is acknowledged.
async fn left_on_the_bus(bus: &dyn CommandBus, wait: Duration) -> Vec<BusMessage> {
    let got = bus.receive(10, wait).await.expect("receive");
    for delivery in &got {
        bus.ack(delivery).await.expect("ack");
    }
    got.into_iter().map(|d| d.message).collect()
}

/// A command that takes three visibility timeouts runs once: the keep-alive
/// keeps it (and the one queued behind it) invisible, so it is not handed
/// out again while it runs; meanwhile another guild's commands flow.
async fn a_command_longer_than_the_visibility_timeout_runs_once(backend: Backend) {
    let (slow, other) = (random_guild(), random_guild());
    let handler = Arc::new(TestHandler::default());
    handler.delays.lock().unwrap().insert(slow, SHORT_VISIBILITY * 3);
    let long = command_bus::message(slow, 1);
    let behind = command_bus::message(slow, 2);
    let others = [command_bus::message(other, 3), command_bus::message(other, 4)];
    for message in [&long, &behind] {
        backend.bus.publish(message).await.unwrap();
    }
    let bus = TestBus::new(backend.bus.clone());
    let (stop, task) = start(bus.clone(), handler.clone(), backend.ledger.clone());
    wait_until("the long command started", || handler.started.lock().unwrap().contains(&long.interaction_id)).await;
    for message in &others {
        backend.bus.publish(message).await.unwrap();
    }
    wait_until("every command finished", || {
        [&long, &behind, &others[0], &others[1]].iter().all(|m| handler.finished_at(m.interaction_id).is_some())
    })
    .await;
    let long_done = handler.finished_at(long.interaction_id).unwrap();
    for message in &others {
        let done = handler.finished_at(message.interaction_id).unwrap();
        assert!(done < long_done, "the other guild was held up: {:?} after the long one", done - long_done);
    }
    // Past another timeout: a redelivery would have been started by now.
    tokio::time::sleep(SHORT_VISIBILITY * 2).await;
    let started = handler.started.lock().unwrap().clone();
    for message in [&long, &behind, &others[0], &others[1]] {
        let runs = started.iter().filter(|id| **id == message.interaction_id).count();
        assert_eq!(runs, 1, "command {} was started {runs} times", message.interaction_id);
        assert_eq!(handler.effects_of(message.interaction_id), 1);
    }
    // Not handed out again either (the ledger would have caught a rerun).
    assert_eq!(bus.received.load(Ordering::SeqCst), 4, "a held command was delivered again");
    stop.cancel();
    task.await.unwrap();
    assert!(left_on_the_bus(backend.bus.as_ref(), Duration::from_secs(1)).await.is_empty(), "all acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_longer_than_the_visibility_timeout_runs_once_on_sqs_and_dynamodb() {
    a_command_longer_than_the_visibility_timeout_runs_once(aws(SHORT_VISIBILITY).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_longer_than_the_visibility_timeout_runs_once_in_process_and_on_sqlite() {
    a_command_longer_than_the_visibility_timeout_runs_once(embedded(SHORT_VISIBILITY)).await;
}

/// The process "dies" after the command took effect and before the delete
/// reached the bus: the message comes back after its timeout, and the next
/// consumer only acknowledges it.
async fn a_command_redelivered_after_its_effect_does_not_run_again(backend: Backend) {
    let handler = Arc::new(TestHandler::default());
    let message = command_bus::message(random_guild(), 1);
    backend.bus.publish(&message).await.unwrap();

    let crashing = TestBus::new(backend.bus.clone());
    crashing.fail_acks.store(true, Ordering::SeqCst);
    let (stop, task) = start(crashing.clone(), handler.clone(), backend.ledger.clone());
    wait_until("the command took effect", || handler.finished_at(message.interaction_id).is_some()).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(handler.effects_of(message.interaction_id), 1);

    let watching = TestBus::new(backend.bus.clone());
    let (stop, task) = start(watching.clone(), handler.clone(), backend.ledger.clone());
    wait_until("the message came back", || watching.received.load(Ordering::SeqCst) >= 1).await;
    // Its acknowledgement: nothing comes back after another timeout.
    tokio::time::sleep(SHORT_VISIBILITY * 2).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(watching.received.load(Ordering::SeqCst), 1, "received once more, then acknowledged");
    assert_eq!(handler.effects_of(message.interaction_id), 1, "the command took effect twice");
    let started = handler.started.lock().unwrap().iter().filter(|id| **id == message.interaction_id).count();
    assert_eq!(started, 1, "the redelivery was run");
    assert!(left_on_the_bus(backend.bus.as_ref(), SHORT_VISIBILITY * 2).await.is_empty(), "acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_redelivered_after_its_effect_does_not_run_again_on_sqs_and_dynamodb() {
    a_command_redelivered_after_its_effect_does_not_run_again(aws(SHORT_VISIBILITY).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_redelivered_after_its_effect_does_not_run_again_in_process_and_on_sqlite() {
    a_command_redelivered_after_its_effect_does_not_run_again(embedded(SHORT_VISIBILITY)).await;
}

/// A consumer stopped while a guild's command runs gives the one queued
/// behind it back at once: the next consumer receives it as soon as the
/// running one is acknowledged, long before the visibility timeout.
async fn stopping_releases_the_commands_not_started(backend: Backend) {
    let visibility = backend.bus.visibility_timeout();
    let guild = random_guild();
    let handler = Arc::new(TestHandler::default());
    let gate = Arc::new(Semaphore::new(0));
    handler.gated.lock().unwrap().insert(guild, gate.clone());
    let (running, queued) = (command_bus::message(guild, 1), command_bus::message(guild, 2));
    backend.bus.publish(&running).await.unwrap();
    backend.bus.publish(&queued).await.unwrap();

    let bus = TestBus::new(backend.bus.clone());
    let (stop, task) = start(bus.clone(), handler.clone(), backend.ledger.clone());
    wait_until("both were received, the first started", || {
        bus.received.load(Ordering::SeqCst) == 2 && handler.started.lock().unwrap().contains(&running.interaction_id)
    })
    .await;
    stop.cancel();
    // The running one finishes (and is acknowledged) after the stop.
    gate.add_permits(1);
    task.await.unwrap();
    let stopped = Instant::now();
    assert_eq!(handler.effects_of(running.interaction_id), 1);
    assert!(!handler.started.lock().unwrap().contains(&queued.interaction_id), "the queued one was started");

    let got = backend.bus.receive(10, Duration::from_secs(5)).await.unwrap();
    let took = stopped.elapsed();
    assert_eq!(got.iter().map(|d| d.message.interaction_id).collect::<Vec<_>>(), vec![queued.interaction_id]);
    assert!(took < visibility / 2, "received again only after {took:?} (visibility {visibility:?})");
    backend.bus.ack(&got[0]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_releases_the_commands_not_started_on_sqs() {
    stopping_releases_the_commands_not_started(aws(Duration::from_secs(30)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_releases_the_commands_not_started_in_process() {
    stopping_releases_the_commands_not_started(embedded(Duration::from_secs(30))).await;
}
