//! Time as a port, so tests control it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> u64 {
        self.now_unix_millis() / 1000
    }

    /// Milliseconds since the Unix epoch (track positions are kept in them).
    fn now_unix_millis(&self) -> u64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_millis(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told; cheap to clone, clones share time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock stopped at `unix` seconds.
    pub fn at(unix: u64) -> Self {
        Self(Arc::new(AtomicU64::new(unix.saturating_mul(1000))))
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.advance_millis(secs.saturating_mul(1000));
    }

    /// Moves the clock forward by `millis` milliseconds.
    pub fn advance_millis(&self, millis: u64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }

    /// Sets the clock to `unix` seconds.
    pub fn set(&self, unix: u64) {
        self.0.store(unix.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_clock_keeps_milliseconds_and_reports_whole_seconds() {
        let clock = ManualClock::at(100);
        clock.advance_millis(1_500);
        assert_eq!(clock.now_unix_millis(), 101_500);
        assert_eq!(clock.now_unix(), 101);
        clock.advance(2);
        assert_eq!(clock.now_unix(), 103);
    }
}
