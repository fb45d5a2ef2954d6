//! Tone generation and frequency analysis for audio tests.
//!
//! A test writes a pure tone with [`write_tone_wav`] (or a sequence of tones
//! with [`write_steps_wav`]), has the bot play it, and checks what the fake
//! voice server decoded with [`dominant_frequency`], [`frequency_timeline`]
//! (which tone played when, so the order of tracks or where a seek landed)
//! and [`dbfs`] (how loud). [`write_tone_ogg_opus`] and
//! [`write_tone_webm_opus`] write a tone already encoded as Opus and return
//! its packets, to compare with what the voice server received.

mod opus_files;

use std::{f64::consts::PI, path::Path, time::Duration};

use anyhow::Context as _;

pub use opus_files::{
    OPUS_FRAME_SAMPLES, OPUS_TONE_BITRATE, OpusTone, opus_tone, write_tone_ogg_opus, write_tone_webm_opus,
};

/// Sample rate of the WAV files written here: Discord's (and Opus's) rate.
pub const SAMPLE_RATE: u32 = 48_000;

/// Peak amplitude of generated tones, as a fraction of full scale.
///
/// Half scale leaves headroom, so songbird's soft clipper and the Opus
/// encoder see an undistorted sine.
const TONE_AMPLITUDE: f64 = 0.5;

/// Below this RMS (-60 dBFS) audio counts as silence and has no dominant
/// frequency: the noise Opus decodes at silence would otherwise "win".
pub const SILENCE_RMS: f64 = 1e-3;

/// What [`dbfs`] reads for digital silence, and its floor for anything
/// quieter.
pub const DBFS_FLOOR: f64 = -120.0;

/// Writes a pure sine tone as a 48 kHz, stereo, 16-bit PCM WAV file.
///
/// Both channels carry the same signal at half of full scale. The header is
/// the canonical 44-byte RIFF/WAVE header, written by hand so the file needs
/// no encoder library.
///
/// # Errors
///
/// Fails if `hz` or `secs` is not finite and positive, if the file would
/// exceed the 4 GiB a RIFF header can describe, or if writing fails.
pub fn write_tone_wav(path: impl AsRef<Path>, hz: f64, secs: f64) -> anyhow::Result<()> {
    let path = path.as_ref();
    let bytes = tone_wav(hz, secs)?;
    std::fs::write(path, bytes).with_context(|| format!("write wav {}", path.display()))
}

/// The bytes [`write_tone_wav`] writes, for tests that serve them over HTTP.
///
/// # Errors
///
/// Fails if `hz` or `secs` is not finite and positive, or if the tone would
/// exceed the 4 GiB a RIFF header can describe.
pub fn tone_wav(hz: f64, secs: f64) -> anyhow::Result<Vec<u8>> {
    tone_steps_wav(&[(hz, secs)])
}

/// Writes one WAV file (48 kHz, stereo, 16-bit, like [`write_tone_wav`])
/// that plays each `(hz, secs)` tone of `steps` in turn, at the same
/// amplitude.
///
/// The phase runs on across each boundary, so a change of tone makes no
/// click (a jump that would add every frequency for an instant). Each
/// step lasts `secs` rounded to whole samples.
///
/// # Errors
///
/// Fails if `steps` is empty, if any `hz` or `secs` is not finite and
/// positive, if the file would exceed the 4 GiB a RIFF header can describe,
/// or if writing fails.
pub fn write_steps_wav(path: impl AsRef<Path>, steps: &[(f64, f64)]) -> anyhow::Result<()> {
    let path = path.as_ref();
    let bytes = tone_steps_wav(steps)?;
    std::fs::write(path, bytes).with_context(|| format!("write wav {}", path.display()))
}

