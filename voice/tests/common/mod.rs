//! What the playlist and HLS tests share: a resolver allowed to reach the
//! loopback fakes, and decoding what it opened.
// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use songbird::input::{Input, LiveInput};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::errors::Error as DecodeError;
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_test_support::audio::{SAMPLE_RATE, dominant_frequency, frequency_timeline, stereo_to_mono};
use timmybot_voice::SourceResolver;

/// The policy of the tests: 127.0.0.1 allowed, everything else internal
/// refused as in production.
pub fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() }
}

/// The real resolver on `policy`, without media folder or other sources.
pub fn resolver_with(policy: OutboundPolicy) -> SourceResolver {
    SourceResolver::new(SafeHttpClient::new(policy), None)
}

/// [`resolver_with`] the [`loopback_policy`].
pub fn resolver() -> SourceResolver {
    resolver_with(loopback_policy())
}

/// What decoding an input gave.
pub struct Decoded {
    /// The mono samples, 48 kHz.
    pub mono: Vec<f32>,
    /// Whether the stream ended cleanly (rather than failing or being cut
    /// at `max`).
    pub ended: bool,
}

impl Decoded {
    /// How long the decoded audio lasts.
    pub fn length(&self) -> Duration {
        Duration::from_secs_f64(self.mono.len() as f64 / f64::from(SAMPLE_RATE))
    }

    /// The dominant frequency of each quarter second.
    pub fn timeline(&self) -> Vec<Option<f64>> {
        frequency_timeline(&self.mono, SAMPLE_RATE, Duration::from_millis(250))
    }

    /// The dominant frequency of everything decoded.
    pub fn dominant(&self) -> f64 {
        dominant_frequency(&self.mono, SAMPLE_RATE)
    }
}

/// Decodes `input` (as the resolver returned it) until it ends, fails, or
/// `max` of audio was decoded. Blocking: songbird's adapter feeds the
/// reader from the async runtime, so call it with `spawn_blocking`.
pub fn decode(input: Input, max: Duration) -> Decoded {
    let Input::Live(LiveInput::Parsed(mut parsed), _) = input else { panic!("resolve returns a parsed input") };
    let max_samples = (max.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
    let mut mono = Vec::new();
    let mut buffer: Option<SampleBuffer<f32>> = None;
    while mono.len() < max_samples {
        let packet = match parsed.format.next_packet() {
            Ok(packet) => packet,
            Err(DecodeError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Decoded { mono, ended: true };
            }
            Err(_) => return Decoded { mono, ended: false },
        };
        if packet.track_id() != parsed.track_id {
            continue;
        }
        let Ok(decoded) = parsed.decoder.decode(&packet) else { return Decoded { mono, ended: false } };
        let buffer = buffer.get_or_insert_with(|| SampleBuffer::new(decoded.capacity() as u64, *decoded.spec()));
        if buffer.capacity() < decoded.capacity() {
            *buffer = SampleBuffer::new(decoded.capacity() as u64, *decoded.spec());
        }
        buffer.copy_interleaved_ref(decoded);
        mono.extend(stereo_to_mono(buffer.samples()));
    }
    Decoded { mono, ended: false }
}

/// Whether `hz` is within 2% of `expected`.
pub fn near(hz: Option<f64>, expected: f64) -> bool {
    hz.is_some_and(|hz| (hz - expected).abs() < expected * 0.02)
}
