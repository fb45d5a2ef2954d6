//! `voice-bench latency`: `/play ./bench.ogg` to the first packet the fake
//! voice server hears, through the whole platform (`timmybot::sandbox`:
//! signed interaction, bus, player, songbird join with DAVE, the file).
//!
//! Every play starts cold: `/stop` after each one leaves the channel, so the
//! next `/play` joins again. Prints `{"times_ms": [...], "missing": k}`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use timmybot::sandbox::{GUILD_ID, Sandbox, SandboxOptions, trust_sandbox_ca};

use crate::{init_logs, say};

/// Longest wait for a first packet before a play counts as missing.
const FIRST_PACKET_TIMEOUT: Duration = Duration::from_secs(10);

pub fn latency(args: &timmybot_bench::cli::LatencyArgs) -> anyhow::Result<()> {
    init_logs();
    // Sets SSL_CERT_FILE: before any thread exists.
    let ca = trust_sandbox_ca()?;
    let data = tempfile::tempdir()?;
    let media = tempfile::tempdir()?;
    timmybot_bench::ogg::write_tone_ogg_opus(media.path().join("bench.ogg"), 440.0, 30.0, 128_000)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let options = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()))
            .with_fake_sources(false);
        let sandbox = Sandbox::start(&ca, options).await.context("sandbox")?;
        let (mut times_ms, mut missing) = (Vec::new(), 0usize);
        for _ in 0..args.plays {
            sandbox.voice.reset_heard(GUILD_ID);
            let sent_at = Instant::now();
            sandbox.send("/play ./bench.ogg").await.context("send /play")?;
            let heard =
                sandbox.voice.wait_until(FIRST_PACKET_TIMEOUT, |v| v.heard(GUILD_ID).first_packet.is_some()).await;
            match sandbox.voice.heard(GUILD_ID).first_packet {
                Some(first) if heard => times_ms.push(first.saturating_duration_since(sent_at).as_secs_f64() * 1e3),
                _ => missing += 1,
            }
            let closed = sandbox.voice.sessions_closed(GUILD_ID);
            sandbox.send("/stop").await.context("send /stop")?;
            // Cold next time: wait until the call is gone.
            let _ = sandbox.voice.wait_until(Duration::from_secs(10), |v| v.sessions_closed(GUILD_ID) > closed).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        say(&serde_json::json!({ "times_ms": times_ms, "missing": missing }).to_string());
        sandbox.shutdown().await
    })
}
