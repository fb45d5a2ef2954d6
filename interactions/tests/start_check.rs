//! The start check: at a start's deadline, with the gateway still not up,
//! every waiting member's reply is edited (through the fake Discord over
//! real HTTP) to say the player is late and the command is kept, the
//! alarm line is logged, and the start is asked again with one more check;
//! a start nobody waits on is not retried forever; an up gateway or a
//! moved deadline changes nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use timmybot_core::{
    ApplicationId, GatewayPresence, GatewayScaler, INTERACTION_TOKEN_LIFETIME, InteractionId, ManualClock,
    START_DEADLINE, ScaleError, Secret, StartCheckTimer, StartWaiter,
};
use timmybot_discord_rest::InteractionReplies;
use timmybot_embedded::SqliteStore;
use timmybot_interactions::{
    START_OVERDUE_ALARM, START_OVERDUE_REPLY, STARTING_REPLY, ScaleToZero, StartCheck, StartCheckOutcome,
};
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig};
use timmybot_test_support::logs::CapturedLogs;

const NOW_MS: u64 = 1_767_225_600_000;
const DEADLINE_MS: u64 = START_DEADLINE.as_millis() as u64;

#[derive(Default)]
struct Recorder {
    starts: AtomicUsize,
    checks: Mutex<Vec<Duration>>,
}

#[async_trait]
impl GatewayScaler for Recorder {
    async fn ensure_running(&self) -> Result<(), ScaleError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn stop(&self) -> Result<(), ScaleError> {
        panic!("the check never stops the gateway");
    }
}

#[async_trait]
impl StartCheckTimer for Recorder {
    async fn check_after(&self, delay: Duration) -> Result<(), ScaleError> {
        self.checks.lock().unwrap().push(delay);
        Ok(())
    }
}

struct World {
    discord: FakeDiscord,
    presence: SqliteStore,
    recorder: Arc<Recorder>,
    clock: ManualClock,
    check: StartCheck,
}

impl World {
    async fn new() -> Self {
        let discord = FakeDiscord::start(FakeDiscordConfig::default()).await.unwrap();
        let api = url::Url::parse(&format!("http://{}/api/v10/", discord.rest_addr())).unwrap();
        let replies = InteractionReplies::new(api, Duration::from_secs(5)).unwrap();
        let presence = SqliteStore::in_memory().unwrap();
        let recorder = Arc::new(Recorder::default());
        let clock = ManualClock::at(NOW_MS / 1000);
        let scale = ScaleToZero::new(recorder.clone(), Arc::new(presence.clone()), recorder.clone());
        let check = StartCheck::new(scale, Arc::new(replies), Arc::new(clock.clone()));
        Self { discord, presence, recorder, clock, check }
    }

    /// A member whose `/play` was answered "Starting the player…" and who
    /// is recorded as waiting; returns their interaction token.
    async fn waiting_member(&self, interaction: u64) -> String {
        let sent = self.discord.slash_command(1, 2, 3, "play", json!([]));
        let token = sent["token"].as_str().unwrap().to_owned();
        let answer = json!({"type": 4, "data": {"content": STARTING_REPLY, "flags": 64}});
        assert!(self.discord.accept_interaction_response(&token, answer));
        let waiter = StartWaiter {
            interaction: InteractionId::new(interaction).unwrap(),
            application: ApplicationId::new(self.discord.config().application_id).unwrap(),
            token: Secret::new(token.clone()),
            expires_ms: NOW_MS + INTERACTION_TOKEN_LIFETIME.as_millis() as u64,
        };
        self.presence.add_waiter(&waiter).await.unwrap();
        token
    }

    fn starts(&self) -> usize {
        self.recorder.starts.load(Ordering::SeqCst)
    }

