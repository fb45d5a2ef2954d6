//! End to end, Opus passthrough: an Ogg Opus or WebM Opus file played at
//! volume 100 % reaches the voice server as the file's own Opus packets,
//! byte for byte, in order; at another volume songbird decodes it and
//! encodes its own packets, and the tone is still heard.
//!
//! "No encoder work" is shown by the bytes: songbird exposes no count of
//! its encoder's calls, and libopus is linked statically, so nothing can
//! count them from outside without patching songbird. But an encoder that
//! ran would not give back the file's packets: songbird encodes at
//! 128 kb/s from decoded PCM, while the file holds 64 kb/s constant-bitrate
//! packets (160 bytes each), so a single re-encoded packet in the run would
//! break the equality.
//!
//! Each test is a plain `#[test]` in its own process (cargo-nextest): the
//! test CA is trusted through a process-wide variable.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{assert_hears, say, with_sandbox};
use timmybot::sandbox::{GUILD_ID, Sandbox};
use timmybot_test_support::audio::{OpusTone, write_tone_ogg_opus, write_tone_webm_opus};
use timmybot_test_support::fake_voice::SILENCE_FRAME;

/// The tone of the Opus files. Its phase at a frame boundary comes back
/// only after 5000 frames (8.8234 cycles a frame), so each of its packets
/// differs from the others and a run of them is in one place only (at
/// 440 Hz, 8.8 cycles a frame, 1500 packets hold 34 distinct ones).
const HZ: f64 = 441.17;
/// Long enough for every step of a test to hear it still playing.
const TONE_SECS: f64 = 30.0;
/// Packets (20 ms each) a run must hold to count: two seconds.
const RUN: usize = 100;

/// The payloads heard, without the silence frames songbird sends before and
/// after audio.
fn audio_payloads(sandbox: &Sandbox) -> Vec<Vec<u8>> {
    sandbox.voice.opus_payloads(GUILD_ID).into_iter().filter(|p| p[..] != SILENCE_FRAME).collect()
}

/// Waits (up to 20 s) until `count` audio payloads were heard since the last
/// reset; returns them.
async fn wait_for_payloads(sandbox: &Sandbox, count: usize) -> Vec<Vec<u8>> {
    let heard = sandbox.voice.wait_until(Duration::from_secs(20), |_| audio_payloads(sandbox).len() >= count).await;
    let payloads = audio_payloads(sandbox);
    assert!(heard, "only {} audio payloads heard, wanted {count}", payloads.len());
    payloads
}

/// Asserts `heard` is a run of the file's packets: equal, in order, to
/// `file[start..start + heard.len()]` for some `start` (the first packets
/// may have played before the test started listening).
fn assert_file_packets(heard: &[Vec<u8>], file: &OpusTone, what: &str) {
    assert!(heard.len() >= RUN, "{what}: only {} payloads", heard.len());
    let fits = |start: usize| file.packets[start..].starts_with(heard);
    if (0..file.packets.len()).any(fits) {
        return;
    }
    // Not a run: say where it goes wrong, from the best start.
    let from_file = heard.iter().filter(|p| file.packets.contains(p)).count();
    let start = file.packets.iter().position(|p| *p == heard[0]);
    let first_off = start.and_then(|s| heard.iter().zip(&file.packets[s..]).position(|(h, f)| h != f));
    panic!(
        "{what}: the {} payloads heard are not a run of the file's {} packets: {from_file} of them are the \
         file's, the first one is its packet {start:?}, the run breaks at payload {first_off:?} \
         (lengths heard: {:?})",
        heard.len(),
        file.packets.len(),
        heard.iter().take(8).map(Vec::len).collect::<Vec<_>>()
    );
}

/// Asserts none of `heard` is one of the file's packets: songbird encoded
/// them all.
fn assert_reencoded(heard: &[Vec<u8>], file: &OpusTone) {
    let packets: HashSet<&Vec<u8>> = file.packets.iter().collect();
    let forwarded = heard.iter().filter(|p| packets.contains(p)).count();
    assert_eq!(forwarded, 0, "{forwarded} of {} payloads are the file's packets at volume 50 %", heard.len());
}

