//! Per-track frame statistics, like Lavalink's `frameStats`: frames sent,
//! frames nulled and the frame deficit, in 20 ms frames.
//!
//! # What songbird lets us see
//!
//! Songbird's mixer ticks every 20 ms. On each tick it mixes one frame of
//! every playing track whose audio is ready; a track whose audio is not
//! ready yet (its input is being created, probed or seeked on songbird's
//! thread pool) is skipped, and when nothing was mixed the call gets a
//! silent frame (five of them, then nothing). A track's
//! [`TrackState::play_time`](songbird::tracks::TrackState) grows by exactly
//! 20 ms for each frame the mixer mixed from it, and by nothing else (a
//! seek moves the position, not the play time). When the mixer falls behind
//! (a starved host) or blocks (a source that delivers audio slower than
//! real time: songbird's reads wait for the bytes), ticks come late, so
//! play time grows more slowly than the wall clock; the mixer then runs
//! late ticks back to back to catch up, as far as it has audio.
//!
//! From outside songbird we see a track's state (play mode, readiness,
//! play time) when we ask for it, not every tick. So, per track:
//!
//! - **sent**: frames the mixer mixed from the track, the growth of its
//!   play time in 20 ms steps. Exact, counted from the moment the track was
//!   handed to songbird (play time 0). "Sent" means mixed and handed to
//!   songbird's UDP sender; whether the datagram left the host is not
//!   visible (a full socket buffer drops it silently).
//! - **nulled**: wall-clock frames in which the track was meant to play
//!   (play mode `Play`) but its audio was not ready: the call got silence
//!   or nothing. Measured between observations: a span whose two ends both
//!   saw the track waiting counts whole; a span from waiting to playing (or
//!   back) counts its wall time minus the frames sent in it, as if the track
//!   waited for the rest of the span. A slow *source* does not show here:
//!   songbird blocks on it rather than skipping the track, so it shows as
//!   deficit.
//! - **deficit**: frames by which the track fell behind the wall clock
//!   while playable and playing, neither sent nor nulled: wall time minus
//!   play time grown, over spans whose two ends both saw it playing.
//!   Counted with a running lag, so the ±1 frame of timing jitter between
//!   two observations is not counted again and again: a lag is reported
//!   when it grows by a whole frame beyond what was already reported, and
//!   when the mixer catches up the reported mark follows the lag down (to
//!   one frame above it), so a later stall counts again. Frames caught up
//!   count as sent and never take back a deficit already reported: after a
//!   stall that was made up, `sent + nulled + deficit` exceeds the wall
//!   time by the frames caught up.
//!
//! A span with a paused (or stopped, ended) track at either end counts only
//! its sent frames: the moment of the pause or resume inside it is not
//! known, so at most one span of wall time (one sampling period, 1 s by
//! default) around a pause is not measured.
//!
//! Lavalink reports, per minute, `sent + nulled + deficit = 3000` for a
//! player that played the whole minute; here, for a track that played a
//! whole minute without catching up, `sent + nulled + deficit` is 3000
//! within a frame or two.
//!
//! The bookkeeping is pure ([`TrackMeter`], [`RollingMinute`]) so it is
//! tested without a voice connection; `GuildPlayers` feeds it.

use std::ops::AddAssign;
use std::time::{Duration, Instant};

/// One Opus frame: songbird mixes and sends one every 20 ms.
pub const FRAME: Duration = Duration::from_millis(20);

/// Frames in a minute of real time (Lavalink's expected count).
pub const FRAMES_PER_MINUTE: u64 = 3000;

/// How a running lag may move between observations without being counted
/// again: the observation's timing jitter, in frames.
const JITTER_FRAMES: i128 = 1;

/// Whole 20 ms frames in `d`, rounded down.
pub fn whole_frames(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() / FRAME.as_nanos()).unwrap_or(u64::MAX)
}

/// Frame counts of one player over some time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames mixed from the track and handed to the sender.
    pub sent: u64,
    /// Frames the track was meant to play but had no audio ready.
    pub nulled: u64,
    /// Frames the track fell behind the wall clock, neither sent nor nulled.
    pub deficit: u64,
}

