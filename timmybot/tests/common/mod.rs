//! What the end-to-end tests share: a sandbox per test, replies, and
//! listening for tones on the fake voice server's decoded audio.
#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use timmybot::sandbox::{GUILD_ID, MEMBER_ID, Route, Sandbox, SandboxOptions, SentCommand, trust_sandbox_ca};
use timmybot_test_support::audio::{SAMPLE_RATE, dominant_frequency, rms};
use timmybot_test_support::runtime::runtime_with_logs;

/// Within this, a measured frequency is the tone.
pub const HZ_TOLERANCE: f64 = 12.0;
/// How long a reply may take.
pub const REPLY: Duration = Duration::from_secs(20);

/// Runs `test` against a sandbox on SQLite with `media` as its media
/// folder, its options changed by `options`.
pub fn with_sandbox<F, Fut>(
    media: Option<&std::path::Path>,
    options: impl FnOnce(SandboxOptions) -> SandboxOptions,
    test: F,
) where
    F: FnOnce(Sandbox) -> Fut,
    Fut: std::future::Future<Output = Sandbox>,
{
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        let base = SandboxOptions::embedded(data.path().to_path_buf(), media.map(std::path::Path::to_path_buf));
        let sandbox = Sandbox::start(&ca, options(base)).await.expect("sandbox starts");
        let sandbox = test(sandbox).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

/// Sends `line` as the member and returns the reply they see.
pub async fn say(sandbox: &Sandbox, line: &str) -> String {
    let sent = sandbox.send_as(MEMBER_ID, line, Route::Http).await.expect("sent");
    reply_of(sandbox, &sent).await
}

/// The reply to `sent`, once the platform gave it.
pub async fn reply_of(sandbox: &Sandbox, sent: &SentCommand) -> String {
    assert_eq!(sent.status, 200, "{}", sent.line);
    sandbox.wait_for_reply(sent, REPLY).await.unwrap_or_else(|| panic!("no reply to {}", sent.line))
}

/// The dominant frequency of the last `secs` of decoded audio, when it is
/// not silence.
pub fn recent_hz(sandbox: &Sandbox, secs: f64) -> Option<f64> {
    let audio = sandbox.voice.audio(GUILD_ID);
    let take = (secs * f64::from(SAMPLE_RATE)) as usize;
    if audio.len() < take {
        return None;
    }
    let recent = &audio[audio.len() - take..];
    (rms(recent) > 1e-3).then(|| dominant_frequency(recent, SAMPLE_RATE))
}

/// Waits until the last half second is the tone `hz`.
pub async fn hears(sandbox: &Sandbox, hz: f64, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if recent_hz(sandbox, 0.5).is_some_and(|found| (found - hz).abs() <= HZ_TOLERANCE) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Asserts the tone `hz` (`what`) is heard within 15 s.
pub async fn assert_hears(sandbox: &Sandbox, hz: f64, what: &str) {
    assert!(
        hears(sandbox, hz, Duration::from_secs(15)).await,
        "did not hear {what} ({hz} Hz); last: {:?}",
        recent_hz(sandbox, 0.5)
    );
}

/// The tones of `tones` heard from now on, each run once, until `count`
/// were heard (or `within` passes).
pub async fn heard_in_order(sandbox: &Sandbox, tones: &[f64], count: usize, within: Duration) -> Vec<f64> {
    let deadline = tokio::time::Instant::now() + within;
    let mut order: Vec<f64> = Vec::new();
    while order.len() < count && tokio::time::Instant::now() < deadline {
        if let Some(found) = recent_hz(sandbox, 0.3)
            && let Some(hz) = tones.iter().find(|hz| (found - **hz).abs() <= HZ_TOLERANCE)
            && order.last() != Some(hz)
        {
            order.push(*hz);
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    order
}
