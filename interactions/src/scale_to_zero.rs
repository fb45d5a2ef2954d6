//! Scale to zero, the interactions side: a voice command while the
//! gateway is stopped starts it ([`ScaleToZero::start_if_stopped`]), and
//! the start check ([`StartCheck`]) tells the waiting members when the
//! start is late, even if nobody sends another command.
//!
//! The path of a cold `/play`: the handler publishes the command, then
//! [`ScaleToZero::start_if_stopped`] sees a stale heartbeat, claims the
//! starting marker (one claimer of a hundred), asks the scaler to run the
//! service and sets a start check [`START_DEADLINE`] later; every member
//! is answered "Starting the player…" and recorded as waiting. The gateway
//! clears the marker and the waiting members at its first beat and edits
//! each reply as it runs the queued commands. If it is not up by the
//! deadline, the check edits each waiting reply to say so, logs the
//! alarm line, asks for the start again and sets one more check.

use std::sync::Arc;

use timmybot_core::{
    ApplicationId, Clock, DiscordReplies, GatewayPresence, GatewayScaler, INTERACTION_TOKEN_LIFETIME, InteractionId,
    OutgoingMessage, START_DEADLINE, Secret, StartCheckTimer, StartWaiter, StoreError, heartbeat_is_fresh,
};

use crate::InteractionResponse;
use crate::handler::error_chain;

/// The member's answer to a voice command while the gateway starts.
pub const STARTING_REPLY: &str =
    "Starting the player, about a minute… Your command is queued and runs as soon as the player is up.";

/// What a member is told when a start is later than [`START_DEADLINE`]:
/// the answer to a command then, and the edit of a waiting reply.
pub const START_OVERDUE_REPLY: &str = "The player has not started yet. Your command is kept and runs once it is \
    up; the start was asked again. If this goes on, tell the bot's maintainers.";

/// The `alarm` field of the log line written when a start is overdue (the
/// deployment's metric filters count these lines).
pub const START_OVERDUE_ALARM: &str = "GatewayStartOverdue";

/// What starts a stopped gateway: its scaler, its presence and the timer
/// of the start check.
#[derive(Clone)]
pub struct ScaleToZero {
    scaler: Arc<dyn GatewayScaler>,
    presence: Arc<dyn GatewayPresence>,
    timer: Arc<dyn StartCheckTimer>,
}

impl std::fmt::Debug for ScaleToZero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaleToZero").finish_non_exhaustive()
    }
}

/// The interaction a reply belongs to: who waits when the gateway starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waiting<'a> {
    pub(crate) interaction: InteractionId,
    pub(crate) application: ApplicationId,
    pub(crate) token: &'a Secret,
}

impl ScaleToZero {
    /// Starts the service with `scaler`, reads and claims the start in
    /// `presence`, and sets the start check with `timer`.
    pub fn new(
        scaler: Arc<dyn GatewayScaler>,
        presence: Arc<dyn GatewayPresence>,
        timer: Arc<dyn StartCheckTimer>,
    ) -> Self {
        Self { scaler, presence, timer }
    }

