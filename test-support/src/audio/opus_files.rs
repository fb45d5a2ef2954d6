//! Opus tones in the containers a bot plays Opus from: Ogg (RFC 7845) and
//! WebM (Matroska's `A_OPUS`), with the packets kept, so a test can compare
//! what the voice server received against what the file holds.
//!
//! Both containers are written by hand (a page or an element is a few
//! lines), so the tests need no muxer library; the packets come from
//! libopus through `opus2`.

use std::path::Path;

use anyhow::Context as _;
use opus2::{Application, Bitrate, Channels, Encoder};

use super::{SAMPLE_RATE, TONE_AMPLITUDE};

/// Samples per channel in one packet: 20 ms at 48 kHz, the only frame size
/// songbird forwards without decoding.
pub const OPUS_FRAME_SAMPLES: usize = 960;

/// Bitrate of the packets [`opus_tone`] encodes: constant, and half of the
/// 128 kb/s songbird encodes at, so a packet songbird re-encoded differs
/// from the file's in its length as well as its bytes.
pub const OPUS_TONE_BITRATE: i32 = 64_000;

/// Largest Opus packet (RFC 6716: 1275 bytes a frame, code 3 packets a few
/// more); the encoder's output buffer.
const MAX_PACKET: usize = 1500;

/// An encoded stereo tone: the packets a container holds, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpusTone {
    /// One packet per 20 ms, the last one full (the tone is padded with
    /// silence to a whole frame).
    pub packets: Vec<Vec<u8>>,
    /// Samples at 48 kHz a decoder drops at the start: the encoder's
    /// lookahead (OpusHead's pre-skip, Matroska's CodecDelay).
    pub pre_skip: u16,
}

/// Encodes a `hz` sine lasting `secs` (rounded up to whole 20 ms frames),
/// both channels at the amplitude of the WAV tones, at
/// [`OPUS_TONE_BITRATE`] constant bitrate.
///
/// # Errors
///
/// Fails if `hz` or `secs` is not finite and positive, the tone is longer
/// than an hour, or libopus refuses.
pub fn opus_tone(hz: f64, secs: f64) -> anyhow::Result<OpusTone> {
    anyhow::ensure!(hz.is_finite() && hz > 0.0, "tone frequency must be positive");
    anyhow::ensure!(secs.is_finite() && secs > 0.0 && secs <= 3600.0, "tone length must be within an hour");
    let mut encoder = Encoder::new(SAMPLE_RATE, Channels::Stereo, Application::Audio).context("opus encoder")?;
    encoder.set_bitrate(Bitrate::Bits(OPUS_TONE_BITRATE)).context("opus bitrate")?;
    encoder.set_vbr(false).context("opus cbr")?;
    let pre_skip = u16::try_from(encoder.get_lookahead().context("opus lookahead")?).context("opus lookahead")?;

    let rate = f64::from(SAMPLE_RATE);
    let samples = (secs * rate).round() as usize;
    let frames = samples.div_ceil(OPUS_FRAME_SAMPLES);
    let step = std::f64::consts::TAU * hz / rate;
    let mut packets = Vec::with_capacity(frames);
    let mut pcm = vec![0f32; 2 * OPUS_FRAME_SAMPLES];
    for frame in 0..frames {
        for (i, pair) in pcm.chunks_exact_mut(2).enumerate() {
            let n = frame * OPUS_FRAME_SAMPLES + i;
            let value = if n < samples { (TONE_AMPLITUDE * (step * n as f64).sin()) as f32 } else { 0.0 };
            pair.fill(value);
        }
        packets.push(encoder.encode_vec_float(&pcm, MAX_PACKET).context("opus encode")?);
    }
    Ok(OpusTone { packets, pre_skip })
}

/// Writes [`opus_tone`] as an Ogg Opus file (`.opus`, `.ogg`) and returns
/// the tone.
///
/// # Errors
///
/// Like [`opus_tone`], or if writing fails.
pub fn write_tone_ogg_opus(path: impl AsRef<Path>, hz: f64, secs: f64) -> anyhow::Result<OpusTone> {
    let path = path.as_ref();
    let tone = opus_tone(hz, secs)?;
    std::fs::write(path, tone.ogg()).with_context(|| format!("write ogg {}", path.display()))?;
    Ok(tone)
}

