//! The allowlist's state machine, as pure functions: given the stored record
//! and what someone asks for, the change to store or why it is refused.
//!
//! ```text
//! (none) ──request──▶ pending ──approve──▶ approved ──revoke──▶ revoked
//!                        │                    ▲                    │
//!                        └──deny──▶ denied    └──────approve───────┘
//!                                     │
//!                                     └──request, after the cool-down──▶ pending
//! ```

use std::time::Duration;

use timmybot_core::{
    Actor, AllowlistChange, AllowlistEvent, AllowlistRecord, AllowlistState, ChannelId, GuildId, SlotEffect, UserId,
};

use crate::AllowlistError;

/// The longest reason kept, in characters; longer ones are cut.
pub const MAX_REASON_CHARS: usize = 500;
/// The longest guild name kept, in characters (Discord allows 100).
const MAX_GUILD_NAME_CHARS: usize = 100;

/// A guild asking for access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// The guild.
    pub guild_id: GuildId,
    /// Its name, if known.
    pub guild_name: Option<String>,
    /// Its approximate member count, if known.
    pub member_count: Option<u64>,
    /// The member asking (they hold Manage Server).
    pub requested_by: UserId,
    /// The channel they asked in.
    pub channel_id: Option<ChannelId>,
    /// Why, in their words.
    pub reason: Option<String>,
}

/// What a maintainer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let the guild use the bot; `force` goes past the slot limit.
    Approve {
        /// Approve even when every slot is taken.
        force: bool,
    },
    /// Refuse a pending request.
    Deny,
    /// Take an approval back.
    Revoke,
}

impl Decision {
    /// The state the decision leads to.
    pub const fn target(self) -> AllowlistState {
        match self {
            Self::Approve { .. } => AllowlistState::Approved,
            Self::Deny => AllowlistState::Denied,
            Self::Revoke => AllowlistState::Revoked,
        }
    }

    /// The verb, for messages ("approve", "deny", "revoke").
    pub const fn verb(self) -> &'static str {
        match self {
            Self::Approve { .. } => "approve",
            Self::Deny => "deny",
            Self::Revoke => "revoke",
        }
    }
}

/// The change a request makes, or why it is refused.
///
/// # Errors
/// [`AllowlistError::AlreadyPending`], [`AllowlistError::AlreadyApproved`],
/// [`AllowlistError::CoolingDown`] or [`AllowlistError::RevokedByMaintainers`].
pub fn request(
    existing: Option<&AllowlistRecord>,
    req: &AccessRequest,
    now: u64,
    cooldown: Duration,
) -> Result<AllowlistChange, AllowlistError> {
    let from = existing.map(|r| r.state);
    match existing {
        None => {}
        Some(r) => match r.state {
            AllowlistState::Pending => return Err(AllowlistError::AlreadyPending { since: r.requested_at }),
            AllowlistState::Approved => return Err(AllowlistError::AlreadyApproved),
            AllowlistState::Revoked => return Err(AllowlistError::RevokedByMaintainers),
            AllowlistState::Denied => {
                let denied_at = r.decided_at.unwrap_or(r.updated_at);
                let until = denied_at.saturating_add(cooldown.as_secs());
                if now < until {
                    return Err(AllowlistError::CoolingDown { until });
                }
            }
        },
    }
    let reason = req.reason.as_deref().and_then(clean_text(MAX_REASON_CHARS));
    let record = AllowlistRecord {
        guild_id: req.guild_id,
        version: existing.map_or(0, |r| r.version),
        state: AllowlistState::Pending,
        guild_name: req.guild_name.as_deref().and_then(clean_text(MAX_GUILD_NAME_CHARS)),
        member_count: req.member_count,
        requested_by: Some(req.requested_by),
        request_channel: req.channel_id,
        reason: reason.clone(),
        requested_at: now,
        // The previous decision stays readable in the history.
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        maintainer_notice: None,
        updated_at: now,
    };
    let event = event_for(&record, from, Actor::DiscordUser(req.requested_by), reason, now, false);
    Ok(AllowlistChange { record, event: Some(event), slot: SlotEffect::Keep })
}