    fn checks(&self) -> Vec<Duration> {
        self.recorder.checks.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_late_start_tells_every_waiting_member_asks_again_and_raises_the_alarm() {
    let (logs, _guard) = CapturedLogs::install(tracing::Level::INFO);
    let world = World::new().await;
    assert!(world.presence.claim_start(NOW_MS, NOW_MS + DEADLINE_MS).await.unwrap());
    let tokens = [world.waiting_member(11).await, world.waiting_member(12).await, world.waiting_member(13).await];

    world.clock.advance(START_DEADLINE.as_secs() + 1);
    let outcome = world.check.run().await.unwrap();
    assert_eq!(outcome, StartCheckOutcome::Overdue { told: 3, asked_again: true });
    for token in &tokens {
        assert_eq!(world.discord.original_message(token).as_deref(), Some(START_OVERDUE_REPLY));
        let body = world.discord.original_body(token).unwrap();
        assert_eq!(body["allowed_mentions"], json!({"parse": []}), "the edit pings nobody");
    }
    assert_eq!(world.starts(), 1, "the start is asked again");
    assert_eq!(world.checks(), [START_DEADLINE], "and one more check is set");
    let later = NOW_MS + (START_DEADLINE.as_secs() + 1) * 1000;
    assert_eq!(world.presence.start_deadline().await.unwrap(), Some(later + DEADLINE_MS), "a new deadline");
    assert_eq!(world.presence.take_waiters(later).await.unwrap(), [], "each member is told once");
    let text = logs.text();
    let alarms: Vec<_> = text.lines().filter(|l| l.contains(&format!("alarm=\"{START_OVERDUE_ALARM}\""))).collect();
    assert_eq!(alarms.len(), 1, "{text}");
    assert!(alarms[0].contains("WARN"), "{}", alarms[0]);
    assert!(tokens.iter().all(|t| !text.contains(t.as_str())), "no token in the logs: {text}");

    // The next check, still late, nobody waiting: the alarm again, no retry.
    world.clock.advance(START_DEADLINE.as_secs() + 1);
    assert_eq!(world.check.run().await.unwrap(), StartCheckOutcome::Overdue { told: 0, asked_again: false });
    assert_eq!(world.starts(), 1);
    assert_eq!(world.checks().len(), 1, "no check chain without anyone waiting");
}

#[tokio::test]
async fn an_up_gateway_or_a_deadline_ahead_changes_nothing() {
    let world = World::new().await;
    assert!(world.presence.claim_start(NOW_MS, NOW_MS + DEADLINE_MS).await.unwrap());
    let token = world.waiting_member(21).await;

    // The deadline itself has not passed.
    world.clock.advance(START_DEADLINE.as_secs());
    assert_eq!(world.check.run().await.unwrap(), StartCheckOutcome::NotDue);
    // Up: it beats (its first beat also clears the marker and the waiters).
    world.clock.advance(10);
    world.presence.beat(NOW_MS + DEADLINE_MS + 5_000).await.unwrap();
    assert_eq!(world.check.run().await.unwrap(), StartCheckOutcome::Up);
    assert_eq!(world.discord.original_message(&token).as_deref(), Some(STARTING_REPLY), "not edited");
    assert_eq!(world.starts(), 0);
    assert!(world.checks().is_empty());

    // Beats stopped, marker cleared by the gateway: no start pending.
    world.presence.clear_beat().await.unwrap();
    world.presence.clear_start().await.unwrap();
    assert_eq!(world.check.run().await.unwrap(), StartCheckOutcome::Up);
    assert_eq!(world.starts(), 0);
}

#[tokio::test]
async fn a_reply_discord_no_longer_knows_does_not_stop_the_others() {
    let world = World::new().await;
    assert!(world.presence.claim_start(NOW_MS, NOW_MS + DEADLINE_MS).await.unwrap());
    let known = world.waiting_member(31).await;
    let gone = StartWaiter {
        interaction: InteractionId::new(32).unwrap(),
        application: ApplicationId::new(world.discord.config().application_id).unwrap(),
        token: Secret::new("fake-interaction-token-never-answered"),
        expires_ms: NOW_MS + INTERACTION_TOKEN_LIFETIME.as_millis() as u64,
    };
    world.presence.add_waiter(&gone).await.unwrap();
    world.clock.advance(START_DEADLINE.as_secs() + 1);
    assert_eq!(world.check.run().await.unwrap(), StartCheckOutcome::Overdue { told: 1, asked_again: true });
    assert_eq!(world.discord.original_message(&known).as_deref(), Some(START_OVERDUE_REPLY));
}

#[tokio::test]
async fn a_waiter_whose_token_died_is_not_edited() {
    let world = World::new().await;
    assert!(world.presence.claim_start(NOW_MS, NOW_MS + DEADLINE_MS).await.unwrap());
    let token = world.waiting_member(41).await;
    // Past the interaction token's life: the edit would fail anyway.
    world.clock.advance(INTERACTION_TOKEN_LIFETIME.as_secs() + 1);
    assert_eq!(world.check.run().await.unwrap(), StartCheckOutcome::Overdue { told: 0, asked_again: false });
    assert_eq!(world.discord.original_message(&token).as_deref(), Some(STARTING_REPLY));
}