/// The bytes [`write_steps_wav`] writes, for tests that serve them over HTTP.
///
/// # Errors
///
/// Fails if `steps` is empty, if any `hz` or `secs` is not finite and
/// positive, or if the tones would exceed the 4 GiB a RIFF header can
/// describe.
pub fn tone_steps_wav(steps: &[(f64, f64)]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(!steps.is_empty(), "give at least one tone");
    for &(hz, secs) in steps {
        anyhow::ensure!(hz.is_finite() && hz > 0.0, "tone frequency must be positive");
        anyhow::ensure!(secs.is_finite() && secs > 0.0, "tone length must be positive");
    }

    const CHANNELS: u16 = 2;
    const BITS: u16 = 16;
    let block_align = CHANNELS * BITS / 8;
    let rate = f64::from(SAMPLE_RATE);
    // Checked one step at a time, so a huge `secs` cannot overflow the sum.
    let mut step_frames = Vec::with_capacity(steps.len());
    let mut data_len: u64 = 0;
    for &(_, secs) in steps {
        let frames = (secs * rate).round() as u64;
        data_len = data_len.saturating_add(frames.saturating_mul(u64::from(block_align)));
        step_frames.push(frames);
    }
    let data_len =
        u32::try_from(data_len).ok().filter(|len| *len <= u32::MAX - 36).context("tone too long for a wav file")?;

    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVE");
    bytes.extend_from_slice(b"fmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&CHANNELS.to_le_bytes());
    bytes.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    bytes.extend_from_slice(&(SAMPLE_RATE * u32::from(block_align)).to_le_bytes());
    bytes.extend_from_slice(&block_align.to_le_bytes());
    bytes.extend_from_slice(&BITS.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());

    // Each step starts at the phase the previous one ended on. Within a
    // step the phase is `start + step * n` rather than a running sum, so a
    // long tone gathers no rounding drift.
    let mut start = 0.0;
    for (&(hz, _), &frames) in steps.iter().zip(&step_frames) {
        let step = 2.0 * PI * hz / rate;
        for n in 0..frames {
            let value = TONE_AMPLITUDE * (start + step * n as f64).sin();
            let sample = (value * f64::from(i16::MAX)).round() as i16;
            for _ in 0..CHANNELS {
                bytes.extend_from_slice(&sample.to_le_bytes());
            }
        }
        start = (start + step * frames as f64) % (2.0 * PI);
    }
    Ok(bytes)
}

/// The 44-byte header of an endless 48 kHz, 16-bit stereo PCM WAV: both
/// sizes at their maximum (`0xFFFFFFFF`), as stream servers and ffmpeg
/// writing to a pipe do.
pub fn streaming_wav_header() -> [u8; 44] {
    let mut header = [0u8; 44];
    let fields: [&[u8]; 13] = [
        b"RIFF",
        &u32::MAX.to_le_bytes(),
        b"WAVE",
        b"fmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &2u16.to_le_bytes(),
        &SAMPLE_RATE.to_le_bytes(),
        &(SAMPLE_RATE * 4).to_le_bytes(),
        &4u16.to_le_bytes(),
        &16u16.to_le_bytes(),
        b"data",
        &u32::MAX.to_le_bytes(),
    ];
    let mut at = 0;
    for field in fields {
        header[at..at + field.len()].copy_from_slice(field);
        at += field.len();
    }
    header
}

/// Pieces of one streaming WAV, for HLS tests: one piece per `(hz, secs)`
/// of `steps`, the first starting with [`streaming_wav_header`], the others
/// raw PCM continuing it (phase included), so their concatenation is one
/// playable WAV stream.
///
/// # Errors
///
/// Like [`tone_steps_wav`].
pub fn wav_hls_segments(steps: &[(f64, f64)]) -> anyhow::Result<Vec<Vec<u8>>> {
    let whole = tone_steps_wav(steps)?;
    let mut pcm = &whole[44..];
    let mut pieces = Vec::with_capacity(steps.len());
    for (index, &(_, secs)) in steps.iter().enumerate() {
        let frames = (secs * f64::from(SAMPLE_RATE)).round() as usize;
        let (piece, rest) = pcm.split_at((frames * 4).min(pcm.len()));
        pcm = rest;
        let mut bytes = Vec::with_capacity(44 + piece.len());
        if index == 0 {
            bytes.extend_from_slice(&streaming_wav_header());
        }
        bytes.extend_from_slice(piece);
        pieces.push(bytes);
    }
    Ok(pieces)
}

/// Raw 48 kHz, 16-bit stereo PCM of a `hz` tone lasting `secs` (no header):
/// a live HLS piece that follows [`wav_hls_segments`].
///
/// # Errors
///
/// Like [`tone_wav`].
pub fn tone_pcm(hz: f64, secs: f64) -> anyhow::Result<Vec<u8>> {
    Ok(tone_wav(hz, secs)?.split_off(44))
}

/// Mixes interleaved stereo samples down to mono by averaging each pair.
///
/// A trailing unpaired sample is dropped.
pub fn stereo_to_mono(interleaved: &[f32]) -> Vec<f32> {
    interleaved.chunks_exact(2).map(|pair| (pair[0] + pair[1]) * 0.5).collect()
}

/// Returns the root mean square of `samples`, or 0 for an empty slice.
pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Returns the level of `samples` in dBFS: `20 * log10(rms)`, where a
/// full-scale value is 1.0 (a full-scale sine reads about -3 dBFS).
///
/// Digital silence (and an empty slice) reads [`DBFS_FLOOR`], -120, which
/// is also the floor for anything quieter, so the result is always finite.
pub fn dbfs(samples: &[f32]) -> f64 {
    let rms = rms(samples);
    if rms > 0.0 { (20.0 * rms.log10()).max(DBFS_FLOOR) } else { DBFS_FLOOR }
}

/// Returns the dominant frequency of each consecutive `chunk` of mono
/// `samples`, in order: `None` for a chunk quieter than [`SILENCE_RMS`]
/// (the threshold the fake voice server uses), so a test can read the
/// order of tones, a gap, or where a seek landed.
///
/// Only whole chunks count: a shorter remainder at the end is left out,
/// as is everything when `chunk` is shorter than one sample. A chunk that
/// straddles a change of tone reports the stronger part. Mix stereo down
/// with [`stereo_to_mono`] first.
///
/// Each chunk costs one [`dominant_frequency`] call, which grows with the
/// square of the chunk up to 50 ms and slowly after; chunks of 50 to 200 ms
/// keep a few seconds of audio well under a second in a debug build.
pub fn frequency_timeline(samples: &[f32], sample_rate: u32, chunk: Duration) -> Vec<Option<f64>> {
    let len = (chunk.as_secs_f64() * f64::from(sample_rate)).round() as usize;
    if len == 0 {
        return Vec::new();
    }
    samples
        .chunks_exact(len)
        .map(|part| (rms(part) >= SILENCE_RMS).then(|| dominant_frequency(part, sample_rate)).filter(|hz| *hz > 0.0))
        .collect()
}

/// Estimates the strongest frequency in `mono`, in Hz.
///
/// Method (no FFT): a Hann-windowed Goertzel scan, coarse to fine.
///
/// 1. The mean is removed, so a DC offset cannot win.
/// 2. Coarse: over the central 50 ms (or less, if the input is shorter),
///    the Goertzel power is evaluated every half bin from one bin above DC up
///    to Nyquist, and the loudest frequency is kept. The Hann window keeps
///    side lobes 31 dB down, so the loudest half-bin step lies in the main
///    lobe of the strongest tone.
/// 3. Fine: over the central second (or the whole input), the search zooms
///    around the coarse peak: ±2 coarse bins at a step of half a fine bin,
///    then repeatedly ±1 step at a tenth of the step. Goertzel evaluates the
///    DTFT at any real frequency, so the result is not tied to bin centres.
///
/// For a pure tone of at least 0.1 s this lands well within ±1 Hz (the unit
/// tests see errors below 0.05 Hz). Cost is about 15 million multiply-adds
/// for a second of audio, whatever its length, because only the central
/// second is used for the fine search.
///
/// Returns 0 when there is nothing to measure: fewer than 16 samples, a zero
/// sample rate, or digital silence.
pub fn dominant_frequency(mono: &[f32], sample_rate: u32) -> f64 {
    const MIN_SAMPLES: usize = 16;
    if mono.len() < MIN_SAMPLES || sample_rate == 0 {
        return 0.0;
    }
    let rate = f64::from(sample_rate);

    let mean = mono.iter().map(|&s| f64::from(s)).sum::<f64>() / mono.len() as f64;
    let centred: Vec<f64> = mono.iter().map(|&s| f64::from(s) - mean).collect();

    let coarse = hann(central(&centred, (sample_rate as usize / 20).max(MIN_SAMPLES)));
    let coarse_bin = rate / coarse.len() as f64;
    let nyquist = rate / 2.0;
    let mut best = (0.0, 0.0);
    let mut freq = coarse_bin;
    while freq < nyquist {
        let power = goertzel_power(&coarse, freq, rate);
        if power > best.1 {
            best = (freq, power);
        }
        freq += coarse_bin / 2.0;
    }
    if best.1 <= 0.0 {
        return 0.0;
    }

    let fine = hann(central(&centred, sample_rate as usize));
    let fine_bin = rate / fine.len() as f64;
    let mut centre = best.0;
    let mut half_range = 2.0 * coarse_bin;
    let mut step = fine_bin / 2.0;
    // Four zoom rounds take the step from half a bin to 1/2000 of a bin.
    for _ in 0..4 {
        centre = loudest_in(&fine, rate, centre, half_range, step, nyquist);
        half_range = step;
        step /= 10.0;
    }
    centre
}

/// Returns the frequency with the most power among `centre ± half_range` at
/// `step` spacing, clamped to (0, nyquist).
fn loudest_in(signal: &[f64], rate: f64, centre: f64, half_range: f64, step: f64, nyquist: f64) -> f64 {
    let steps = (half_range / step).ceil() as i64;
    let mut best = (centre, f64::MIN);
    for k in -steps..=steps {
        let freq = centre + k as f64 * step;
        if freq <= 0.0 || freq >= nyquist {
            continue;
        }
        let power = goertzel_power(signal, freq, rate);
        if power > best.1 {
            best = (freq, power);
        }
    }
    best.0
}

/// Returns the central `len` samples of `signal` (all of it if shorter).
fn central(signal: &[f64], len: usize) -> &[f64] {
    if signal.len() <= len {
        return signal;
    }
    let start = (signal.len() - len) / 2;
    &signal[start..start + len]
}

/// Applies a Hann window, returning a new buffer.
fn hann(signal: &[f64]) -> Vec<f64> {
    let n = signal.len();
    if n < 2 {
        return signal.to_vec();
    }
    let denom = (n - 1) as f64;
    signal.iter().enumerate().map(|(i, &s)| s * (0.5 - 0.5 * (2.0 * PI * i as f64 / denom).cos())).collect()
}

/// Returns |X(f)|², the squared DTFT magnitude of `signal` at `freq`.
fn goertzel_power(signal: &[f64], freq: f64, rate: f64) -> f64 {
    let coeff = 2.0 * (2.0 * PI * freq / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in signal {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, secs: f64) -> Vec<f32> {
        let n = (secs * f64::from(SAMPLE_RATE)) as usize;
        (0..n).map(|i| (0.5 * (2.0 * PI * hz * i as f64 / f64::from(SAMPLE_RATE)).sin()) as f32).collect()
    }

    #[test]
    fn dominant_frequency_finds_440_hz() {
        let hz = dominant_frequency(&sine(440.0, 1.0), SAMPLE_RATE);
        assert!((hz - 440.0).abs() < 0.05, "{hz}");
    }

    #[test]
    fn dominant_frequency_finds_1000_hz() {
        let hz = dominant_frequency(&sine(1000.0, 1.0), SAMPLE_RATE);
        assert!((hz - 1000.0).abs() < 0.05, "{hz}");
    }

    #[test]
    fn dominant_frequency_finds_off_bin_tone_in_short_input() {
        let hz = dominant_frequency(&sine(123.4, 0.1), SAMPLE_RATE);
        assert!((hz - 123.4).abs() < 1.0, "{hz}");
    }

    #[test]
    fn dominant_frequency_prefers_the_louder_of_two_tones() {
        let loud = sine(660.0, 1.0);
        let quiet = sine(1500.0, 1.0);
        let mix: Vec<f32> = loud.iter().zip(&quiet).map(|(a, b)| a + 0.3 * b).collect();
        let hz = dominant_frequency(&mix, SAMPLE_RATE);
        assert!((hz - 660.0).abs() < 0.5, "{hz}");
    }

    #[test]
    fn dominant_frequency_ignores_dc_offset() {
        let shifted: Vec<f32> = sine(440.0, 0.5).iter().map(|s| s + 0.4).collect();
        let hz = dominant_frequency(&shifted, SAMPLE_RATE);
        assert!((hz - 440.0).abs() < 0.5, "{hz}");
    }

    #[test]
    fn dominant_frequency_of_silence_or_nothing_is_zero() {
        assert_eq!(dominant_frequency(&[], SAMPLE_RATE), 0.0);
        assert_eq!(dominant_frequency(&[0.0; 4800], SAMPLE_RATE), 0.0);
        assert_eq!(dominant_frequency(&sine(440.0, 0.1), 0), 0.0);
    }

    #[test]
    fn tone_wav_has_a_canonical_header_and_the_tone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.wav");
        write_tone_wav(&path, 440.0, 0.5).unwrap();
        let bytes = std::fs::read(&path).unwrap();

        let frames = 24_000usize;
        assert_eq!(bytes.len(), 44 + frames * 4);
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(&bytes[8..16], b"WAVEfmt ");
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        assert_eq!(u32_at(4) as usize, bytes.len() - 8);
        assert_eq!(u16_at(20), 1, "pcm");
        assert_eq!(u16_at(22), 2, "channels");
        assert_eq!(u32_at(24), 48_000);
        assert_eq!(u32_at(28), 192_000, "byte rate");
        assert_eq!(u16_at(32), 4, "block align");
        assert_eq!(u16_at(34), 16, "bits");
        assert_eq!(&bytes[36..40], b"data");
        assert_eq!(u32_at(40) as usize, frames * 4);

        let stereo: Vec<f32> =
            bytes[44..].chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
        assert_eq!(&stereo[0..2], &[0.0, 0.0]);
        let mono = stereo_to_mono(&stereo);
        assert!((rms(&mono) - 0.5 / 2f64.sqrt()).abs() < 0.01);
        let hz = dominant_frequency(&mono, SAMPLE_RATE);
        assert!((hz - 440.0).abs() < 0.05, "{hz}");
    }

    /// The samples of a 16-bit stereo WAV from this module, mixed to mono.
    fn wav_mono(bytes: &[u8]) -> Vec<f32> {
        let stereo: Vec<f32> =
            bytes[44..].chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
        stereo_to_mono(&stereo)
    }

    #[test]
    fn steps_wav_plays_each_tone_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.wav");
        write_steps_wav(&path, &[(440.0, 0.3), (880.0, 0.3), (660.0, 0.3)]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 44 + 43_200 * 4);
        assert_eq!(u32::from_le_bytes(bytes[40..44].try_into().unwrap()), 43_200 * 4);
        assert_eq!(bytes, tone_steps_wav(&[(440.0, 0.3), (880.0, 0.3), (660.0, 0.3)]).unwrap());

        let mono = wav_mono(&bytes);
        assert!((rms(&mono) - 0.5 / 2f64.sqrt()).abs() < 0.01, "same amplitude as write_tone_wav");
        let timeline = frequency_timeline(&mono, SAMPLE_RATE, Duration::from_millis(100));
        let expected = [440.0, 440.0, 440.0, 880.0, 880.0, 880.0, 660.0, 660.0, 660.0];
        assert_eq!(timeline.len(), expected.len());
        for (index, (heard, want)) in timeline.iter().zip(expected).enumerate() {
            let heard = heard.unwrap_or_else(|| panic!("chunk {index} silent"));
            assert!((heard - want).abs() < 1.0, "chunk {index}: {heard} Hz, not {want}");
        }
    }

    #[test]
    fn steps_wav_keeps_the_phase_across_boundaries() {
        // 437 Hz for 0.2 s ends 0.4 of the way through a cycle: restarting
        // the next tone at phase 0 would jump by about a quarter of full scale.
        let mono = wav_mono(&tone_steps_wav(&[(437.0, 0.2), (1000.0, 0.2), (437.0, 0.2)]).unwrap());
        let largest_step = mono.windows(2).map(|pair| (pair[1] - pair[0]).abs()).fold(0.0, f32::max);
        // A sine's steepest slope, plus rounding to 16 bits.
        let bound = TONE_AMPLITUDE * 2.0 * PI * 1000.0 / f64::from(SAMPLE_RATE) + 2.0 / 32768.0;
        assert!(f64::from(largest_step) <= bound, "a click: step {largest_step} > {bound}");
    }

    #[test]
    fn tone_steps_wav_rejects_nonsense() {
        assert!(tone_steps_wav(&[]).is_err());
        assert!(tone_steps_wav(&[(440.0, 1.0), (0.0, 1.0)]).is_err());
        assert!(tone_steps_wav(&[(440.0, 1.0), (440.0, f64::INFINITY)]).is_err());
        assert!(tone_steps_wav(&[(440.0, 1.0e5), (440.0, 1.0e5)]).is_err(), "over 4 GiB in all");
        let dir = tempfile::tempdir().unwrap();
        assert!(write_steps_wav(dir.path().join("bad.wav"), &[(-1.0, 1.0)]).is_err());
    }

    #[test]
    fn frequency_timeline_marks_silent_chunks_and_drops_a_partial_one() {
        let mut samples = sine(440.0, 0.2);
        samples.extend(vec![0.0; 9_600]);
        samples.extend(sine(1000.0, 0.25));
        let timeline = frequency_timeline(&samples, SAMPLE_RATE, Duration::from_millis(100));
        assert_eq!(timeline.len(), 6, "0.65 s in 0.1 s chunks: the last 0.05 s is left out");
        assert!(timeline[..2].iter().all(|hz| (hz.unwrap() - 440.0).abs() < 1.0), "{timeline:?}");
        assert_eq!(&timeline[2..4], &[None, None]);
        assert!(timeline[4..].iter().all(|hz| (hz.unwrap() - 1000.0).abs() < 1.0), "{timeline:?}");
        // Quieter than the silence threshold is silence too.
        let whisper: Vec<f32> = sine(440.0, 0.1).iter().map(|s| s * 1e-3).collect();
        assert_eq!(frequency_timeline(&whisper, SAMPLE_RATE, Duration::from_millis(100)), [None]);
        assert!(frequency_timeline(&samples, SAMPLE_RATE, Duration::ZERO).is_empty());
    }

    #[test]
    fn dbfs_reads_the_rms_level_against_full_scale() {
        let quiet: Vec<f32> = sine(440.0, 1.0).iter().map(|s| s * 0.6).collect(); // amplitude 0.3
        let level = dbfs(&quiet);
        assert!((level - (-13.47)).abs() < 0.2, "{level}");
        let louder: Vec<f32> = quiet.iter().map(|s| s * 2.0).collect();
        assert!((dbfs(&louder) - level - 6.02).abs() < 0.01, "{}", dbfs(&louder) - level);
        assert_eq!(dbfs(&[1.0; 480]), 0.0);
        assert_eq!(dbfs(&[0.0; 480]), DBFS_FLOOR);
        assert_eq!(dbfs(&[]), DBFS_FLOOR);
        assert_eq!(dbfs(&[1e-9; 480]), DBFS_FLOOR, "the floor holds for the very quiet");
    }

    #[test]
    fn write_tone_wav_rejects_nonsense() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.wav");
        assert!(write_tone_wav(&path, 0.0, 1.0).is_err());
        assert!(write_tone_wav(&path, 440.0, f64::NAN).is_err());
        assert!(write_tone_wav(&path, 440.0, 1.0e6).is_err());
    }
}