/// The change a maintainer's decision makes, or why it is refused.
///
/// # Errors
/// [`AllowlistError::UnknownGuild`] when the guild never asked;
/// [`AllowlistError::AlreadyInState`] when it is already there;
/// [`AllowlistError::InvalidTransition`] for any other move the state
/// machine does not have.
pub fn decide(
    existing: Option<&AllowlistRecord>,
    guild_id: GuildId,
    decision: Decision,
    actor: Actor,
    reason: Option<&str>,
    now: u64,
) -> Result<AllowlistChange, AllowlistError> {
    let current = existing.ok_or(AllowlistError::UnknownGuild(guild_id))?;
    let from = current.state;
    let to = decision.target();
    if from == to {
        return Err(AllowlistError::AlreadyInState(to));
    }
    let slot = match (from, decision) {
        (AllowlistState::Pending | AllowlistState::Revoked, Decision::Approve { force }) => SlotEffect::Take { force },
        (AllowlistState::Pending, Decision::Deny) => SlotEffect::Keep,
        (AllowlistState::Approved, Decision::Revoke) => SlotEffect::Release,
        _ => return Err(AllowlistError::InvalidTransition { from, to }),
    };
    let reason = reason.and_then(clean_text(MAX_REASON_CHARS));
    let forced = matches!(decision, Decision::Approve { force: true });
    let record = AllowlistRecord {
        state: to,
        decided_by: Some(actor.clone()),
        decided_at: Some(now),
        decision_reason: reason.clone(),
        updated_at: now,
        ..current.clone()
    };
    let event = event_for(&record, Some(from), actor, reason, now, forced);
    Ok(AllowlistChange { record, event: Some(event), slot })
}

fn event_for(
    record: &AllowlistRecord,
    from: Option<AllowlistState>,
    actor: Actor,
    reason: Option<String>,
    now: u64,
    forced: bool,
) -> AllowlistEvent {
    AllowlistEvent {
        guild_id: record.guild_id,
        // The version this change will be stored at orders the trail.
        seq: record.version + 1,
        at: now,
        actor,
        from,
        to: record.state,
        reason,
        forced,
    }
}

