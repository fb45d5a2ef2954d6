//! Scale to zero, the handler's side: a voice command while the gateway's
//! heartbeat is missing or stale goes on the bus first, then the one command
//! that claims the starting marker asks for the gateway to run, and the
//! member is told it starts; a start past its deadline is asked again and
//! says so; a fresh heartbeat leaves the deferred reply.

mod common;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use timmybot_core::{
    ApplicationId, GatewayPresence, GatewayScaler, ManualClock, START_DEADLINE, ScaleError, StartCheckTimer,
};
use timmybot_embedded::SqliteStore;
use timmybot_interactions::{
    HttpReply, InteractionHandler, PublicKey, START_OVERDUE_ALARM, START_OVERDUE_REPLY, STARTING_REPLY, ScaleToZero,
};
use timmybot_test_support::logs::CapturedLogs;
use timmybot_test_support::signer::{InteractionSigner, SAMPLE_APPLICATION_ID, SlashCommand, slash_command};

use common::{NOW, RecordingBus, header_map, json_of, play};

/// Counts the starts asked for; fails them while `failing`.
#[derive(Default)]
struct CountingScaler {
    starts: AtomicUsize,
    failing: AtomicBool,
}

#[async_trait]
impl GatewayScaler for CountingScaler {
    async fn ensure_running(&self) -> Result<(), ScaleError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(ScaleError::new(io::Error::other("ECS throttled the call")));
        }
        Ok(())
    }

    async fn stop(&self) -> Result<(), ScaleError> {
        panic!("the handler never stops the gateway");
    }
}

/// Records the start checks asked for.
#[derive(Default)]
struct RecordingTimer {
    delays: Mutex<Vec<Duration>>,
}

#[async_trait]
impl StartCheckTimer for RecordingTimer {
    async fn check_after(&self, delay: Duration) -> Result<(), ScaleError> {
        self.delays.lock().unwrap().push(delay);
        Ok(())
    }
}

struct World {
    signer: InteractionSigner,
    bus: Arc<RecordingBus>,
    clock: ManualClock,
    scaler: Arc<CountingScaler>,
    timer: Arc<RecordingTimer>,
    presence: SqliteStore,
    handler: InteractionHandler,
}

impl World {
    fn new(bus: RecordingBus) -> Self {
        let signer = InteractionSigner::default();
        let bus = Arc::new(bus);
        let clock = ManualClock::at(NOW);
        let scaler = Arc::new(CountingScaler::default());
        let presence = SqliteStore::in_memory().unwrap();
        let timer = Arc::new(RecordingTimer::default());
        let handler = InteractionHandler::new(
            bus.clone(),
            Arc::new(clock.clone()),
            PublicKey::from_hex(&signer.public_key_hex()).unwrap(),
            ApplicationId::new(SAMPLE_APPLICATION_ID).unwrap(),
        )
        .with_scale_to_zero(ScaleToZero::new(scaler.clone(), Arc::new(presence.clone()), timer.clone()));
        Self { signer, bus, clock, scaler, timer, presence, handler }
    }

    async fn post(&self, interaction: &serde_json::Value) -> HttpReply {
        let body = interaction.to_string();
        let headers = header_map(self.signer.signed_headers(body.as_bytes(), self.clock_secs()));
        self.handler.handle_http(&headers, body.as_bytes()).await
    }

    fn clock_secs(&self) -> u64 {
        timmybot_core::Clock::now_unix(&self.clock)
    }

    fn now_ms(&self) -> u64 {
        timmybot_core::Clock::now_unix_millis(&self.clock)
    }

    fn published(&self) -> usize {
        self.bus.published.lock().unwrap().len()
    }

    fn starts(&self) -> usize {
        self.scaler.starts.load(Ordering::SeqCst)
    }
}

fn play_with_id(id: u64) -> serde_json::Value {
    slash_command(SlashCommand {
        id: timmybot_core::InteractionId::new(id).unwrap(),
        name: "play".into(),
        options: vec![("query".into(), serde_json::json!("tone.wav"))],
        ..Default::default()
    })
}