/// Asserts every packet of `file` differs from the others, so a run of
/// them heard in order can only be the file played in order.
fn assert_distinct(file: &OpusTone) {
    let distinct: HashSet<&Vec<u8>> = file.packets.iter().collect();
    assert_eq!(distinct.len(), file.packets.len(), "the tone repeats its packets");
}

/// Listens afresh: forgets what was heard once `settle` has passed, so
/// packets mixed before a change are not counted after it.
async fn listen_afresh(sandbox: &Sandbox, settle: Duration) {
    tokio::time::sleep(settle).await;
    sandbox.voice.reset_heard(GUILD_ID);
}

#[test]
fn ogg_opus_at_full_volume_is_sent_as_the_files_packets_and_other_volumes_are_reencoded() {
    let media = tempfile::tempdir().unwrap();
    let file = write_tone_ogg_opus(media.path().join("tone.opus"), HZ, TONE_SECS).unwrap();
    assert_distinct(&file);
    with_sandbox(
        Some(media.path()),
        |o| o,
        |sandbox| async move {
            // Guilds start at volume 100 %.
            say(&sandbox, "/play tone.opus").await;
            assert_hears(&sandbox, HZ, "the Ogg Opus tone").await;
            listen_afresh(&sandbox, Duration::ZERO).await;
            let heard = wait_for_payloads(&sandbox, RUN).await;
            assert_file_packets(&heard, &file, "at 100 %");
            let clean = sandbox.heard();
            assert_eq!((clean.undecryptable, clean.undecodable), (0, 0), "{clean:?}");
            let full = clean.level_dbfs.expect("a level at 100 %");

            // Another volume needs the samples: decoded, scaled, encoded again.
            assert_eq!(say(&sandbox, "/volume 50").await, "Volume set to 50%.");
            listen_afresh(&sandbox, Duration::from_millis(300)).await;
            let heard = wait_for_payloads(&sandbox, RUN).await;
            assert_reencoded(&heard, &file);
            let half = sandbox.heard();
            let hz = half.dominant_hz.expect("the tone at 50 %");
            assert!((hz - HZ).abs() <= common::HZ_TOLERANCE, "heard {hz} Hz at 50 %");
            // Half the amplitude is 6 dB down.
            let level = half.level_dbfs.expect("a level at 50 %");
            assert!((full - level - 6.0).abs() < 1.5, "50 % reads {level} dBFS against {full} at 100 %");

            // Back at 100 %, the file's packets are forwarded again.
            assert_eq!(say(&sandbox, "/volume 100").await, "Volume set to 100%.");
            listen_afresh(&sandbox, Duration::from_millis(300)).await;
            let heard = wait_for_payloads(&sandbox, RUN).await;
            assert_file_packets(&heard, &file, "back at 100 %");
            sandbox
        },
    );
}

#[test]
fn webm_opus_at_full_volume_is_sent_as_the_files_packets() {
    let media = tempfile::tempdir().unwrap();
    let file = write_tone_webm_opus(media.path().join("tone.webm"), HZ, TONE_SECS).unwrap();
    assert_distinct(&file);
    with_sandbox(
        Some(media.path()),
        |o| o,
        |sandbox| async move {
            say(&sandbox, "/play tone.webm").await;
            assert_hears(&sandbox, HZ, "the WebM Opus tone").await;
            listen_afresh(&sandbox, Duration::ZERO).await;
            let heard = wait_for_payloads(&sandbox, RUN).await;
            assert_file_packets(&heard, &file, "WebM at 100 %");

            assert_eq!(say(&sandbox, "/volume 150").await, "Volume set to 150%.");
            listen_afresh(&sandbox, Duration::from_millis(300)).await;
            let heard = wait_for_payloads(&sandbox, RUN).await;
            assert_reencoded(&heard, &file);
            assert_hears(&sandbox, HZ, "the WebM Opus tone at 150 %").await;
            sandbox
        },
    );
}
