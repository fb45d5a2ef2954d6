//! How far playing tracks fall behind wall-clock time, in 20 ms frames.
//!
//! Songbird's mixer advances a track's `play_time` by one 20 ms frame per
//! frame it mixes. When it keeps up, `play_time` advances as fast as the wall
//! clock; when it falls behind (an overloaded host, a source that cannot
//! deliver audio fast enough), it advances more slowly, and listeners hear
//! gaps. The mixer runs late frames back to back to catch up, so short stalls
//! may be recovered; the deficit here is what was not.
//!
//! The bookkeeping is pure ([`frames_behind`], [`TrackMeter`]) so it is
//! tested without a voice connection; `GuildPlayers` feeds it.

use std::time::{Duration, Instant};

/// One Opus frame: songbird mixes and sends one every 20 ms.
pub const FRAME: Duration = Duration::from_millis(20);

/// Frames a track fell behind: `wall` elapsed minus `advanced` play time, in
/// whole 20 ms frames, 0 when it kept up (or ran ahead).
pub fn frames_behind(wall: Duration, advanced: Duration) -> u64 {
    let behind = wall.saturating_sub(advanced);
    u64::try_from(behind.as_nanos() / FRAME.as_nanos()).unwrap_or(u64::MAX)
}

/// One track's deficit bookkeeping between observations.
///
/// The meter keeps a baseline (an instant and the track's play time then),
/// set at the first observation while the track plays: ideally the moment
/// songbird reports it playable, else the first metrics sample that sees it.
/// Each later observation computes the cumulative lag since the baseline,
/// [`frames_behind`]`(now - baseline, play_time - baseline play time)`, and
/// returns how much it grew beyond what was already reported. So:
///
/// - over an interval in which the track played throughout, the result is the
///   interval's wall time minus the play time advanced, in frames, floored at
///   0, as long as the lag only grows;
/// - a lag is reported once: jitter of a frame between samples, or the mixer
///   catching up later, never reports the same frames twice, and catching up
///   does not subtract from what an earlier interval reported;
/// - a track that starts within an interval counts from its baseline, one
///   that ends counts to its final observation (its end event or `/stop`);
/// - a paused or not-yet-playable track reports nothing and its baseline is
///   dropped, so it restarts from the next observation that sees it playing
///   (the time between resuming and that observation is not measured).
#[derive(Debug, Clone, Default)]
pub struct TrackMeter {
    baseline: Option<(Instant, Duration)>,
    reported: u64,
}

impl TrackMeter {
    /// A meter with no baseline yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that at `now` the track's play time was `play_time` and it was
    /// `playing` (playable and not paused); returns the new deficit frames.
    pub fn observe(&mut self, now: Instant, playing: bool, play_time: Duration) -> u64 {
        if !playing {
            *self = Self::default();
            return 0;
        }
        let Some((since, played_then)) = self.baseline else {
            self.baseline = Some((now, play_time));
            return 0;
        };
        let behind = frames_behind(now.saturating_duration_since(since), play_time.saturating_sub(played_then));
        let new = behind.saturating_sub(self.reported);
        self.reported = self.reported.max(behind);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn frames_behind_floors_to_whole_frames_and_never_goes_negative() {
        assert_eq!(frames_behind(ms(60_000), ms(60_000)), 0);
        assert_eq!(frames_behind(ms(60_000), ms(59_981)), 0);
        assert_eq!(frames_behind(ms(60_000), ms(59_980)), 1);
        assert_eq!(frames_behind(ms(60_000), ms(59_000)), 50);
        assert_eq!(frames_behind(ms(60_000), ms(61_000)), 0);
    }

    #[test]
    fn a_track_that_keeps_up_reports_nothing() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        assert_eq!(meter.observe(t0, true, ms(0)), 0);
        assert_eq!(meter.observe(t0 + ms(60_000), true, ms(60_000)), 0);
        // A sample taken mid-frame: 10 ms of wall time not yet mixed.
        assert_eq!(meter.observe(t0 + ms(120_010), true, ms(120_000)), 0);
    }

    #[test]
    fn a_stall_is_reported_once_in_the_interval_it_happened() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        meter.observe(t0, true, ms(5_000));
        // 1 s of the first minute was not mixed: 50 frames.
        assert_eq!(meter.observe(t0 + ms(60_000), true, ms(64_000)), 50);
        // The next minute kept up: nothing new.
        assert_eq!(meter.observe(t0 + ms(120_000), true, ms(124_000)), 0);
        // The mixer caught 200 ms up, then fell 400 ms behind again: only
        // the lag beyond the 1 s already reported counts.
        assert_eq!(meter.observe(t0 + ms(180_000), true, ms(184_200)), 0);
        assert_eq!(meter.observe(t0 + ms(240_000), true, ms(243_800)), 10);
    }

    #[test]
    fn jitter_between_samples_is_not_counted_twice() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        meter.observe(t0, true, ms(0));
        // 20 ms behind, then level again, then 20 ms behind again.
        assert_eq!(meter.observe(t0 + ms(60_020), true, ms(60_000)), 1);
        assert_eq!(meter.observe(t0 + ms(120_000), true, ms(120_000)), 0);
        assert_eq!(meter.observe(t0 + ms(180_020), true, ms(180_000)), 0);
    }

    #[test]
    fn a_pause_restarts_the_baseline() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        meter.observe(t0, true, ms(0));
        assert_eq!(meter.observe(t0 + ms(30_000), false, ms(30_000)), 0);
        // Paused for 30 s: wall time moved, play time did not; no deficit.
        assert_eq!(meter.observe(t0 + ms(60_000), true, ms(30_000)), 0);
        assert_eq!(meter.observe(t0 + ms(120_000), true, ms(90_000)), 0);
        assert_eq!(meter.observe(t0 + ms(180_000), true, ms(149_000)), 50);
    }

    #[test]
    fn a_track_that_starts_and_ends_inside_an_interval_counts_only_its_own_time() {
        // Playable 20 s into the interval, ended 30 s later with 29 s played.
        let start = Instant::now() + ms(20_000);
        let mut meter = TrackMeter::new();
        assert_eq!(meter.observe(start, true, ms(0)), 0);
        assert_eq!(meter.observe(start + ms(30_000), true, ms(29_000)), 50);
    }
}
