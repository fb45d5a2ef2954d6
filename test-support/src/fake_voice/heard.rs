//! What the fake voice server received for one guild.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use crate::audio::{SAMPLE_RATE, SILENCE_RMS, dbfs, dominant_frequency, rms};

/// Decoded audio shorter than this gives no [`Heard::dominant_hz`] and no
/// [`Heard::level_dbfs`]: a few frames are too little to measure and usually
/// just the start of a track.
const MIN_ANALYSIS_SAMPLES: usize = SAMPLE_RATE as usize / 10;

/// Length of the most recent stretch of audio that `dominant_hz` and
/// `level_dbfs` measure.
///
/// One second keeps each [`heard`](super::FakeVoiceServer::heard) call cheap
/// enough to poll, and lets a test see a change of track within a second.
pub const ANALYSIS_WINDOW: Duration = Duration::from_secs(1);

/// A snapshot of what arrived over UDP for one guild, across all its sessions.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Heard {
    /// RTP packets that decrypted, silence frames included.
    pub packets: u64,
    /// Packets whose payload was a real Opus frame that decoded.
    pub audio_packets: u64,
    /// Packets whose payload was the 3-byte Opus silence frame.
    pub silence_packets: u64,
    /// RTP packets for this guild's ssrc that failed to decrypt or parse
    /// (including any sent before SelectProtocol set the key).
    pub undecryptable: u64,
    /// Decrypted non-silence payloads that libopus refused.
    pub undecodable: u64,
    /// Audio frames that arrived DAVE-encrypted and decrypted as the
    /// virtual listener.
    pub dave_frames: u64,
    /// Audio frames that arrived without DAVE: songbird sends plain Opus
    /// until its first commit (silence frames are never encrypted and are
    /// not counted here).
    pub plain_frames: u64,
    /// Of `plain_frames`, those that came after the first DAVE frame: 0
    /// while DAVE holds, unless a test downgraded the call.
    pub plain_after_dave: u64,
    /// Frames with the DAVE marker that the listener could not decrypt.
    pub dave_undecryptable: u64,
    /// UDP keepalives (4 or 8 bytes carrying the ssrc).
    pub keepalives: u64,
    /// When the first decrypted packet arrived.
    pub first_packet: Option<Instant>,
    /// When the last decrypted packet arrived.
    pub last_packet: Option<Instant>,
    /// Median time between consecutive packets, to the millisecond
    /// (songbird paces one per 20 ms).
    pub gap_p50: Duration,
    /// 99th percentile of the time between consecutive packets.
    pub gap_p99: Duration,
    /// Longest time between consecutive packets.
    pub gap_max: Duration,
    /// Decrypted packets per second over the span from first to last packet
    /// (`(packets - 1) / span`); 0 with fewer than two packets. songbird
    /// sends one packet per 20 ms, so a steady stream reads about 50.
    pub rate: f64,
    /// Strongest frequency, in Hz, over the last [`ANALYSIS_WINDOW`] of
    /// decoded audio (mono mix); `None` with less than 0.1 s of audio or if
    /// that audio is silent.
    pub dominant_hz: Option<f64>,
    /// Total decoded audio, in seconds (not capped like the kept samples).
    pub seconds_of_audio: f64,
    /// RMS level, in dBFS (full scale = 1.0, see [`dbfs`](crate::audio::dbfs)),
    /// of the same last [`ANALYSIS_WINDOW`] of decoded audio as
    /// `dominant_hz`; `None` with less than 0.1 s of audio. Unlike
    /// `dominant_hz` it is given for silent audio too: digital silence reads
    /// -120, so a test can tell a track at volume 0 from no audio at all.
    pub level_dbfs: Option<f64>,
}

impl Heard {
    /// Returns the time between the first and the last decrypted packet.
    pub fn span(&self) -> Duration {
        match (self.first_packet, self.last_packet) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        }
    }
}

/// How long one RTP packet lasts: songbird sends one 20 ms Opus frame per
/// packet, so the log keeps as many payloads as `keep` has 20 ms frames.
const PACKET_DURATION: Duration = Duration::from_millis(20);