/// Writes [`opus_tone`] as a WebM file (`.webm`) and returns the tone.
///
/// # Errors
///
/// Like [`opus_tone`], or if writing fails.
pub fn write_tone_webm_opus(path: impl AsRef<Path>, hz: f64, secs: f64) -> anyhow::Result<OpusTone> {
    let path = path.as_ref();
    let tone = opus_tone(hz, secs)?;
    std::fs::write(path, tone.webm()).with_context(|| format!("write webm {}", path.display()))?;
    Ok(tone)
}

impl OpusTone {
    /// The RFC 7845 identification header: stereo, 48 kHz, no gain,
    /// channel mapping 0 (also Matroska's CodecPrivate).
    pub fn opus_head(&self) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.push(1); // version
        head.push(2); // channels
        head.extend_from_slice(&self.pre_skip.to_le_bytes());
        head.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // mapping family: mono or stereo, no table
        head
    }

    /// The tone as an Ogg Opus stream: the OpusHead page, the OpusTags page,
    /// then pages of up to 50 packets (one second), each packet whole on
    /// one page, the last page marked end of stream.
    pub fn ogg(&self) -> Vec<u8> {
        const PACKETS_PER_PAGE: usize = 50;
        let mut tags = b"OpusTags".to_vec();
        let vendor = b"timmybot-test-support";
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes()); // no comments

        let mut ogg = OggWriter { serial: 0x7133_0001, sequence: 0, out: Vec::new() };
        ogg.page(OggWriter::BEGINNING, 0, &[&self.opus_head()]);
        ogg.page(0, 0, &[&tags]);
        let pages: Vec<&[Vec<u8>]> = self.packets.chunks(PACKETS_PER_PAGE).collect();
        let mut done = 0u64;
        for (index, page) in pages.iter().enumerate() {
            done += page.len() as u64;
            // The granule position counts samples through the last packet
            // that ends on the page, pre-skip included.
            let granule = u64::from(self.pre_skip) + done * OPUS_FRAME_SAMPLES as u64;
            let flags = if index + 1 == pages.len() { OggWriter::END } else { 0 };
            let packets: Vec<&[u8]> = page.iter().map(Vec::as_slice).collect();
            ogg.page(flags, granule, &packets);
        }
        ogg.out
    }

    /// The tone as a WebM file: EBML header, then one Segment with Info,
    /// one Opus track (CodecPrivate: [`opus_head`](Self::opus_head)) and
    /// one Cluster a second of SimpleBlocks, one packet each.
    pub fn webm(&self) -> Vec<u8> {
        // Matroska element ids (RFC 9559), their length marker included.
        const EBML: u32 = 0x1A45_DFA3;
        const SEGMENT: u32 = 0x1853_8067;
        const INFO: u32 = 0x1549_A966;
        const TRACKS: u32 = 0x1654_AE6B;
        const TRACK_ENTRY: u32 = 0xAE;
        const AUDIO: u32 = 0xE1;
        const CLUSTER: u32 = 0x1F43_B675;
        const TIMESTAMP: u32 = 0xE7;
        const SIMPLE_BLOCK: u32 = 0xA3;
        const BLOCKS_PER_CLUSTER: usize = 50;
        let frame_ms = (OPUS_FRAME_SAMPLES as u64 * 1000) / u64::from(SAMPLE_RATE);

        let header = [
            ebml_uint(0x4286, 1),  // EBMLVersion
            ebml_uint(0x42F7, 1),  // EBMLReadVersion
            ebml_uint(0x42F2, 4),  // EBMLMaxIDLength
            ebml_uint(0x42F3, 8),  // EBMLMaxSizeLength
            ebml(0x4282, b"webm"), // DocType
            ebml_uint(0x4287, 4),  // DocTypeVersion
            ebml_uint(0x4285, 2),  // DocTypeReadVersion
        ]
        .concat();
        let duration_ms = (self.packets.len() as u64 * frame_ms) as f64;
        let info = [
            ebml_uint(0x2A_D7B1, 1_000_000),          // TimestampScale: 1 ms
            ebml(0x4489, &duration_ms.to_be_bytes()), // Duration, in TimestampScale units
            ebml(0x4D80, b"timmybot-test-support"),   // MuxingApp
            ebml(0x5741, b"timmybot-test-support"),   // WritingApp
        ]
        .concat();
        let codec_delay_ns = u64::from(self.pre_skip) * 1_000_000_000 / u64::from(SAMPLE_RATE);
        let audio = [
            ebml(0xB5, &f64::from(SAMPLE_RATE).to_be_bytes()), // SamplingFrequency
            ebml_uint(0x9F, 2),                                // Channels
        ]
        .concat();
        let track = [
            ebml_uint(0xD7, 1),                // TrackNumber
            ebml_uint(0x73C5, 1),              // TrackUID
            ebml_uint(0x83, 2),                // TrackType: audio
            ebml(0x86, b"A_OPUS"),             // CodecID
            ebml(0x63A2, &self.opus_head()),   // CodecPrivate
            ebml_uint(0x56AA, codec_delay_ns), // CodecDelay
            ebml_uint(0x56BB, 80_000_000),     // SeekPreRoll: 80 ms, as RFC 7845 advises
            ebml(AUDIO, &audio),
        ]
        .concat();
        let mut segment = [ebml(INFO, &info), ebml(TRACKS, &ebml(TRACK_ENTRY, &track))].concat();
        for (index, cluster) in self.packets.chunks(BLOCKS_PER_CLUSTER).enumerate() {
            let start_ms = (index * BLOCKS_PER_CLUSTER) as u64 * frame_ms;
            let mut body = ebml_uint(TIMESTAMP, start_ms);
            for (i, packet) in cluster.iter().enumerate() {
                // Track 1 (as a 1-byte vint), the time relative to the
                // cluster, flags: keyframe, no lacing.
                let relative = i16::try_from(i as u64 * frame_ms).expect("a cluster spans one second");
                let mut block = vec![0x81];
                block.extend_from_slice(&relative.to_be_bytes());
                block.push(0x80);
                block.extend_from_slice(packet);
                body.extend(ebml(SIMPLE_BLOCK, &block));
            }
            segment.extend(ebml(CLUSTER, &body));
        }
        [ebml(EBML, &header), ebml(SEGMENT, &segment)].concat()
    }
}