fn content(reply: &HttpReply) -> String {
    let body = json_of(reply);
    assert_eq!(reply.status, 200, "{body}");
    assert_eq!(body["type"], 4, "an ephemeral message, not a deferred reply: {body}");
    assert_eq!(body["data"]["flags"], 64, "{body}");
    body["data"]["content"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_fresh_heartbeat_leaves_the_deferred_reply_and_starts_nothing() {
    let world = World::new(RecordingBus::default());
    world.presence.beat(world.now_ms() - 30_000).await.unwrap();
    let reply = world.post(&play("tone.wav")).await;
    assert_eq!(json_of(&reply)["type"], 5, "deferred as before");
    assert_eq!(world.published(), 1);
    assert_eq!(world.starts(), 0);
    assert_eq!(world.presence.start_deadline().await.unwrap(), None, "no marker claimed");
    assert!(world.timer.delays.lock().unwrap().is_empty(), "no start check");
    assert_eq!(world.presence.take_waiters(world.now_ms()).await.unwrap(), [], "nobody waits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_commands_to_a_stopped_gateway_are_all_published_and_start_it_once() {
    let world = Arc::new(World::new(RecordingBus::default()));
    // The last beat is 46 s old: three beats missed.
    world.presence.beat(world.now_ms() - 46_000).await.unwrap();
    let posts: Vec<_> = (0..100u64)
        .map(|n| {
            let world = world.clone();
            tokio::spawn(async move { world.post(&play_with_id(1_000 + n)).await })
        })
        .collect();
    for post in posts {
        assert_eq!(content(&post.await.unwrap()), STARTING_REPLY);
    }
    assert_eq!(world.published(), 100, "every command is on the bus");
    assert_eq!(world.starts(), 1, "one start for all of them");
    let deadline = world.presence.start_deadline().await.unwrap();
    assert_eq!(deadline, Some(world.now_ms() + START_DEADLINE.as_millis() as u64));
    assert_eq!(*world.timer.delays.lock().unwrap(), [START_DEADLINE], "one start check, at the deadline");
    let waiters = world.presence.take_waiters(world.now_ms()).await.unwrap();
    assert_eq!(waiters.len(), 100, "every member waits on the start");
    assert_eq!(waiters[0].application, ApplicationId::new(SAMPLE_APPLICATION_ID).unwrap());
    let expires = world.now_ms() + timmybot_core::INTERACTION_TOKEN_LIFETIME.as_millis() as u64;
    assert!(waiters.iter().all(|w| w.expires_ms == expires), "each kept as long as its token lives");
}

#[tokio::test]
async fn a_command_the_bus_refused_starts_nothing() {
    let world = World::new(RecordingBus::failing());
    let reply = world.post(&play("tone.wav")).await;
    assert_eq!(reply.status, 200);
    assert!(!content(&reply).contains("Starting"), "the member is told it failed, not that it starts");
    assert_eq!(world.starts(), 0);
    assert_eq!(world.presence.start_deadline().await.unwrap(), None);
}

#[tokio::test]
async fn a_failed_start_is_asked_again_by_the_next_command() {
    let world = World::new(RecordingBus::default());
    world.scaler.failing.store(true, Ordering::SeqCst);
    assert_eq!(content(&world.post(&play_with_id(1)).await), STARTING_REPLY);
    assert_eq!(world.presence.start_deadline().await.unwrap(), None, "the failed claim is released");
    assert!(world.timer.delays.lock().unwrap().is_empty(), "no check for a start that was not asked");
    world.scaler.failing.store(false, Ordering::SeqCst);
    assert_eq!(content(&world.post(&play_with_id(2)).await), STARTING_REPLY);
    assert_eq!(world.starts(), 2);
    assert_eq!(world.published(), 2);
}

#[tokio::test]
async fn once_the_gateway_beats_commands_are_deferred_again() {
    let world = World::new(RecordingBus::default());
    assert_eq!(content(&world.post(&play_with_id(1)).await), STARTING_REPLY);
    world.clock.advance(50);
    // The gateway is up: it beats and clears the marker.
    world.presence.beat(world.now_ms()).await.unwrap();
    world.presence.clear_start().await.unwrap();
    let reply = world.post(&play_with_id(2)).await;
    assert_eq!(json_of(&reply)["type"], 5);
    assert_eq!(world.starts(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_start_past_its_deadline_keeps_the_command_asks_again_and_raises_the_alarm() {
    let (captured, _guard) = CapturedLogs::install(tracing::Level::INFO);

    let world = World::new(RecordingBus::default());
    assert_eq!(content(&world.post(&play_with_id(1)).await), STARTING_REPLY);
    // Within the deadline: still starting, not asked again.
    world.clock.advance(START_DEADLINE.as_secs());
    assert_eq!(content(&world.post(&play_with_id(2)).await), STARTING_REPLY);
    assert_eq!(world.starts(), 1);
    let before = captured.text();
    assert!(!before.contains(START_OVERDUE_ALARM), "no alarm within the deadline: {before}");
    // Past it, with still no heartbeat.
    world.clock.advance(1);
    assert_eq!(content(&world.post(&play_with_id(3)).await), START_OVERDUE_REPLY);
    assert_eq!(world.starts(), 2, "the start is asked again");
    assert_eq!(world.published(), 3, "every command is kept");
    // The new claim has a new deadline: the next command is "starting" again.
    assert_eq!(content(&world.post(&play_with_id(4)).await), STARTING_REPLY);
    assert_eq!(world.starts(), 2);
    let logs = captured.text();
    let alarms: Vec<_> = logs.lines().filter(|l| l.contains(&format!("alarm=\"{START_OVERDUE_ALARM}\""))).collect();
    assert_eq!(alarms.len(), 1, "one alarm line: {logs}");
    assert!(alarms[0].contains("WARN"), "{}", alarms[0]);
}