    /// After a command is on the bus: when the gateway's heartbeat is
    /// missing or stale, claims the starting marker and (the one claimer)
    /// asks for the service to run and sets the start check; records the
    /// member as waiting and returns their answer (an ephemeral message the
    /// gateway later edits, since a Lambda cannot edit after it answered).
    /// `None`: the gateway runs (or its heartbeat cannot be read), so the
    /// deferred reply stands.
    pub(crate) async fn start_if_stopped(&self, now: u64, waiting: Waiting<'_>) -> Option<InteractionResponse> {
        match self.presence.last_beat().await {
            Ok(beat) if heartbeat_is_fresh(beat, now) => return None,
            Ok(_) => {}
            Err(e) => {
                // The command is on the bus; a running gateway takes it.
                tracing::warn!(error = %error_chain(&e), "could not read the gateway's heartbeat");
                return None;
            }
        }
        let previous_deadline = self.presence.start_deadline().await.unwrap_or_else(|e| {
            tracing::warn!(error = %error_chain(&e), "could not read the gateway's starting marker");
            None
        });
        let overdue = previous_deadline.is_some_and(|deadline| deadline < now);
        match self.claim_and_start(now).await {
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %error_chain(&e), "could not claim the gateway's starting marker"),
        }
        let waiter = StartWaiter {
            interaction: waiting.interaction,
            application: waiting.application,
            token: waiting.token.clone(),
            expires_ms: now + INTERACTION_TOKEN_LIFETIME.as_millis() as u64,
        };
        if let Err(e) = self.presence.add_waiter(&waiter).await {
            // The member is still answered now and their reply edited when
            // the command runs; only a late start goes untold.
            tracing::warn!(error = %error_chain(&e), "could not record the member waiting on the start");
        }
        if overdue {
            tracing::warn!(
                alarm = START_OVERDUE_ALARM,
                late_ms = now.saturating_sub(previous_deadline.unwrap_or(now)),
                "the gateway did not start within its deadline"
            );
            return Some(InteractionResponse::ephemeral(START_OVERDUE_REPLY));
        }
        Some(InteractionResponse::ephemeral(STARTING_REPLY))
    }

    /// Claims the starting marker with a deadline [`START_DEADLINE`] from
    /// `now`; the winner asks the scaler to run the service and sets the
    /// start check for the deadline. Returns whether this call won.
    async fn claim_and_start(&self, now: u64) -> Result<bool, StoreError> {
        let deadline = now + START_DEADLINE.as_millis() as u64;
        if !self.presence.claim_start(now, deadline).await? {
            return Ok(false);
        }
        tracing::info!("gateway not running: asking it to start");
        if let Err(e) = self.scaler.ensure_running().await {
            tracing::warn!(error = %error_chain(&e), "could not start the gateway service");
            // The next command claims again and retries.
            if let Err(e) = self.presence.clear_start().await {
                tracing::warn!(error = %error_chain(&e), "could not clear the gateway's starting marker");
            }
            return Ok(true);
        }
        if let Err(e) = self.timer.check_after(START_DEADLINE).await {
            // The queue-age alarm still fires; members hear of a late start
            // only from their next command.
            tracing::warn!(error = %error_chain(&e), "could not set the start check");
        }
        Ok(true)
    }
}

/// What one start check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartCheckOutcome {
    /// The gateway beats, or no start is pending: nothing to do.
    Up,
    /// The start's deadline is still ahead (a later claim moved it and set
    /// its own check).
    NotDue,
    /// The start is late: `told` waiting members had their reply edited;
    /// `asked_again` when the start was asked for again (only while
    /// members wait, so a start nobody waits on is not retried forever).
    Overdue {
        /// Waiting replies edited.
        told: usize,
        /// Whether the service was asked to run again and a check set.
        asked_again: bool,
    },
}

/// The start check: run when the timer a start set goes off (on AWS, the
/// start-check Lambda). Tells each member waiting on a late start, through
/// their interaction's reply, that the player is late and their command is
/// kept.
pub struct StartCheck {
    scale: ScaleToZero,
    replies: Arc<dyn DiscordReplies>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for StartCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartCheck").finish_non_exhaustive()
    }
}

impl StartCheck {
    /// A check over `scale`'s presence, editing replies with `replies`, at
    /// `clock`'s time.
    pub fn new(scale: ScaleToZero, replies: Arc<dyn DiscordReplies>, clock: Arc<dyn Clock>) -> Self {
        Self { scale, replies, clock }
    }

    /// Looks once: when the gateway is not up and its start is past the
    /// deadline, logs the alarm line, edits every waiting reply to
    /// [`START_OVERDUE_REPLY`] and, while anyone waited, asks for the start
    /// again with one more check.
    ///
    /// # Errors
    /// The presence cannot be read: the caller retries (on AWS the message
    /// goes back to the queue).
    pub async fn run(&self) -> Result<StartCheckOutcome, StoreError> {
        let now = self.clock.now_unix_millis();
        let presence = &self.scale.presence;
        if heartbeat_is_fresh(presence.last_beat().await?, now) {
            return Ok(StartCheckOutcome::Up);
        }
        let Some(deadline) = presence.start_deadline().await? else { return Ok(StartCheckOutcome::Up) };
        if deadline >= now {
            return Ok(StartCheckOutcome::NotDue);
        }
        tracing::warn!(
            alarm = START_OVERDUE_ALARM,
            late_ms = now - deadline,
            "the gateway did not start within its deadline"
        );
        let waiters = presence.take_waiters(now).await?;
        let message = OutgoingMessage::text(START_OVERDUE_REPLY);
        let mut told = 0;
        for waiter in &waiters {
            match self.replies.edit_original(waiter.application, &waiter.token, &message).await {
                Ok(()) => told += 1,
                Err(e) => tracing::warn!(
                    interaction = %waiter.interaction,
                    error = %e,
                    "could not tell a waiting member the start is late"
                ),
            }
        }
        let asked_again = !waiters.is_empty() && self.scale.claim_and_start(now).await?;
        tracing::info!(waiting = waiters.len(), told, asked_again, "start check: the start is late");
        Ok(StartCheckOutcome::Overdue { told, asked_again })
    }
}
