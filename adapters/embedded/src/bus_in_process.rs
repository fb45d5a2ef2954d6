//! [`CommandBus`] inside one process, for the single-binary deployment.
//!
//! It behaves like the SQS FIFO queue it stands in for, so the gateway
//! consumer sees the same semantics on both:
//! - per-guild order: while a guild has a message received but not yet
//!   acknowledged, its later messages are held back (SQS's message group);
//! - an unacknowledged message becomes receivable again after the
//!   visibility timeout, counted from the receive or the last `extend`;
//!   `release` makes it receivable at once, at its place in the order;
//! - a publish repeating an interaction id seen in the last five minutes is
//!   dropped (SQS's deduplication interval), with memory bounded by that
//!   window and by [`MAX_DEDUP_ENTRIES`].
//!
//! Nothing survives a restart: durability is what the SQS adapter is for.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use timmybot_core::{BusDelivery, BusError, BusErrorKind, BusMessage, CommandBus, GuildId, InteractionId};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long an interaction id is remembered for deduplication (as SQS FIFO).
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The most interaction ids remembered at once; past it the oldest are
/// forgotten early, so a flood cannot grow memory without limit.
pub const MAX_DEDUP_ENTRIES: usize = 100_000;

/// Default visibility timeout, as an SQS queue's default.
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest visibility timeout, as SQS's maximum (12 hours).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// An in-process command bus. Cheap to clone: clones share the queue.
///
/// Time is tokio's clock, so tests on a paused clock control redelivery and
/// deduplication expiry.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Wakes receivers when a message is published, acknowledged (its guild
    /// may be unblocked) or the bus is closed.
    changed: Notify,
    visibility_timeout: Duration,
}

#[derive(Debug, Default)]
struct State {
    /// Publish order is the key, so iteration is global FIFO order.
    ready: BTreeMap<u64, BusMessage>,
    /// Received, not yet acknowledged, by receipt.
    in_flight: HashMap<String, InFlight>,
    /// How many in-flight messages each guild has; a guild listed here gets
    /// nothing new until they are acknowledged or time out.
    busy: HashMap<GuildId, usize>,
    seen: VecDeque<(Instant, InteractionId)>,
    seen_ids: HashSet<InteractionId>,
    next_seq: u64,
    next_receipt: u64,
    closed: bool,
}

#[derive(Debug)]
struct InFlight {
    seq: u64,
    message: BusMessage,
    visible_at: Instant,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessBus {
    /// A bus with the default 30 s visibility timeout.
    pub fn new() -> Self {
        Self::with_visibility_timeout(DEFAULT_VISIBILITY_TIMEOUT)
    }

    /// A bus whose unacknowledged messages come back after `timeout`
    /// (capped at [`MAX_VISIBILITY_TIMEOUT`]).
    pub fn with_visibility_timeout(timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                changed: Notify::new(),
                visibility_timeout: timeout.min(MAX_VISIBILITY_TIMEOUT),
            }),
        }
    }

    /// Closes the bus: waiting and later calls fail with
    /// [`BusErrorKind::Closed`], so a consumer loop ends at shutdown.
    pub fn close(&self) {
        self.lock().closed = true;
        self.inner.changed.notify_waiters();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation below completes before it could panic, so the state
        // behind a poisoned lock is still consistent.
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn check_open(&self) -> Result<(), BusError> {
        if self.closed { Err(BusError::new(BusErrorKind::Closed)) } else { Ok(()) }
    }

    /// Forgets interaction ids older than the window, and the oldest beyond
    /// the cap.
    fn prune_seen(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.seen.front() {
            if now.duration_since(at) < DEDUP_WINDOW && self.seen.len() < MAX_DEDUP_ENTRIES {
                break;
            }
            self.seen.pop_front();
            self.seen_ids.remove(&id);
        }
    }

    /// Returns timed-out deliveries to the ready set at their original place.
    fn expire_in_flight(&mut self, now: Instant) {
        let expired: Vec<String> =
            self.in_flight.iter().filter(|(_, f)| f.visible_at <= now).map(|(r, _)| r.clone()).collect();
        for receipt in expired {
            if let Some(flight) = self.in_flight.remove(&receipt) {
                self.release_guild(flight.message.guild_id);
                self.ready.insert(flight.seq, flight.message);
            }
        }
    }

    fn release_guild(&mut self, guild: GuildId) {
        if let Some(count) = self.busy.get_mut(&guild) {
            *count -= 1;
            if *count == 0 {
                self.busy.remove(&guild);
            }
        }
    }

    /// Takes up to `max` ready messages, skipping guilds that already have
    /// one in flight; one batch may hold several of a guild, in order.
    fn take(&mut self, max: usize, now: Instant, visibility: Duration) -> Vec<BusDelivery> {
        let blocked: HashSet<GuildId> = self.busy.keys().copied().collect();
        let picked: Vec<u64> =
            self.ready.iter().filter(|(_, m)| !blocked.contains(&m.guild_id)).map(|(seq, _)| *seq).take(max).collect();
        let mut batch = Vec::with_capacity(picked.len());
        for seq in picked {
            let message = self.ready.remove(&seq).expect("picked from ready");
            let receipt = format!("{seq}:{}", self.next_receipt);
            self.next_receipt += 1;
            *self.busy.entry(message.guild_id).or_default() += 1;
            self.in_flight
                .insert(receipt.clone(), InFlight { seq, message: message.clone(), visible_at: now + visibility });
            batch.push(BusDelivery { message, receipt });
        }
        batch
    }

    fn next_visibility_deadline(&self) -> Option<Instant> {
        self.in_flight.values().map(|f| f.visible_at).min()
    }
}

