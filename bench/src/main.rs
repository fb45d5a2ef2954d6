//! `voice-bench`: see docs/performance.md. `run` is the command to use; it
//! starts the other subcommands as child processes of this executable.

mod bot;
mod latency;
mod run;
mod sink;

use clap::Parser as _;
use timmybot_bench::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    // Both the bot (songbird's wss://) and the sink (TLS server) use rustls.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Sink(args) => sink::sink(&args),
        Command::Bot(args) => bot::bot(&args),
        Command::Latency(args) => latency::latency(&args),
    }
}

/// Logs to stderr (the orchestrator keeps each child's stderr in a file),
/// warnings and up unless `RUST_LOG` says otherwise.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Lines from stdin, read on a thread of their own so a tokio runtime can
/// wait for them.
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_owned()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Prints one line to stdout and flushes it (stdout is a pipe: unflushed,
/// the orchestrator would wait forever).
fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
