//! `voice-bench sink`: the fake voice server, counting packets only.
//!
//! Protocol on stdin/stdout, one line each way:
//! - on start it prints `{"endpoint": "127.0.0.1:<port>"}`;
//! - `reset <N>` forgets what guilds 1..=N heard and starts a new window;
//!   answers `ok`;
//! - `stats <N>` answers a [`SinkReport`] for guilds 1..=N as JSON;
//! - `quit` (or end of input) stops it.

use std::time::Instant;

use anyhow::Context as _;
use timmybot_bench::stats::{SinkReport, StreamStats};
use timmybot_test_support::{
    fake_voice::{FakeVoiceConfig, FakeVoiceServer, Heard},
    test_ca::TestCa,
};

use crate::{init_logs, say, stdin_lines};

pub fn sink(args: &timmybot_bench::cli::SinkArgs) -> anyhow::Result<()> {
    init_logs();
    let ca = TestCa::new()?;
    ca.write_ca_file(&args.ca_file).context("write the sink's CA")?;
    // Two workers: the UDP intake and the WebSockets. The sink must stay
    // light: it shares the machine with the process being measured.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let mut config = FakeVoiceConfig::default();
        config.dave = args.dave;
        config.decode = false;
        // Discord's interval: the benchmark measures streaming, not heartbeats.
        config.heartbeat_interval = std::time::Duration::from_millis(13_750);
        let server = FakeVoiceServer::start_with(&ca, config).await?;
        say(&serde_json::json!({ "endpoint": server.endpoint() }).to_string());
        let mut lines = stdin_lines();
        let mut window_start = Instant::now();
        while let Some(line) = lines.recv().await {
            let mut words = line.split_whitespace();
            let command = words.next().unwrap_or_default();
            let guilds: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            match command {
                "reset" => {
                    for guild in 1..=guilds {
                        server.reset_heard(guild);
                    }
                    window_start = Instant::now();
                    say("ok");
                }
                "stats" => {
                    let window_secs = window_start.elapsed().as_secs_f64();
                    let streams =
                        (1..=guilds).map(|guild| stream_stats(guild, &server.heard(guild), window_start)).collect();
                    say(&serde_json::to_string(&SinkReport { window_secs, streams })?);
                }
                "quit" => break,
                other => say(&format!("error: unknown command {other:?}")),
            }
        }
        anyhow::Ok(())
    })
}

fn stream_stats(guild: u64, heard: &Heard, window_start: Instant) -> StreamStats {
    StreamStats {
        guild,
        packets: heard.packets,
        first_packet_ms: heard.first_packet.map(|at| at.saturating_duration_since(window_start).as_secs_f64() * 1e3),
        gap_p50_ms: gap_ms(heard, heard.gap_p50),
        gap_p99_ms: gap_ms(heard, heard.gap_p99),
        gap_max_ms: gap_ms(heard, heard.gap_max),
    }
}

/// A gap in ms, or `None` for a stream with fewer than two packets.
fn gap_ms(heard: &Heard, gap: std::time::Duration) -> Option<f64> {
    (heard.packets >= 2).then_some(gap.as_secs_f64() * 1e3)
}