/// Trims, drops control characters and cuts to `max` characters; empty
/// becomes `None`. Reasons and names are shown to maintainers in Discord
/// and terminals, so no escape sequences get through.
fn clean_text(max: usize) -> impl Fn(&str) -> Option<String> {
    move |text| {
        let cleaned: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
        let trimmed = cleaned.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    const WEEK: Duration = Duration::from_secs(7 * DAY);

    fn guild() -> GuildId {
        GuildId::new(10).unwrap()
    }

    fn asker() -> UserId {
        UserId::new(20).unwrap()
    }

    fn maintainer() -> Actor {
        Actor::DiscordUser(UserId::new(30).unwrap())
    }

    fn ask(reason: Option<&str>) -> AccessRequest {
        AccessRequest {
            guild_id: guild(),
            guild_name: Some("Lo-fi club".into()),
            member_count: Some(42),
            requested_by: asker(),
            channel_id: ChannelId::new(40),
            reason: reason.map(str::to_owned),
        }
    }

    /// Applies a change as a store would.
    fn stored(change: AllowlistChange) -> AllowlistRecord {
        AllowlistRecord { version: change.record.version + 1, ..change.record }
    }

    #[test]
    fn first_request_is_pending_with_everything_recorded() {
        let change = request(None, &ask(Some("  we like music \u{1b}[31m ")), 1_000, WEEK).unwrap();
        let r = &change.record;
        assert_eq!((r.version, r.state), (0, AllowlistState::Pending));
        assert_eq!(r.guild_name.as_deref(), Some("Lo-fi club"));
        assert_eq!(r.member_count, Some(42));
        assert_eq!(r.requested_by, Some(asker()));
        assert_eq!(r.request_channel, ChannelId::new(40));
        assert_eq!(r.reason.as_deref(), Some("we like music [31m"), "control characters dropped, trimmed");
        assert_eq!((r.requested_at, r.updated_at), (1_000, 1_000));
        let event = change.event.unwrap();
        assert_eq!((event.seq, event.from, event.to), (1, None, AllowlistState::Pending));
        assert_eq!(event.actor, Actor::DiscordUser(asker()));
        assert_eq!(change.slot, SlotEffect::Keep);
    }

    #[test]
    fn a_second_request_while_pending_says_so() {
        let pending = stored(request(None, &ask(None), 1_000, WEEK).unwrap());
        assert_eq!(
            request(Some(&pending), &ask(None), 2_000, WEEK),
            Err(AllowlistError::AlreadyPending { since: 1_000 })
        );
    }

    #[test]
    fn a_denied_guild_may_ask_again_only_after_the_cool_down() {
        let pending = stored(request(None, &ask(None), 0, WEEK).unwrap());
        let denied = stored(decide(Some(&pending), guild(), Decision::Deny, maintainer(), Some("spam"), DAY).unwrap());
        let until = DAY + 7 * DAY;
        assert_eq!(request(Some(&denied), &ask(None), until - 1, WEEK), Err(AllowlistError::CoolingDown { until }));
        let again = request(Some(&denied), &ask(Some("please")), until, WEEK).unwrap();
        assert_eq!(again.record.state, AllowlistState::Pending);
        assert_eq!(again.record.version, denied.version);
        assert_eq!(again.record.decided_by, None, "the old decision lives in the history only");
        assert_eq!(again.event.unwrap().from, Some(AllowlistState::Denied));
        // A shorter configured cool-down applies.
        assert!(request(Some(&denied), &ask(None), DAY + 60, Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn approved_and_revoked_guilds_cannot_request() {
        let pending = stored(request(None, &ask(None), 0, WEEK).unwrap());
        let approved =
            stored(decide(Some(&pending), guild(), Decision::Approve { force: false }, maintainer(), None, 5).unwrap());
        assert_eq!(request(Some(&approved), &ask(None), 6, WEEK), Err(AllowlistError::AlreadyApproved));
        let revoked = stored(decide(Some(&approved), guild(), Decision::Revoke, maintainer(), None, 7).unwrap());
        assert_eq!(request(Some(&revoked), &ask(None), 8 + 30 * DAY, WEEK), Err(AllowlistError::RevokedByMaintainers));
    }

    #[test]
    fn decisions_follow_the_state_machine_with_their_slot_effect() {
        let pending = stored(request(None, &ask(None), 0, WEEK).unwrap());
        let approve =
            decide(Some(&pending), guild(), Decision::Approve { force: false }, maintainer(), Some("ok"), 9).unwrap();
        assert_eq!(approve.slot, SlotEffect::Take { force: false });
        assert_eq!(approve.record.decided_by, Some(maintainer()));
        assert_eq!((approve.record.decided_at, approve.record.decision_reason.as_deref()), (Some(9), Some("ok")));
        let approved = stored(approve);

        let revoke = decide(Some(&approved), guild(), Decision::Revoke, Actor::AdminToken, None, 10).unwrap();
        assert_eq!(revoke.slot, SlotEffect::Release);
        let revoked = stored(revoke);

        let again = decide(Some(&revoked), guild(), Decision::Approve { force: true }, maintainer(), None, 11).unwrap();
        assert_eq!(again.slot, SlotEffect::Take { force: true });
        assert!(again.event.unwrap().forced);

        let deny = decide(Some(&pending), guild(), Decision::Deny, maintainer(), None, 12).unwrap();
        assert_eq!((deny.record.state, deny.slot), (AllowlistState::Denied, SlotEffect::Keep));
    }

    #[test]
    fn moves_outside_the_state_machine_are_refused() {
        use AllowlistState::*;
        let pending = stored(request(None, &ask(None), 0, WEEK).unwrap());
        let at = |state| AllowlistRecord { state, ..pending.clone() };
        let cases = [
            (Pending, Decision::Revoke),
            (Denied, Decision::Approve { force: false }),
            (Denied, Decision::Revoke),
            (Approved, Decision::Deny),
            (Revoked, Decision::Deny),
        ];
        for (from, decision) in cases {
            let got = decide(Some(&at(from)), guild(), decision, maintainer(), None, 1);
            assert_eq!(got, Err(AllowlistError::InvalidTransition { from, to: decision.target() }), "{from:?}");
        }
        for (state, decision) in [(Approved, Decision::Approve { force: true }), (Denied, Decision::Deny)] {
            let got = decide(Some(&at(state)), guild(), decision, maintainer(), None, 1);
            assert_eq!(got, Err(AllowlistError::AlreadyInState(state)));
        }
        assert_eq!(
            decide(None, guild(), Decision::Deny, maintainer(), None, 1),
            Err(AllowlistError::UnknownGuild(guild()))
        );
    }

    #[test]
    fn long_reasons_are_cut_and_blank_ones_dropped() {
        let long = "x".repeat(MAX_REASON_CHARS + 50);
        let change = request(None, &ask(Some(&long)), 0, WEEK).unwrap();
        assert_eq!(change.record.reason.unwrap().chars().count(), MAX_REASON_CHARS);
        assert_eq!(request(None, &ask(Some(" \n\t ")), 0, WEEK).unwrap().record.reason, None);
    }
}