#[async_trait]
impl CommandBus for InProcessBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), BusError> {
        let now = Instant::now();
        {
            let mut state = self.lock();
            state.check_open()?;
            state.prune_seen(now);
            if !state.seen_ids.insert(message.interaction_id) {
                tracing::debug!(interaction_id = %message.interaction_id, "duplicate command dropped");
                return Ok(());
            }
            state.seen.push_back((now, message.interaction_id));
            let seq = state.next_seq;
            state.next_seq += 1;
            state.ready.insert(seq, message.clone());
        }
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<BusDelivery>, BusError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        // `None`: a wait too long to represent, i.e. until something arrives.
        let deadline = Instant::now().checked_add(wait);
        loop {
            // Register for wake-ups before looking, so a publish between the
            // look and the wait is not missed.
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();

            let now = Instant::now();
            let next_expiry = {
                let mut state = self.lock();
                state.check_open()?;
                state.expire_in_flight(now);
                let batch = state.take(max, now, self.inner.visibility_timeout);
                if !batch.is_empty() || deadline.is_some_and(|d| now >= d) {
                    return Ok(batch);
                }
                state.next_visibility_deadline()
            };
            let wake_at = match (next_expiry, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timer = async move {
                match wake_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut changed => {}
                () = timer => {}
            }
        }
    }

    async fn outstanding(&self) -> Result<u64, BusError> {
        let state = self.lock();
        state.check_open()?;
        Ok((state.ready.len() + state.in_flight.len()) as u64)
    }

    async fn ack(&self, delivery: &BusDelivery) -> Result<(), BusError> {
        {
            let mut state = self.lock();
            state.check_open()?;
            // An unknown receipt was already acknowledged or timed out and
            // redelivered under a new receipt; like SQS, that is not an error.
            if let Some(flight) = state.in_flight.remove(&delivery.receipt) {
                state.release_guild(flight.message.guild_id);
            }
        }
        self.inner.changed.notify_waiters();
        Ok(())
    }

    fn visibility_timeout(&self) -> Duration {
        self.inner.visibility_timeout
    }

