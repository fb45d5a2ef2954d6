//! How the shards start: resume the sessions a stopped task left when they
//! are fresh and fit, identify otherwise, and never spend the day's
//! identifies down to nothing.
//!
//! Discord allows about 1000 session starts (IDENTIFYs) a day; past that it
//! ends every session and may reset the token. A crash loop that identifies
//! on every start would get there in hours. Two guards, checked before any
//! shard connects, and only when some shard must identify (a resume costs
//! nothing):
//! - Discord's own count: `session_start_limit.remaining` below the
//!   reserve ([`IdentifySettings::reserve`]) refuses the start;
//! - this deployment's count: more than
//!   [`IdentifySettings::hourly_per_shard`] × shards identifies recorded in
//!   the last hour refuses the start. A refused start costs one
//!   `GET /gateway/bot` and no identify; the orchestrator's restart backoff
//!   spaces the next try, and an hour later the window has room again.
//!
//! Both refusals log [`BUDGET_EXHAUSTED`] at error level, the phrase a log
//! metric filter alarms on.

use std::collections::HashMap;
use std::time::Duration;

use timmybot_core::{GatewaySession, SavedGatewaySessions};

/// The phrase every refused start logs (and its error says): a CloudWatch
/// metric filter matches it.
pub const BUDGET_EXHAUSTED: &str = "identify budget exhausted";

/// How long after a task saved its sessions the next task tries to resume
/// them. Discord does not document how long it keeps a closed session
/// (minutes, by observation); a resume it refuses costs a round trip
/// before the shard identifies anyway, so the bound only skips hopeless
/// tries.
pub const RESUME_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// The window of [`IdentifySettings::hourly_per_shard`].
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The identify guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifySettings {
    /// Session starts Discord must still allow today for this task to
    /// identify (`TIMMYBOT_IDENTIFY_RESERVE`); `None` (the default) is
    /// `max(2 × shards, 5 % of the daily total)`.
    pub reserve: Option<u32>,
    /// Identifies per shard this deployment may make in an hour
    /// (`TIMMYBOT_IDENTIFY_HOURLY_LIMIT`, default 12: one start every five
    /// minutes, 288 a day at most, well inside 1000).
    pub hourly_per_shard: u32,
}

impl Default for IdentifySettings {
    fn default() -> Self {
        Self { reserve: None, hourly_per_shard: 12 }
    }
}

/// Discord's session start limit, as `GET /gateway/bot` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartLimit {
    /// Session starts per reset period.
    pub total: u32,
    /// Session starts left.
    pub remaining: u32,
    /// Until `remaining` resets.
    pub reset_after: Duration,
}

impl IdentifySettings {
    /// The reserve for `shards` shards under `limit`.
    pub fn reserve_for(&self, shards: u32, limit: &StartLimit) -> u32 {
        self.reserve.unwrap_or_else(|| (shards.saturating_mul(2)).max(limit.total / 20))
    }

    /// Why identifying `identifies` shards now is refused, if it is:
    /// `recent` identifies were recorded in the last hour.
    pub fn refusal(&self, shards: u32, identifies: u32, limit: &StartLimit, recent: usize) -> Option<String> {
        if identifies == 0 {
            return None;
        }
        let reserve = self.reserve_for(shards, limit);
        if limit.remaining < reserve {
            return Some(format!(
                "{BUDGET_EXHAUSTED}: Discord allows {remaining} more session starts of {total} (the reserve is \
                 {reserve}); the count resets in {reset} s",
                remaining = limit.remaining,
                total = limit.total,
                reset = limit.reset_after.as_secs(),
            ));
        }
        let hourly = u64::from(self.hourly_per_shard) * u64::from(shards);
        if recent as u64 + u64::from(identifies) > hourly {
            return Some(format!(
                "{BUDGET_EXHAUSTED}: this deployment identified {recent} times in the last hour (the limit is \
                 {hourly}: {per} per shard); waiting for the hour to pass",
                per = self.hourly_per_shard,
            ));
        }
        None
    }
}