impl AddAssign for FrameStats {
    fn add_assign(&mut self, other: Self) {
        self.sent = self.sent.saturating_add(other.sent);
        self.nulled = self.nulled.saturating_add(other.nulled);
        self.deficit = self.deficit.saturating_add(other.deficit);
    }
}

/// What a track was doing when it was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackActivity {
    /// Play mode `Play` and audio ready: the mixer mixes it every tick.
    Playing,
    /// Play mode `Play` but audio not ready (being created, probed, seeked).
    Waiting,
    /// Paused, stopped or ended: nothing is expected of it.
    Idle,
}

/// One track's frame bookkeeping between observations. See the module
/// documentation for what each count means.
#[derive(Debug, Clone, Default)]
pub struct TrackMeter {
    /// The previous observation: when, what the track did, its play time.
    last: Option<(Instant, TrackActivity, Duration)>,
    /// Play time already counted as sent.
    counted_play: Duration,
    /// Wall time minus play time over playing spans, in nanoseconds (it
    /// goes negative when the mixer catches up).
    lag_ns: i128,
    /// Whole frames of lag already reported as deficit.
    reported_lag: i128,
    /// Wall time counted as waiting.
    waited: Duration,
    /// Whole frames of `waited` already reported as nulled.
    reported_waited: u64,
}

impl TrackMeter {
    /// A meter for a track just handed to songbird (play time 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that at `now` the track was `activity` with `play_time`;
    /// returns the frames this observation adds.
    ///
    /// Take `now` before asking songbird for the state: its answer is then
    /// never older than `now`, so a deficit is under- rather than
    /// over-counted. An observation older than the previous one only counts
    /// its sent frames.
    pub fn observe(&mut self, now: Instant, activity: TrackActivity, play_time: Duration) -> FrameStats {
        let mut added = FrameStats {
            sent: whole_frames(play_time).saturating_sub(whole_frames(self.counted_play)),
            ..FrameStats::default()
        };
        self.counted_play = self.counted_play.max(play_time);
        let Some((since, was, played_then)) = self.last else {
            self.last = Some((now, activity, play_time));
            return added;
        };
        if now < since {
            return added;
        }
        self.last = Some((now, activity, play_time));
        let wall = now - since;
        let played = play_time.saturating_sub(played_then);
        match (was, activity) {
            (TrackActivity::Playing, TrackActivity::Playing) => {
                self.lag_ns += wall.as_nanos() as i128 - played.as_nanos() as i128;
                let lag = self.lag_ns.div_euclid(FRAME.as_nanos() as i128);
                if lag > self.reported_lag {
                    added.deficit = u64::try_from(lag - self.reported_lag).unwrap_or(u64::MAX);
                    self.reported_lag = lag;
                } else {
                    // Caught up: follow the lag down, keeping the jitter's
                    // margin, so the next stall counts again.
                    self.reported_lag = self.reported_lag.min(lag.max(0) + JITTER_FRAMES);
                }
            }
            (TrackActivity::Waiting, TrackActivity::Waiting) => self.waited += wall,
            (TrackActivity::Waiting, TrackActivity::Playing) | (TrackActivity::Playing, TrackActivity::Waiting) => {
                self.waited += wall.saturating_sub(played);
            }
            _ => {}
        }
        let waited = whole_frames(self.waited);
        added.nulled = waited.saturating_sub(self.reported_waited);
        self.reported_waited = self.reported_waited.max(waited);
        added
    }
}

/// Seconds in the rolling window.
const WINDOW_SECS: usize = 60;

/// Frame counts over the last minute, in one-second buckets.
///
/// Counts are added to the bucket of the second they were observed in
/// (seconds counted from an origin the owner chooses); [`Self::last_minute`]
/// sums the 60 buckets up to and including the current second, so it covers
/// between 59 and 60 s of observations. A player that started less than a
/// minute ago shows only what it did since.
#[derive(Debug, Clone)]
pub struct RollingMinute {
    buckets: [(u64, FrameStats); WINDOW_SECS],
}