    async fn extend(&self, delivery: &BusDelivery, timeout: Duration) -> Result<(), BusError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.check_open()?;
        match state.in_flight.get_mut(&delivery.receipt) {
            // Past its deadline it is as good as back on the queue (the next
            // receive moves it), as SQS would refuse the receipt then.
            Some(flight) if flight.visible_at > now => {
                flight.visible_at = now + timeout.min(MAX_VISIBILITY_TIMEOUT);
                Ok(())
            }
            _ => Err(BusError::new(BusErrorKind::NotHeld)),
        }
    }

    async fn release(&self, delivery: &BusDelivery) -> Result<(), BusError> {
        let now = Instant::now();
        {
            let mut state = self.lock();
            state.check_open()?;
            match state.in_flight.remove(&delivery.receipt) {
                Some(flight) if flight.visible_at > now => {
                    state.release_guild(flight.message.guild_id);
                    // Back at its place, so the guild's order holds.
                    state.ready.insert(flight.seq, flight.message);
                }
                Some(flight) => {
                    // Timed out already: put it back as the next receive
                    // would have, and say so.
                    let receipt = delivery.receipt.clone();
                    state.in_flight.insert(receipt, flight);
                    state.expire_in_flight(now);
                    drop(state);
                    self.inner.changed.notify_waiters();
                    return Err(BusError::new(BusErrorKind::NotHeld));
                }
                None => return Err(BusError::new(BusErrorKind::NotHeld)),
            }
        }
        self.inner.changed.notify_waiters();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::{ApplicationId, CommandOrigin, Secret, UserId, VoiceCommand};

    fn message(guild: u64, interaction: u64) -> BusMessage {
        BusMessage {
            guild_id: GuildId::new(guild).unwrap(),
            channel_id: None,
            user_id: UserId::new(1).unwrap(),
            interaction_id: InteractionId::new(interaction).unwrap(),
            application_id: ApplicationId::new(2).unwrap(),
            interaction_token: Secret::new("token"),
            command: VoiceCommand::Stop,
            origin: CommandOrigin::SlashCommand,
            member_roles: Vec::new(),
            member_permissions: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unacked_message_comes_back_after_the_visibility_timeout() {
        let bus = InProcessBus::with_visibility_timeout(Duration::from_secs(10));
        bus.publish(&message(1, 1)).await.unwrap();
        let first = bus.receive(10, Duration::ZERO).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(bus.receive(10, Duration::from_secs(5)).await.unwrap().is_empty());
        let again = bus.receive(10, Duration::from_secs(10)).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].message, first[0].message);
        assert_ne!(again[0].receipt, first[0].receipt);
    }

    #[tokio::test(start_paused = true)]
    async fn interaction_id_is_accepted_again_after_the_dedup_window() {
        let bus = InProcessBus::new();
        bus.publish(&message(1, 7)).await.unwrap();
        let got = bus.receive(10, Duration::ZERO).await.unwrap();
        bus.ack(&got[0]).await.unwrap();
        bus.publish(&message(1, 7)).await.unwrap();
        assert!(bus.receive(10, Duration::ZERO).await.unwrap().is_empty());
        tokio::time::advance(DEDUP_WINDOW).await;
        bus.publish(&message(1, 7)).await.unwrap();
        assert_eq!(bus.receive(10, Duration::ZERO).await.unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn dedup_memory_is_bounded() {
        let bus = InProcessBus::new();
        for id in 1..=(MAX_DEDUP_ENTRIES as u64 + 10) {
            bus.publish(&message(1, id)).await.unwrap();
        }
        let state = bus.lock();
        assert!(state.seen.len() <= MAX_DEDUP_ENTRIES);
        assert_eq!(state.seen.len(), state.seen_ids.len());
    }

    #[tokio::test(start_paused = true)]
    async fn receiver_waiting_wakes_on_publish() {
        let bus = InProcessBus::new();
        let receiver = tokio::spawn({
            let bus = bus.clone();
            async move { bus.receive(1, Duration::from_secs(20)).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        bus.publish(&message(3, 3)).await.unwrap();
        let got = receiver.await.unwrap().unwrap();
        assert_eq!(got.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn receive_with_an_unbounded_wait_still_wakes_on_publish() {
        let bus = InProcessBus::new();
        let receiver = tokio::spawn({
            let bus = bus.clone();
            async move { bus.receive(1, Duration::MAX).await }
        });
        tokio::time::sleep(Duration::from_secs(3600)).await;
        bus.publish(&message(4, 4)).await.unwrap();
        assert_eq!(receiver.await.unwrap().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn close_ends_a_waiting_receiver() {
        let bus = InProcessBus::new();
        let receiver = tokio::spawn({
            let bus = bus.clone();
            async move { bus.receive(1, Duration::from_secs(20)).await }
        });
        tokio::task::yield_now().await;
        bus.close();
        let err = receiver.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), BusErrorKind::Closed);
    }
}
