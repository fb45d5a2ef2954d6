//! A minimal Ogg Opus writer (RFC 3533 pages, RFC 7845 headers), so the
//! benchmark's passthrough input is made at run time from a tone, with the
//! same libopus the sink and songbird use, and no ffmpeg.

use std::path::Path;

use anyhow::Context as _;
use opus2::{Application, Bitrate, Channels, Encoder};

/// Samples per channel in one 20 ms frame at 48 kHz: the frame size
/// songbird can pass through without re-encoding.
pub const FRAME_SAMPLES: usize = 960;

/// Opus packets per Ogg page (one second): few pages, small pages.
const PACKETS_PER_PAGE: usize = 50;

/// The Ogg CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0, no
/// final xor, computed over the page with its CRC field zeroed.
pub fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in data {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

/// Builds one Ogg page holding whole `packets`.
///
/// # Panics
///
/// If the packets need more than 255 lacing values (the caller keeps pages small).
pub fn page(header_type: u8, granule: u64, serial: u32, sequence: u32, packets: &[&[u8]]) -> Vec<u8> {
    let mut lacing = Vec::new();
    for packet in packets {
        lacing.extend(std::iter::repeat_n(255u8, packet.len() / 255));
        lacing.push((packet.len() % 255) as u8);
    }
    assert!(lacing.len() <= 255, "too many segments for one page");
    let mut out = Vec::with_capacity(27 + lacing.len() + packets.iter().map(|p| p.len()).sum::<usize>());
    out.extend_from_slice(b"OggS");
    out.push(0); // stream structure version
    out.push(header_type);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&serial.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // CRC, filled in below
    out.push(lacing.len() as u8);
    out.extend_from_slice(&lacing);
    for packet in packets {
        out.extend_from_slice(packet);
    }
    let crc = ogg_crc(&out);
    out[22..26].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Encodes a stereo sine tone of `hz` lasting `secs` (half of full scale)
/// as 20 ms Opus frames at `bitrate` bits/s, and returns the Ogg Opus file.
///
/// # Errors
///
/// `secs` is not positive, or libopus refuses the settings.
pub fn tone_ogg_opus(hz: f64, secs: f64, bitrate: i32) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(secs.is_finite() && secs > 0.0, "tone length must be positive, not {secs}");
    let mut encoder = Encoder::new(48_000, Channels::Stereo, Application::Audio).context("opus encoder")?;
    encoder.set_bitrate(Bitrate::Bits(bitrate)).context("opus bitrate")?;
    let pre_skip = u16::try_from(encoder.get_lookahead().context("opus lookahead")?).unwrap_or(312);
    let serial = 0x7469_6d6d; // "timm"

    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(2); // channels
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // mapping family 0: mono or stereo
    let vendor = b"timmybot-bench";
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes()); // no comments

    let mut file = page(0x02, 0, serial, 0, &[&head]);
    file.extend(page(0, 0, serial, 1, &[&tags]));

    let frames = ((secs * 48_000.0) / FRAME_SAMPLES as f64).ceil() as usize;
    let mut pcm = vec![0f32; 2 * FRAME_SAMPLES];
    let mut packet = vec![0u8; 4000];
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut sequence = 2;
    for frame in 0..frames {
        for i in 0..FRAME_SAMPLES {
            let t = (frame * FRAME_SAMPLES + i) as f64 / 48_000.0;
            let sample = (0.5 * (std::f64::consts::TAU * hz * t).sin()) as f32;
            pcm[2 * i] = sample;
            pcm[2 * i + 1] = sample;
        }
        let len = encoder.encode_float(&pcm, &mut packet).context("opus encode")?;
        pending.push(packet[..len].to_vec());
        let last = frame + 1 == frames;
        if pending.len() == PACKETS_PER_PAGE || last {
            let granule = ((frame + 1) * FRAME_SAMPLES) as u64;
            let refs: Vec<&[u8]> = pending.iter().map(Vec::as_slice).collect();
            file.extend(page(if last { 0x04 } else { 0 }, granule, serial, sequence, &refs));
            sequence += 1;
            pending.clear();
        }
    }
    Ok(file)
}

/// Writes [`tone_ogg_opus`] to `path`.
///
/// # Errors
///
/// As [`tone_ogg_opus`], or the file cannot be written.
pub fn write_tone_ogg_opus(path: impl AsRef<Path>, hz: f64, secs: f64, bitrate: i32) -> anyhow::Result<()> {
    let path = path.as_ref();
    std::fs::write(path, tone_ogg_opus(hz, secs, bitrate)?).with_context(|| format!("write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::{
        codecs::CODEC_TYPE_OPUS, formats::FormatOptions, io::MediaSourceStream, meta::MetadataOptions, probe::Hint,
    };

    #[test]
    fn crc_matches_the_ogg_reference_value() {
        // CRC-32/MPEG-2 without its init and final xor (Ogg's variant) of "123456789".
        assert_eq!(ogg_crc(b"123456789"), 0x89A1_897F);
        assert_eq!(ogg_crc(b""), 0);
    }

    #[test]
    fn lacing_splits_long_packets_and_marks_exact_multiples() {
        let long = vec![7u8; 600];
        let exact = vec![9u8; 255];
        let page = page(0, 5, 1, 3, &[&long, &exact]);
        assert_eq!(&page[..4], b"OggS");
        assert_eq!(page[26], 5, "600 = 255+255+90, 255 = 255+0");
        assert_eq!(&page[27..32], &[255, 255, 90, 255, 0]);
        assert_eq!(page.len(), 27 + 5 + 855);
    }

    /// symphonia's Ogg reader checks every page's CRC and reassembles the
    /// packets: it must find one Opus track of 20 ms packets that libopus
    /// decodes back to the tone.
    #[test]
    fn symphonia_reads_the_file_back_as_a_stereo_opus_track() {
        let bytes = tone_ogg_opus(1000.0, 2.5, 96_000).unwrap();
        let source = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
        let mut hint = Hint::new();
        hint.with_extension("ogg");
        let probed = symphonia::default::get_probe()
            .format(&hint, source, &FormatOptions::default(), &MetadataOptions::default())
            .expect("an ogg stream");
        let mut format = probed.format;
        let track = format.default_track().expect("a track").clone();
        assert_eq!(track.codec_params.codec, CODEC_TYPE_OPUS);
        assert_eq!(track.codec_params.channels.map(|c| c.count()), Some(2));

        let mut decoder = opus2::Decoder::new(48_000, Channels::Stereo).unwrap();
        let mut pcm = vec![0f32; 2 * 5760];
        let (mut packets, mut mono) = (0, Vec::new());
        while let Ok(packet) = format.next_packet() {
            let samples = decoder.decode_float(&packet.data, &mut pcm, false).unwrap();
            assert_eq!(samples, FRAME_SAMPLES);
            mono.extend(pcm[..2 * samples].chunks(2).map(|lr| lr[0]));
            packets += 1;
        }
        assert_eq!(packets, 125, "2.5 s of 20 ms frames");
        let tail = &mono[mono.len() - 48_000..];
        let hz = timmybot_test_support::audio::dominant_frequency(tail, 48_000);
        assert!((hz - 1000.0).abs() < 5.0, "{hz}");
    }
}