impl Default for RollingMinute {
    fn default() -> Self {
        // Second u64::MAX never comes: every bucket starts out of the window.
        Self { buckets: [(u64::MAX, FrameStats::default()); WINDOW_SECS] }
    }
}

impl RollingMinute {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `stats` observed in second `second`.
    pub fn add(&mut self, second: u64, stats: FrameStats) {
        let bucket = &mut self.buckets[(second % WINDOW_SECS as u64) as usize];
        if bucket.0 != second {
            *bucket = (second, FrameStats::default());
        }
        bucket.1 += stats;
    }

    /// The counts of the 60 seconds up to and including `now_second`.
    pub fn last_minute(&self, now_second: u64) -> FrameStats {
        let oldest = now_second.saturating_sub(WINDOW_SECS as u64 - 1);
        let mut sum = FrameStats::default();
        for (second, stats) in &self.buckets {
            if (oldest..=now_second).contains(second) {
                sum += *stats;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackActivity::{Idle, Playing, Waiting};

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn stats(sent: u64, nulled: u64, deficit: u64) -> FrameStats {
        FrameStats { sent, nulled, deficit }
    }

    /// Observes a track every second for `secs` seconds after `t0`, its
    /// play time growing `rate` times as fast as the wall clock from `play`
    /// on; the sum of what the observations added.
    fn run(meter: &mut TrackMeter, t0: Instant, play: Duration, secs: u64, rate: f64) -> FrameStats {
        let mut sum = FrameStats::default();
        for s in 1..=secs {
            // Play time moves in whole frames, as the mixer steps it.
            let grown = ((s as f64 * 1000.0 * rate) as u64) / 20 * 20;
            sum += meter.observe(t0 + Duration::from_secs(s), Playing, play + ms(grown));
        }
        sum
    }

    #[test]
    fn whole_frames_floors() {
        assert_eq!(whole_frames(ms(59_999)), 2999);
        assert_eq!(whole_frames(ms(60_000)), FRAMES_PER_MINUTE);
        assert_eq!(whole_frames(ms(19)), 0);
    }

    #[test]
    fn a_track_that_keeps_up_sends_every_frame_and_reports_no_deficit() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        // Already 2 frames mixed when first seen: they count as sent.
        assert_eq!(meter.observe(t0, Playing, ms(40)), stats(2, 0, 0));
        let sum = run(&mut meter, t0, ms(40), 60, 1.0);
        assert_eq!(sum, stats(FRAMES_PER_MINUTE, 0, 0));
    }

    #[test]
    fn observation_jitter_of_a_frame_is_not_counted_again_and_again() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        meter.observe(t0, Playing, ms(0));
        let mut sum = FrameStats::default();
        // The answer comes a tick late or on time, alternately: the lag
        // moves between 0 and 1 frame every second.
        for s in 1..=60u64 {
            let lag = if s % 2 == 0 { 0 } else { 20 };
            sum += meter.observe(t0 + Duration::from_secs(s), Playing, ms(s * 1000 - lag));
        }
        assert!(sum.deficit <= 1, "{sum:?}");
    }

    #[test]
    fn a_source_at_half_speed_shows_half_the_minute_as_deficit() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        meter.observe(t0, Playing, ms(0));
        let sum = run(&mut meter, t0, ms(0), 60, 0.5);
        assert_eq!(sum.sent, 1500);
        assert_eq!(sum.nulled, 0);
        assert_eq!(sum.deficit, 1500);
    }