/// Writes Ogg pages (RFC 3533) of one logical stream.
struct OggWriter {
    serial: u32,
    sequence: u32,
    out: Vec<u8>,
}

impl OggWriter {
    /// Header type flag of the first page of a stream.
    const BEGINNING: u8 = 0x02;
    /// Header type flag of its last page.
    const END: u8 = 0x04;

    /// Appends one page holding `packets`, each ending on this page.
    fn page(&mut self, flags: u8, granule: u64, packets: &[&[u8]]) {
        // A packet is laced as 255-byte segments and one shorter (maybe
        // empty) segment that ends it.
        let mut lacing = Vec::new();
        for packet in packets {
            lacing.extend(std::iter::repeat_n(255u8, packet.len() / 255));
            lacing.push((packet.len() % 255) as u8);
        }
        assert!(lacing.len() <= 255, "an Ogg page holds at most 255 segments");
        let start = self.out.len();
        self.out.extend_from_slice(b"OggS");
        self.out.push(0); // version
        self.out.push(flags);
        self.out.extend_from_slice(&granule.to_le_bytes());
        self.out.extend_from_slice(&self.serial.to_le_bytes());
        self.out.extend_from_slice(&self.sequence.to_le_bytes());
        let crc_at = self.out.len();
        self.out.extend_from_slice(&[0; 4]); // the CRC is computed with these zero
        self.out.push(lacing.len() as u8);
        self.out.extend_from_slice(&lacing);
        for packet in packets {
            self.out.extend_from_slice(packet);
        }
        let crc = ogg_crc(&self.out[start..]);
        self.out[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
        self.sequence += 1;
    }
}

/// Ogg's page checksum: CRC-32 with polynomial 0x04C11DB7, most significant
/// bit first, initial value 0 and no final xor (unlike zlib's CRC-32).
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in bytes {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

/// One EBML element: its id, its size as an 8-byte vint, its body.
fn ebml(id: u32, body: &[u8]) -> Vec<u8> {
    let id_bytes = id.to_be_bytes();
    let skip = id_bytes.iter().take_while(|b| **b == 0).count();
    let mut out = id_bytes[skip..].to_vec();
    let size = body.len() as u64;
    assert!(size < (1 << 56) - 1, "an EBML size fits 7 bytes");
    // 0x01 marks an 8-byte vint; the other 7 bytes are the size.
    out.extend_from_slice(&(size | (1 << 56)).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// An unsigned-integer EBML element, in as few bytes as hold `value`.
fn ebml_uint(id: u32, value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    ebml(id, &bytes[skip..])
}

#[cfg(test)]
mod tests {
    use symphonia::core::{
        codecs::CODEC_TYPE_OPUS,
        formats::FormatOptions,
        io::{MediaSourceStream, MediaSourceStreamOptions},
        meta::MetadataOptions,
        probe::Hint,
    };

    use super::*;

    /// Demuxes `bytes` with symphonia (what songbird reads files with) and
    /// returns the Opus track's packets.
    fn demux(bytes: Vec<u8>, extension: &str) -> Vec<Vec<u8>> {
        let source = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        hint.with_extension(extension);
        let probed = symphonia::default::get_probe()
            .format(&hint, source, &FormatOptions::default(), &MetadataOptions::default())
            .expect("symphonia reads the file");
        let mut format = probed.format;
        let track = format.default_track().expect("a track");
        assert_eq!(track.codec_params.codec, CODEC_TYPE_OPUS);
        assert_eq!(track.codec_params.sample_rate, Some(SAMPLE_RATE));
        let id = track.id;
        let mut packets = Vec::new();
        while let Ok(packet) = format.next_packet() {
            if packet.track_id() == id {
                packets.push(packet.data.to_vec());
            }
        }
        packets
    }

    #[test]
    fn the_tone_is_whole_twenty_millisecond_packets_at_constant_bitrate() {
        let tone = opus_tone(440.0, 1.01).unwrap();
        assert_eq!(tone.packets.len(), 51, "1.01 s rounds up to 51 frames");
        for packet in &tone.packets {
            assert_eq!(opus2::packet::get_nb_samples(packet, SAMPLE_RATE).unwrap(), OPUS_FRAME_SAMPLES);
            // 64 kb/s for 20 ms is 160 bytes.
            assert_eq!(packet.len(), 160);
        }
        assert!(tone.pre_skip > 0, "libopus has a lookahead");
        assert!(opus_tone(0.0, 1.0).is_err());
        assert!(opus_tone(440.0, f64::NAN).is_err());
    }

    #[test]
    fn the_tone_decodes_to_the_sine() {
        let tone = opus_tone(700.0, 0.5).unwrap();
        let mut decoder = opus2::Decoder::new(SAMPLE_RATE, Channels::Stereo).unwrap();
        let mut mono = Vec::new();
        for packet in &tone.packets {
            let mut stereo = vec![0f32; 2 * OPUS_FRAME_SAMPLES];
            let n = decoder.decode_float(packet, &mut stereo, false).unwrap();
            mono.extend(crate::audio::stereo_to_mono(&stereo[..2 * n]));
        }
        let hz = crate::audio::dominant_frequency(&mono[4800..], SAMPLE_RATE);
        assert!((hz - 700.0).abs() < 5.0, "{hz}");
    }

    #[test]
    fn symphonia_reads_the_ogg_file_back_packet_for_packet() {
        // 2.5 s: three audio pages, the last one shorter.
        let tone = opus_tone(440.0, 2.5).unwrap();
        assert_eq!(demux(tone.ogg(), "opus"), tone.packets);
    }

    #[test]
    fn a_page_with_a_wrong_checksum_is_skipped() {
        // The checksum is what symphonia checks: corrupt one byte of the
        // second audio page's payload (of three) and its 50 packets are gone.
        let tone = opus_tone(440.0, 2.5).unwrap();
        let mut ogg = tone.ogg();
        let page = ogg.windows(4).enumerate().filter(|(_, w)| *w == b"OggS").nth(3).unwrap().0;
        // 27 header bytes and 50 lacing values come first.
        ogg[page + 100] ^= 0xFF;
        let mut expected = tone.packets[..50].to_vec();
        expected.extend_from_slice(&tone.packets[100..]);
        assert_eq!(demux(ogg, "opus"), expected);
    }

    #[test]
    fn ogg_checksum_matches_the_known_value() {
        // CRC-32/OGG ("CRC-32/MPEG-2" without the initial ones): the check
        // value of "123456789" is 0x89A1897F.
        assert_eq!(ogg_crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn symphonia_reads_the_webm_file_back_packet_for_packet() {
        let tone = opus_tone(440.0, 2.5).unwrap();
        let webm = tone.webm();
        assert_eq!(&webm[..4], b"\x1A\x45\xDF\xA3");
        assert_eq!(demux(webm, "webm"), tone.packets);
    }

    #[test]
    fn ebml_ids_keep_their_length_marker_and_sizes_take_eight_bytes() {
        assert_eq!(ebml(0xA3, &[9]), [0xA3, 0x01, 0, 0, 0, 0, 0, 0, 1, 9]);
        assert_eq!(ebml_uint(0x4286, 0), [0x42, 0x86, 0x01, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(ebml_uint(0x2A_D7B1, 1_000_000)[..3], [0x2A, 0xD7, 0xB1]);
        assert_eq!(ebml_uint(0x2A_D7B1, 1_000_000)[11..], [0x0F, 0x42, 0x40]);
    }
}
