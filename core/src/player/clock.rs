//! Where in its track the current song is, kept as an anchor rather than a
//! counter: the offset reached when it last stopped advancing, and the
//! wall-clock moment it started advancing again.
//!
//! The anchor changes only on start, pause, resume and seek, so the position
//! can be stored with every change and recovered at any later moment
//! without a write per second (`position_at`).

use serde::{Deserialize, Serialize};

/// The position bookkeeping of the current track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackClock {
    /// Milliseconds into the track when it last stopped advancing (or the
    /// seek target, or 0 at the start).
    pub offset_ms: u64,
    /// Unix milliseconds at which it started advancing from `offset_ms`;
    /// `None` while it does not advance (paused, opening, disconnected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<u64>,
    /// Whether the audio is loaded and could advance (the player reported
    /// it playable). Not kept across a restart: the audio is gone then.
    #[serde(skip)]
    pub ready: bool,
}

impl PlaybackClock {
    /// A clock waiting to start at `offset_ms`.
    pub fn at(offset_ms: u64) -> Self {
        Self { offset_ms, since_ms: None, ready: false }
    }

    /// The position at `now_ms`.
    pub fn position_at(&self, now_ms: u64) -> u64 {
        match self.since_ms {
            Some(since) => self.offset_ms.saturating_add(now_ms.saturating_sub(since)),
            None => self.offset_ms,
        }
    }

    /// Whether the position advances with time.
    pub fn is_running(&self) -> bool {
        self.since_ms.is_some()
    }

    /// Stops advancing at `now_ms`, keeping the position reached.
    pub fn freeze(&mut self, now_ms: u64) {
        self.offset_ms = self.position_at(now_ms);
        self.since_ms = None;
    }

    /// Starts advancing at `now_ms` from the position it holds.
    pub fn run(&mut self, now_ms: u64) {
        if self.since_ms.is_none() {
            self.since_ms = Some(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_advances_only_while_running() {
        let mut clock = PlaybackClock::at(5_000);
        assert_eq!(clock.position_at(1_000_000), 5_000);
        clock.run(1_000_000);
        assert_eq!(clock.position_at(1_002_500), 7_500);
        clock.freeze(1_003_000);
        assert_eq!(clock.position_at(9_999_999), 8_000);
        clock.run(2_000_000);
        clock.run(2_000_500); // already running: the anchor stays
        assert_eq!(clock.position_at(2_001_000), 9_000);
    }

    #[test]
    fn a_clock_in_the_future_never_goes_backwards_past_its_offset() {
        let clock = PlaybackClock { offset_ms: 100, since_ms: Some(10_000), ready: true };
        assert_eq!(clock.position_at(9_000), 100);
    }
}