    #[test]
    fn a_stall_counts_once_and_a_later_stall_after_catching_up_counts_again() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        meter.observe(t0, Playing, ms(0));
        // 1 s not mixed in the first 10 s.
        assert_eq!(meter.observe(t0 + ms(10_000), Playing, ms(9_000)), stats(450, 0, 50));
        // The mixer caught up 900 ms: sent, nothing taken back.
        assert_eq!(meter.observe(t0 + ms(20_000), Playing, ms(19_900)), stats(545, 0, 0));
        // Another 1 s stall: counted beyond the one frame of margin.
        let added = meter.observe(t0 + ms(30_000), Playing, ms(28_900));
        assert_eq!(added.deficit, 49, "{added:?}");
    }

    #[test]
    fn waiting_for_audio_is_nulled_not_deficit() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        // Handed over, waiting (a lazy input being created) for 3 s.
        meter.observe(t0, Waiting, ms(0));
        assert_eq!(meter.observe(t0 + ms(1_000), Waiting, ms(0)), stats(0, 50, 0));
        assert_eq!(meter.observe(t0 + ms(2_000), Waiting, ms(0)), stats(0, 50, 0));
        // Became playable 0.5 s into the next span: 25 frames sent in it.
        assert_eq!(meter.observe(t0 + ms(3_000), Playing, ms(500)), stats(25, 25, 0));
        assert_eq!(meter.observe(t0 + ms(4_000), Playing, ms(1_500)), stats(50, 0, 0));
        // A seek: waiting again for 400 ms of a span.
        assert_eq!(meter.observe(t0 + ms(5_000), Waiting, ms(2_100)), stats(30, 20, 0));
    }

    #[test]
    fn a_paused_track_expects_nothing_and_its_pause_moment_is_not_measured() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        meter.observe(t0, Playing, ms(0));
        assert_eq!(meter.observe(t0 + ms(1_000), Playing, ms(1_000)), stats(50, 0, 0));
        // Paused somewhere in the next second, then 30 s paused.
        assert_eq!(meter.observe(t0 + ms(2_000), Idle, ms(1_400)), stats(20, 0, 0));
        assert_eq!(meter.observe(t0 + ms(32_000), Idle, ms(1_400)), stats(0, 0, 0));
        // Resumed: the span around the resume counts only what was sent.
        assert_eq!(meter.observe(t0 + ms(33_000), Playing, ms(1_700)), stats(15, 0, 0));
        assert_eq!(meter.observe(t0 + ms(34_000), Playing, ms(2_700)), stats(50, 0, 0));
    }

    #[test]
    fn an_older_observation_counts_only_its_sent_frames() {
        let t0 = Instant::now() + ms(10_000);
        let mut meter = TrackMeter::new();
        meter.observe(t0, Playing, ms(0));
        assert_eq!(meter.observe(t0 - ms(500), Playing, ms(20)), stats(1, 0, 0));
        assert_eq!(meter.observe(t0 + ms(1_000), Playing, ms(1_000)), stats(49, 0, 0));
    }

    #[test]
    fn the_rolling_minute_forgets_what_is_older_than_60_seconds() {
        let mut window = RollingMinute::new();
        assert_eq!(window.last_minute(0), FrameStats::default());
        window.add(0, stats(50, 0, 0));
        window.add(0, stats(50, 1, 2));
        window.add(59, stats(10, 0, 0));
        assert_eq!(window.last_minute(59), stats(110, 1, 2));
        // Second 0 leaves the window at second 60.
        assert_eq!(window.last_minute(60), stats(10, 0, 0));
        // Second 60 reuses second 0's bucket.
        window.add(60, stats(5, 0, 0));
        assert_eq!(window.last_minute(60), stats(15, 0, 0));
        assert_eq!(window.last_minute(200), FrameStats::default());
    }

    #[test]
    fn a_minute_played_in_one_second_steps_fills_the_window_with_3000_frames() {
        let t0 = Instant::now();
        let mut meter = TrackMeter::new();
        let mut window = RollingMinute::new();
        window.add(0, meter.observe(t0, Playing, ms(0)));
        for s in 1..=120u64 {
            window.add(s, meter.observe(t0 + Duration::from_secs(s), Playing, ms(s * 1000)));
        }
        // Seconds 61..=120 observed: a full minute of sent frames.
        assert_eq!(window.last_minute(120), stats(FRAMES_PER_MINUTE, 0, 0));
    }
}