/// Which saved session each shard resumes: those saved within
/// [`RESUME_MAX_AGE`] of `now_ms` for the same shard count, by shard id;
/// empty for anything else (so every shard identifies).
pub fn usable_sessions(
    saved: Option<SavedGatewaySessions>,
    shard_count: u32,
    now_ms: u64,
) -> (HashMap<u32, GatewaySession>, Option<SavedGatewaySessions>) {
    let Some(saved) = saved else { return (HashMap::new(), None) };
    let age_ms = now_ms.saturating_sub(saved.saved_at_ms);
    let fresh = age_ms <= RESUME_MAX_AGE.as_millis() as u64;
    let same_count = saved.sessions.iter().all(|s| s.shard_count == shard_count);
    if !fresh || !same_count {
        tracing::info!(
            age_s = age_ms / 1000,
            same_count,
            "saved gateway sessions are stale or for another shard count: identifying"
        );
        return (HashMap::new(), None);
    }
    let sessions =
        saved.sessions.iter().filter(|s| s.shard_id < shard_count).map(|s| (s.shard_id, s.clone())).collect();
    (sessions, Some(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(remaining: u32) -> StartLimit {
        StartLimit { total: 1000, remaining, reset_after: Duration::from_secs(3600) }
    }

    fn saved(at: u64, count: u32) -> SavedGatewaySessions {
        SavedGatewaySessions {
            saved_at_ms: at,
            sessions: (0..count)
                .map(|shard_id| GatewaySession {
                    shard_id,
                    shard_count: count,
                    session_id: format!("s{shard_id}"),
                    sequence: 7,
                    resume_url: "wss://resume".into(),
                })
                .collect(),
            guilds: vec![],
            voice_states: vec![],
        }
    }

    #[test]
    fn the_default_reserve_is_two_per_shard_or_a_twentieth_of_the_total() {
        let settings = IdentifySettings::default();
        assert_eq!(settings.reserve_for(1, &limit(1000)), 50);
        assert_eq!(settings.reserve_for(40, &limit(1000)), 80);
        assert_eq!(IdentifySettings { reserve: Some(3), ..settings }.reserve_for(40, &limit(1000)), 3);
    }

    #[test]
    fn a_start_is_refused_below_the_reserve_or_over_the_hourly_limit() {
        let settings = IdentifySettings::default();
        assert_eq!(settings.refusal(1, 1, &limit(50), 0), None);
        let low = settings.refusal(1, 1, &limit(49), 0).unwrap();
        assert!(low.starts_with(BUDGET_EXHAUSTED), "{low}");
        assert!(low.contains("49 more session starts of 1000") && low.contains("3600 s"), "{low}");
        assert_eq!(settings.refusal(1, 0, &limit(0), 500), None, "resuming every shard identifies nothing");
        assert_eq!(settings.refusal(2, 2, &limit(1000), 22), None);
        let busy = settings.refusal(2, 2, &limit(1000), 23).unwrap();
        assert!(busy.starts_with(BUDGET_EXHAUSTED) && busy.contains("23 times"), "{busy}");
    }

    #[test]
    fn only_fresh_sessions_of_the_same_shard_count_are_resumed() {
        let now = 10_000_000;
        let (fresh, kept) = usable_sessions(Some(saved(now - 60_000, 2)), 2, now);
        assert_eq!(fresh.len(), 2);
        assert_eq!(fresh[&1].session_id, "s1");
        assert!(kept.is_some());
        let stale = now - RESUME_MAX_AGE.as_millis() as u64 - 1;
        assert!(usable_sessions(Some(saved(stale, 2)), 2, now).0.is_empty(), "stale");
        assert!(usable_sessions(Some(saved(now, 2)), 3, now).0.is_empty(), "another shard count");
        assert!(usable_sessions(None, 2, now).0.is_empty());
    }
}
