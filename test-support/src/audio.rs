//! Tone generation and frequency analysis for audio tests.
//!
//! A test writes a pure tone with [`write_tone_wav`], has the bot play it, and
//! checks what the fake voice server decoded with [`dominant_frequency`].

use std::{f64::consts::PI, path::Path};

use anyhow::Context as _;

/// Sample rate of the WAV files written here: Discord's (and Opus's) rate.
pub const SAMPLE_RATE: u32 = 48_000;

/// Peak amplitude of generated tones, as a fraction of full scale.
///
/// Half scale leaves headroom, so songbird's soft clipper and the Opus
/// encoder see an undistorted sine.
const TONE_AMPLITUDE: f64 = 0.5;

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
    anyhow::ensure!(hz.is_finite() && hz > 0.0, "tone frequency must be positive");
    anyhow::ensure!(secs.is_finite() && secs > 0.0, "tone length must be positive");

    const CHANNELS: u16 = 2;
    const BITS: u16 = 16;
    let block_align = CHANNELS * BITS / 8;
    let frames = (secs * f64::from(SAMPLE_RATE)).round() as u64;
    let data_len = frames * u64::from(block_align);
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

    let step = 2.0 * PI * hz / f64::from(SAMPLE_RATE);
    for n in 0..frames {
        let value = TONE_AMPLITUDE * (step * n as f64).sin();
        let sample = (value * f64::from(i16::MAX)).round() as i16;
        for _ in 0..CHANNELS {
            bytes.extend_from_slice(&sample.to_le_bytes());
        }
    }
    Ok(bytes)
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

    #[test]
    fn write_tone_wav_rejects_nonsense() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.wav");
        assert!(write_tone_wav(&path, 0.0, 1.0).is_err());
        assert!(write_tone_wav(&path, 440.0, f64::NAN).is_err());
        assert!(write_tone_wav(&path, 440.0, 1.0e6).is_err());
    }
}
