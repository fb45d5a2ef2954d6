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
    /// UDP keepalives (4 or 8 bytes carrying the ssrc).
    pub keepalives: u64,
    /// When the first decrypted packet arrived.
    pub first_packet: Option<Instant>,
    /// When the last decrypted packet arrived.
    pub last_packet: Option<Instant>,
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

/// The per-guild accumulator behind [`Heard`], with a bounded buffer of
/// decoded mono audio.
#[derive(Debug)]
pub(crate) struct AudioLog {
    counts: Heard,
    samples_decoded: u64,
    pcm: VecDeque<f32>,
    keep_samples: usize,
}

impl AudioLog {
    /// Creates an empty log keeping at most `keep` of decoded audio.
    pub(crate) fn new(keep: Duration) -> Self {
        let keep_samples = (keep.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        Self { counts: Heard::default(), samples_decoded: 0, pcm: VecDeque::new(), keep_samples }
    }

    /// Records the arrival of a packet that decrypted.
    pub(crate) fn packet(&mut self, at: Instant) {
        let counts = &mut self.counts;
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
        let window = (ANALYSIS_WINDOW.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        let start = self.pcm.len().saturating_sub(window);
        (heard, self.pcm.range(start..).copied().collect())
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
