//! Command-line arguments of `voice-bench`.

use std::{fmt, path::PathBuf, str::FromStr};

use clap::{Parser, Subcommand, ValueEnum};

/// The voice benchmark (docs/performance.md).
#[derive(Debug, Parser)]
#[command(name = "voice-bench")]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The orchestrator and the processes it starts.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs every row and prints the table (the one command to use).
    Run(RunArgs),
    /// The sink: a fake voice server that only counts packets; talks to the
    /// orchestrator over stdin/stdout.
    Sink(SinkArgs),
    /// timmybot's side: N songbird drivers in this process.
    Bot(BotArgs),
    /// `/play` to first packet through the whole platform (the sandbox).
    Latency(LatencyArgs),
}

/// Which engines to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engines {
    /// timmybot and the peer.
    Both,
    /// timmybot only.
    Timmybot,
    /// The @discordjs/voice peer only.
    Peer,
}

/// What the players play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum InputKind {
    /// An Ogg Opus file of 20 ms frames, sent as it is.
    Passthrough,
    /// A WAV file, decoded and encoded to Opus by the player.
    Transcoded,
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Passthrough => "passthrough",
            Self::Transcoded => "transcoded",
        })
    }
}

/// A comma-separated list of stream counts, e.g. `10,100,500`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts(pub Vec<usize>);

impl FromStr for Counts {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let counts = text
            .split(',')
            .map(|part| match part.trim().parse::<usize>() {
                Ok(0) => Err("a stream count must be at least 1".to_owned()),
                Ok(n) => Ok(n),
                Err(_) => Err(format!("{part:?} is not a stream count")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(counts))
    }
}

/// Arguments of `voice-bench run`.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Stream counts for passthrough rows.
    #[arg(long, default_value = "10,100,500,1000")]
    pub passthrough: Counts,
    /// Stream counts for transcoded rows.
    #[arg(long, default_value = "10,100")]
    pub transcoded: Counts,
    /// Stream counts also run with DAVE off (passthrough), to show its cost.
    #[arg(long, default_value = "100")]
    pub dave_off: Counts,
    /// Seconds each row is measured for (after the streams started).
    #[arg(long, default_value_t = 20.0)]
    pub secs: f64,
    /// Engines to run.
    #[arg(long, value_enum, default_value_t = Engines::Both)]
    pub engines: Engines,
    /// Calls per songbird scheduler thread; default: chosen per row (see
    /// `calls_per_thread`).
    #[arg(long)]
    pub per_thread: Option<usize>,
    /// How many `/play` commands the latency phase sends (0: skip it).
    #[arg(long, default_value_t = 30)]
    pub plays: usize,
    /// The peer's folder (package.json, peer.js).
    #[arg(long, default_value = "bench/peer")]
    pub peer_dir: PathBuf,
}

/// Arguments of `voice-bench sink`.
#[derive(Clone, Debug, clap::Args)]
pub struct SinkArgs {
    /// Negotiate DAVE with every client.
    #[arg(long, action = clap::ArgAction::Set, default_value_t = true)]
    pub dave: bool,
    /// Where to write the test CA's PEM (trusted by the players).
    #[arg(long)]
    pub ca_file: PathBuf,
}

/// Arguments of `voice-bench bot`.
#[derive(Clone, Debug, clap::Args)]
pub struct BotArgs {
    /// The sink's `host:port`.
    #[arg(long)]
    pub endpoint: String,
    /// Number of calls (guilds 1..=N).
    #[arg(long)]
    pub streams: usize,
    /// The file every call plays.
    #[arg(long)]
    pub file: PathBuf,
    /// Calls per songbird scheduler thread.
    #[arg(long, default_value_t = 16)]
    pub per_thread: usize,
}

/// Arguments of `voice-bench latency`.
#[derive(Clone, Debug, clap::Args)]
pub struct LatencyArgs {
    /// How many `/play` commands to time.
    #[arg(long, default_value_t = 30)]
    pub plays: usize,
}

/// Calls per songbird scheduler thread for a row.
///
/// songbird's default, 16, suits transcoding (each call costs about 1–2 %
/// of a core, so 16 fill a good part of a 20 ms tick). Passthrough calls
/// cost tens of microseconds a tick, so 16 per thread would start one
/// thread per 16 calls and spend the CPU on switching between them: spread
/// the calls over one thread per core instead, never fewer than 16 a thread.
pub fn calls_per_thread(input: InputKind, streams: usize, cores: usize) -> usize {
    match input {
        InputKind::Transcoded => 16,
        InputKind::Passthrough => streams.div_ceil(cores.max(1)).max(16),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse_and_reject_nonsense() {
        assert_eq!("10, 100,500".parse::<Counts>(), Ok(Counts(vec![10, 100, 500])));
        assert!("10,0".parse::<Counts>().is_err());
        assert!("10,x".parse::<Counts>().unwrap_err().contains("\"x\""));
        assert!("".parse::<Counts>().is_err());
    }

    #[test]
    fn run_defaults_are_the_documented_rows() {
        let cli = Cli::try_parse_from(["voice-bench", "run"]).unwrap();
        let Command::Run(args) = cli.command else { panic!("not run") };
        assert_eq!(args.passthrough, Counts(vec![10, 100, 500, 1000]));
        assert_eq!(args.transcoded, Counts(vec![10, 100]));
        assert_eq!(args.engines, Engines::Both);
        assert_eq!(args.secs, 20.0);
        let cli = Cli::try_parse_from(["voice-bench", "sink", "--dave", "false", "--ca-file", "/tmp/ca.pem"]).unwrap();
        let Command::Sink(sink) = cli.command else { panic!("not sink") };
        assert!(!sink.dave);
    }

    #[test]
    fn passthrough_spreads_calls_over_cores_and_transcoding_keeps_the_default() {
        assert_eq!(calls_per_thread(InputKind::Passthrough, 1000, 2), 500);
        assert_eq!(calls_per_thread(InputKind::Passthrough, 1001, 2), 501);
        assert_eq!(calls_per_thread(InputKind::Passthrough, 10, 2), 16);
        assert_eq!(calls_per_thread(InputKind::Passthrough, 100, 0), 100);
        assert_eq!(calls_per_thread(InputKind::Transcoded, 1000, 2), 16);
    }
}