/// The per-guild accumulator behind [`Heard`], with a bounded buffer of
/// decoded mono audio and one of the Opus payloads as they arrived.
#[derive(Debug)]
pub(crate) struct AudioLog {
    counts: Heard,
    gaps: GapHistogram,
    samples_decoded: u64,
    pcm: VecDeque<f32>,
    keep_samples: usize,
    payloads: VecDeque<Vec<u8>>,
    keep_payloads: usize,
}

impl AudioLog {
    /// Creates an empty log keeping at most `keep` of decoded audio, and the
    /// payloads of that many 20 ms packets.
    pub(crate) fn new(keep: Duration) -> Self {
        let keep_samples = (keep.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        let keep_payloads = usize::try_from(keep.as_nanos() / PACKET_DURATION.as_nanos()).unwrap_or(usize::MAX);
        Self {
            counts: Heard::default(),
            gaps: GapHistogram::default(),
            samples_decoded: 0,
            pcm: VecDeque::new(),
            keep_samples,
            payloads: VecDeque::new(),
            keep_payloads,
        }
    }

    /// Records the Opus payload of a packet that decrypted (silence frames
    /// included), dropping the oldest beyond the bound.
    pub(crate) fn opus_payload(&mut self, payload: &[u8]) {
        if self.keep_payloads == 0 {
            return;
        }
        if self.payloads.len() == self.keep_payloads {
            self.payloads.pop_front();
        }
        self.payloads.push_back(payload.to_vec());
    }

    /// Returns the kept Opus payloads, oldest first.
    pub(crate) fn opus_payloads(&self) -> Vec<Vec<u8>> {
        self.payloads.iter().cloned().collect()
    }

    /// Records the arrival of a packet that decrypted.
    pub(crate) fn packet(&mut self, at: Instant) {
        let counts = &mut self.counts;
        if let Some(last) = counts.last_packet {
            self.gaps.record(at.saturating_duration_since(last));
        }
        counts.packets += 1;
        counts.first_packet.get_or_insert(at);
        counts.last_packet = Some(at);
    }

    /// Records a silence frame (after [`packet`](Self::packet)).
    pub(crate) fn silence(&mut self) {
        self.counts.silence_packets += 1;
    }

    /// Records decoded audio, given as mono samples at 48 kHz.
    pub(crate) fn audio(&mut self, mono: &[f32]) {
        self.counts.audio_packets += 1;
        self.samples_decoded += mono.len() as u64;
        if mono.len() >= self.keep_samples {
            self.pcm.clear();
            self.pcm.extend(&mono[mono.len() - self.keep_samples..]);
            return;
        }
        let overflow = (self.pcm.len() + mono.len()).saturating_sub(self.keep_samples);
        self.pcm.drain(..overflow);
        self.pcm.extend(mono);
    }

    /// Records a frame that came DAVE-encrypted and decrypted.
    pub(crate) fn dave_frame(&mut self) {
        self.counts.dave_frames += 1;
    }

    /// Records a frame that came without DAVE.
    pub(crate) fn plain_frame(&mut self) {
        self.counts.plain_frames += 1;
        if self.counts.dave_frames > 0 {
            self.counts.plain_after_dave += 1;
        }
    }

    /// Records a DAVE frame the listener could not decrypt.
    pub(crate) fn dave_undecryptable(&mut self) {
        self.counts.dave_undecryptable += 1;
    }

    /// Records a packet that failed to decrypt or parse.
    pub(crate) fn undecryptable(&mut self) {
        self.counts.undecryptable += 1;
    }

    /// Records a payload the Opus decoder refused.
    pub(crate) fn undecodable(&mut self) {
        self.counts.undecodable += 1;
    }

    /// Records a UDP keepalive.
    pub(crate) fn keepalive(&mut self) {
        self.counts.keepalives += 1;
    }

    /// Returns the kept decoded audio, oldest first.
    pub(crate) fn kept_audio(&self) -> Vec<f32> {
        self.pcm.iter().copied().collect()
    }

    /// Returns the counters and the audio `dominant_hz` should be measured
    /// over; the caller measures it without holding the server's lock.
    pub(crate) fn snapshot(&self) -> (Heard, Vec<f32>) {
        let mut heard = self.counts.clone();
        heard.seconds_of_audio = self.samples_decoded as f64 / f64::from(SAMPLE_RATE);
        let span = heard.span().as_secs_f64();
        if heard.packets >= 2 && span > 0.0 {
            heard.rate = (heard.packets - 1) as f64 / span;
        }
        (heard.gap_p50, heard.gap_p99, heard.gap_max) = self.gaps.summary();
        let window = (ANALYSIS_WINDOW.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        let start = self.pcm.len().saturating_sub(window);
        (heard, self.pcm.range(start..).copied().collect())
    }
}

/// Gaps between packets in 1 ms buckets up to [`GapHistogram::BUCKETS`]
/// ms (longer ones share the last bucket; the maximum is kept exactly).
/// Fixed size, so a sink counting a thousand streams stays cheap.
#[derive(Debug, Default)]
struct GapHistogram {
    counts: Vec<u32>,
    total: u64,
    max: Duration,
}

impl GapHistogram {
    const BUCKETS: usize = 2_000;

    fn record(&mut self, gap: Duration) {
        if self.counts.is_empty() {
            self.counts = vec![0; Self::BUCKETS + 1];
        }
        let bucket = usize::try_from(gap.as_millis()).unwrap_or(usize::MAX).min(Self::BUCKETS);
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
        self.total += 1;
        self.max = self.max.max(gap);
    }

    /// p50, p99 and max; zeros before two packets.
    fn summary(&self) -> (Duration, Duration, Duration) {
        (self.percentile(0.50), self.percentile(0.99), self.max)
    }

    /// The smallest bucket at or below which `share` of the gaps fall.
    fn percentile(&self, share: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((self.total as f64 * share).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (millis, count) in self.counts.iter().enumerate() {
            seen += u64::from(*count);
            if seen >= rank {
                return Duration::from_millis(millis as u64).min(self.max);
            }
        }
        self.max
    }
}

/// Fills in `heard.dominant_hz` and `heard.level_dbfs` from `recent` audio.
pub(crate) fn measure(mut heard: Heard, recent: &[f32]) -> Heard {
    let enough = recent.len() >= MIN_ANALYSIS_SAMPLES;
    heard.dominant_hz = (enough && rms(recent) >= SILENCE_RMS).then(|| dominant_frequency(recent, SAMPLE_RATE));
    heard.level_dbfs = enough.then(|| dbfs(recent));
    heard
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, samples: usize) -> Vec<f32> {
        (0..samples).map(|i| (0.3 * (std::f64::consts::TAU * hz * i as f64 / 48_000.0).sin()) as f32).collect()
    }

    #[test]
    fn snapshot_counts_rate_over_the_packet_span() {
        let mut log = AudioLog::new(Duration::from_secs(10));
        let start = Instant::now();
        for i in 0..101u32 {
            log.packet(start + Duration::from_millis(20) * i);
        }
        let (heard, _) = log.snapshot();
        assert_eq!(heard.packets, 101);
        assert_eq!(heard.span(), Duration::from_secs(2));
        assert!((heard.rate - 50.0).abs() < 1e-9, "{}", heard.rate);
    }

    #[test]
    fn gaps_give_percentiles_and_the_exact_maximum() {
        let mut log = AudioLog::new(Duration::from_secs(1));
        let start = Instant::now();
        let mut at = start;
        // 98 gaps of 20 ms, one of 21 ms, one stall of 3.5 s.
        for gap in std::iter::repeat_n(20, 98).chain([21, 3_500]) {
            log.packet(at);
            at += Duration::from_millis(gap);
        }
        log.packet(at);
        let (heard, _) = log.snapshot();
        assert_eq!(heard.gap_p50, Duration::from_millis(20));
        assert_eq!(heard.gap_p99, Duration::from_millis(21));
        assert_eq!(heard.gap_max, Duration::from_millis(3_500));
        let (empty, _) = AudioLog::new(Duration::from_secs(1)).snapshot();
        assert_eq!((empty.gap_p50, empty.gap_max), (Duration::ZERO, Duration::ZERO));
    }

    #[test]
    fn plain_frames_after_the_first_dave_frame_are_counted_apart() {
        let mut log = AudioLog::new(Duration::from_secs(1));
        log.plain_frame();
        log.plain_frame();
        log.dave_frame();
        log.plain_frame();
        log.dave_undecryptable();
        let (heard, _) = log.snapshot();
        assert_eq!((heard.plain_frames, heard.plain_after_dave, heard.dave_frames), (3, 1, 1));
        assert_eq!(heard.dave_undecryptable, 1);
    }

    #[test]
    fn kept_audio_is_capped_to_the_newest_samples() {
        let mut log = AudioLog::new(Duration::from_millis(50)); // 2400 samples
        for i in 0..10 {
            log.audio(&[i as f32; 960]);
        }
        let kept = log.kept_audio();
        assert_eq!(kept.len(), 2400);
        assert_eq!(kept[0], 7.0);
        assert_eq!(kept[2399], 9.0);
        log.audio(&[42.0; 5000]);
        assert_eq!(log.kept_audio(), vec![42.0; 2400]);
        let (heard, _) = log.snapshot();
        assert_eq!(heard.audio_packets, 11);
        assert!((heard.seconds_of_audio - 14_600.0 / 48_000.0).abs() < 1e-9);
    }

    #[test]
    fn opus_payloads_are_kept_in_order_up_to_one_a_packet_of_the_kept_time() {
        let mut log = AudioLog::new(Duration::from_millis(100)); // 5 packets
        for i in 0..8u8 {
            log.opus_payload(&[i, i]);
        }
        assert_eq!(log.opus_payloads(), [[3, 3], [4, 4], [5, 5], [6, 6], [7, 7]]);
        let mut none = AudioLog::new(Duration::from_millis(19));
        none.opus_payload(&[1]);
        assert!(none.opus_payloads().is_empty(), "less than a packet keeps none");
    }

    #[test]
    fn measure_reports_the_tone_of_the_last_window_only() {
        let mut log = AudioLog::new(Duration::from_secs(10));
        log.audio(&tone(1000.0, 96_000));
        log.audio(&tone(440.0, 48_000));
        let (heard, recent) = log.snapshot();
        assert_eq!(recent.len(), 48_000);
        let hz = measure(heard, &recent).dominant_hz.unwrap();
        assert!((hz - 440.0).abs() < 0.5, "{hz}");
    }

    #[test]
    fn measure_reports_the_level_of_the_last_window() {
        let mut log = AudioLog::new(Duration::from_secs(10));
        log.audio(&[0.0; 96_000]);
        log.audio(&tone(440.0, 48_000));
        let (heard, recent) = log.snapshot();
        let level = measure(heard, &recent).level_dbfs.unwrap();
        assert!((level - (-13.47)).abs() < 0.2, "{level}");
        let louder: Vec<f32> = recent.iter().map(|s| s * 2.0).collect();
        let gain = measure(Heard::default(), &louder).level_dbfs.unwrap() - level;
        assert!((gain - 6.02).abs() < 0.01, "{gain}");
    }

    #[test]
    fn measure_reports_silence_as_the_floor_level_but_no_frequency() {
        let silent = measure(Heard::default(), &[0.0; 48_000]);
        assert_eq!(silent.level_dbfs, Some(-120.0));
        assert_eq!(silent.dominant_hz, None);
        assert_eq!(measure(Heard::default(), &tone(440.0, 4_799)).level_dbfs, None, "under 0.1 s");
        assert!(measure(Heard::default(), &tone(440.0, 4_800)).level_dbfs.is_some());
    }

    #[test]
    fn measure_gives_no_frequency_for_silence_or_too_little_audio() {
        assert_eq!(measure(Heard::default(), &[0.0; 48_000]).dominant_hz, None);
        assert_eq!(measure(Heard::default(), &tone(440.0, 960)).dominant_hz, None);
    }
}
