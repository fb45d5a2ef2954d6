//! HLS streams through the real resolver and outbound client, against the
//! fake stream host: segments fetched in order into one stream, on demand
//! and live, and what is refused.

mod common;

use std::time::Duration;

use common::{decode, loopback_policy, near, resolver, resolver_with};
use timmybot_outbound::OutboundPolicy;
use timmybot_test_support::audio::{tone_pcm, wav_hls_segments};
use timmybot_test_support::fake_apis::streams::FakeStreams;
use timmybot_voice::SourceError;

fn requests(streams: &FakeStreams, path: &str) -> usize {
    streams.seen().all().iter().filter(|s| s.path_and_query == path).count()
}

/// The quarter seconds whose tone is `hz`, in order, as a pattern of the
/// tones heard: `[440, 440, 880]` becomes "AAB" for `a = 440, b = 880`.
fn pattern(timeline: &[Option<f64>], a: f64, b: f64) -> String {
    timeline
        .iter()
        .map(|hz| {
            if near(*hz, a) {
                'A'
            } else if near(*hz, b) {
                'B'
            } else {
                '?'
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_demand_stream_plays_every_segment_in_order_and_reports_its_length() {
    let streams = FakeStreams::start().await.unwrap();
    streams.serve_wav_hls("/vod", &[(440.0, 1.0), (440.0, 1.0), (880.0, 1.0), (880.0, 1.0)]).unwrap();
    let resolved = resolver().resolve(&streams.url("/vod/master.m3u8")).await.unwrap();
    assert_eq!(resolved.duration, Some(Duration::from_secs(4)), "the sum of the segments");
    assert_eq!(resolved.source, streams.url("/vod/master.m3u8"));
    let decoded = tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(10))).await.unwrap();
    assert!(decoded.ended, "the stream ends after its last segment");
    assert!((decoded.length().as_secs_f64() - 4.0).abs() < 0.05, "decoded {:?}", decoded.length());
    let heard = pattern(&decoded.timeline(), 440.0, 880.0);
    assert_eq!(heard, "AAAAAAAABBBBBBBB", "the second tone after the first");
    assert_eq!(requests(&streams, "/vod/video.m3u8"), 0, "the audio-only variant is chosen");
    assert_eq!(requests(&streams, "/vod/media.m3u8"), 1);
    for n in 0..4 {
        assert_eq!(requests(&streams, &format!("/vod/seg{n}.wav")), 1, "segment {n} fetched once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_starts_near_its_edge_and_picks_up_new_segments_without_replaying() {
    let streams = FakeStreams::start().await.unwrap();
    let pieces = wav_hls_segments(&[(440.0, 1.0), (440.0, 1.0), (440.0, 1.0)]).unwrap();
    for (n, piece) in pieces.into_iter().enumerate() {
        streams.serve(&format!("/live/s{n}.wav"), "audio/wav", piece);
    }
    // Two segments older than the live edge, never served: not fetched.
    let first = [("old0.wav", 1.0), ("old1.wav", 1.0), ("s0.wav", 1.0), ("s1.wav", 1.0), ("s2.wav", 1.0)];
    streams.serve_hls_media("/live/media.m3u8", &first, 0, false);
    let resolved = resolver().resolve(&streams.url("/live/media.m3u8")).await.unwrap();
    assert_eq!(resolved.duration, None, "live");
    let decoding = tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(20)));

    // The playlist moves on: the first entries drop out, three new ones
    // come, then it ends (so the test's reader sees an end).
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 3..6 {
        streams.serve(&format!("/live/s{n}.wav"), "audio/wav", tone_pcm(880.0, 1.0).unwrap());
    }
    let next = [("s0.wav", 1.0), ("s1.wav", 1.0), ("s2.wav", 1.0), ("s3.wav", 1.0), ("s4.wav", 1.0), ("s5.wav", 1.0)];
    streams.serve_hls_media("/live/media.m3u8", &next, 2, true);

    let decoded = decoding.await.unwrap();
    assert!(decoded.ended);
    let heard = pattern(&decoded.timeline(), 440.0, 880.0);
    assert_eq!(heard, "AAAAAAAAAAAABBBBBBBBBBBB", "three seconds of each, nothing twice");
    assert!(requests(&streams, "/live/media.m3u8") >= 2, "the playlist was fetched again");
    assert_eq!(requests(&streams, "/live/old0.wav") + requests(&streams, "/live/old1.wav"), 0);
    for n in 0..6 {
        assert_eq!(requests(&streams, &format!("/live/s{n}.wav")), 1, "segment {n} fetched once");
    }
}

#[tokio::test]
async fn an_encrypted_stream_is_refused_with_its_message() {
    let streams = FakeStreams::start().await.unwrap();
    let media = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n\
                 #EXTINF:1,\nseg0.ts\n#EXT-X-ENDLIST\n";
    streams.serve("/enc/media.m3u8", "application/vnd.apple.mpegurl", media);
    let error = resolver().resolve(&streams.url("/enc/media.m3u8")).await.unwrap_err();
    assert!(matches!(error, SourceError::Encrypted), "{error:?}");
    assert_eq!(error.user_message(), "That HLS stream is encrypted, so it cannot be played.");
    assert_eq!(requests(&streams, "/enc/seg0.ts") + requests(&streams, "/enc/key.bin"), 0);
}

#[tokio::test]
async fn a_segment_at_an_internal_address_is_refused() {
    let streams = FakeStreams::start().await.unwrap();
    let pieces = wav_hls_segments(&[(440.0, 1.0)]).unwrap();
    streams.serve("/mixed/s0.wav", "audio/wav", pieces[0].clone());
    for (path, internal) in
        [("/mixed/a.m3u8", "http://169.254.169.254/seg.wav"), ("/mixed/b.m3u8", "http://10.0.0.1/x.wav")]
    {
        let media =
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\ns0.wav\n#EXTINF:1,\n{internal}\n#EXT-X-ENDLIST\n");
        streams.serve(path, "application/vnd.apple.mpegurl", media);
        let error = resolver().resolve(&streams.url(path)).await.unwrap_err();
        assert!(matches!(error, SourceError::Refused(_)), "{path}: {error:?}");
        assert_eq!(error.user_message(), "That address is not allowed.");
    }
    // A named segment host is checked when it resolves, and redirects hop by hop.
    streams.serve_redirect("/mixed/hop.wav", "http://169.254.169.254/seg.wav");
    let media = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhop.wav\n#EXT-X-ENDLIST\n";
    streams.serve("/mixed/c.m3u8", "application/vnd.apple.mpegurl", media);
    let error = resolver().resolve(&streams.url("/mixed/c.m3u8")).await.unwrap_err();
    assert!(matches!(error, SourceError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn transport_stream_segments_are_unplayable() {
    let streams = FakeStreams::start().await.unwrap();
    let mut ts = vec![0u8; 188 * 4];
    for packet in ts.chunks_mut(188) {
        packet[0] = 0x47;
    }
    streams.serve("/ts/seg0.ts", "video/mp2t", ts);
    let media = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg0.ts\n#EXT-X-ENDLIST\n";
    streams.serve("/ts/media.m3u8", "application/vnd.apple.mpegurl", media);
    let error = resolver().resolve(&streams.url("/ts/media.m3u8")).await.unwrap_err();
    assert!(matches!(error, SourceError::Unplayable(_)), "{error:?}");
    assert_eq!(error.user_message(), "That source could not be opened as audio.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_segments_together_are_cut_at_the_byte_limit() {
    let streams = FakeStreams::start().await.unwrap();
    // Ten seconds in ten segments, 192 kB each; the limit is about 2.7 s.
    streams.serve_wav_hls("/long", &[(440.0, 1.0); 10]).unwrap();
    let limit: u64 = 512 * 1024;
    let policy = OutboundPolicy { max_track_bytes: limit, ..loopback_policy() };
    let resolved = resolver_with(policy).resolve(&streams.url("/long/media.m3u8")).await.unwrap();
    let decoded = tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(20))).await.unwrap();
    let at_limit = limit as f64 / (48_000.0 * 4.0);
    let heard = decoded.length().as_secs_f64();
    assert!(heard <= at_limit + 0.05 && heard >= at_limit - 0.4, "stopped at {heard:.2}s, the limit is {at_limit:.2}s");
    assert_eq!(requests(&streams, "/long/seg3.wav"), 0, "no segment past the limit is fetched");
}
