//! `voice-bench run`: every row, then the table on stdout.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use timmybot_bench::{
    cli::{Engines, InputKind, RunArgs, calls_per_thread},
    procfs::{ProcessSample, machine},
    stats::{FirstPacket, SinkReport, StreamSummary},
    table::{PEER, Row, TIMMYBOT, render_ratios, render_rows, render_targets},
};

/// Tone of both files.
const TONE_HZ: f64 = 440.0;

/// How long the streams may take to all send a first packet.
const FIRST_PACKET_WAIT: Duration = Duration::from_secs(20);

/// Time after the first packets before the window opens, so the window
/// measures steady streaming, not start-up.
const WARMUP: Duration = Duration::from_secs(2);

/// A child process speaking the line protocol of the subcommands.
struct Peer {
    name: String,
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn start(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let log = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {name}"))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self { name: name.to_owned(), child, stdin, lines })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .with_context(|| format!("write to {}", self.name))
    }

    fn expect(&mut self, timeout: Duration) -> anyhow::Result<String> {
        self.lines.recv_timeout(timeout).with_context(|| format!("{} said nothing within {timeout:?}", self.name))
    }

    fn ask(&mut self, line: &str, timeout: Duration) -> anyhow::Result<String> {
        self.send(line)?;
        self.expect(timeout)
    }

    /// Asks it to quit, then kills it if it has not within 5 s.
    fn stop(mut self) {
        let _ = self.send("quit");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One row to run.
#[derive(Clone, Copy, Debug)]
struct Plan {
    engine: &'static str,
    input: InputKind,
    streams: usize,
    dave: bool,
}

/// Files and folders shared by all rows.
struct Setup {
    exe: PathBuf,
    dir: tempfile::TempDir,
    ogg: PathBuf,
    wav: PathBuf,
    peer_script: PathBuf,
    cores: usize,
    per_thread: Option<usize>,
    secs: f64,
}

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.secs >= 1.0, "--secs must be at least 1");
    let started = Instant::now();
    let (cpu, cores) = machine();
    let dir = tempfile::Builder::new().prefix("voice-bench-").tempdir()?;
    // Long enough to outlast start-up, warm-up and the window.
    let file_secs = args.secs + FIRST_PACKET_WAIT.as_secs_f64() + 30.0;
    let ogg = dir.path().join("bench.ogg");
    let wav = dir.path().join("bench.wav");
    timmybot_bench::ogg::write_tone_ogg_opus(&ogg, TONE_HZ, file_secs, 128_000)?;
    timmybot_test_support::audio::write_tone_wav(&wav, TONE_HZ, file_secs)?;
    let with_peer = args.engines != Engines::Timmybot;
    if with_peer {
        prepare_peer(&args.peer_dir)?;
    }
    let setup = Setup {
        exe: std::env::current_exe().context("own executable")?,
        peer_script: args.peer_dir.join("peer.js").canonicalize().context("bench/peer/peer.js")?,
        dir,
        ogg,
        wav,
        cores,
        per_thread: args.per_thread,
        secs: args.secs,
    };

    let engines: Vec<&'static str> = match args.engines {
        Engines::Both => vec![TIMMYBOT, PEER],
        Engines::Timmybot => vec![TIMMYBOT],
        Engines::Peer => vec![PEER],
    };
    let mut plans = Vec::new();
    let kinds = [
        (InputKind::Passthrough, &args.passthrough.0, true),
        (InputKind::Transcoded, &args.transcoded.0, true),
        (InputKind::Passthrough, &args.dave_off.0, false),
    ];
    for (input, counts, dave) in kinds {
        for &streams in counts {
            for &engine in &engines {
                plans.push(Plan { engine, input, streams, dave });
            }
        }
    }

    let mut rows = Vec::new();
    for (index, plan) in plans.iter().enumerate() {
        eprintln!("[{:>4.0}s] row {}/{}: {plan:?}", started.elapsed().as_secs_f64(), index + 1, plans.len());
        match run_row(&setup, *plan, index) {
            Ok(row) => {
                eprintln!("{}", render_rows(std::slice::from_ref(&row)).lines().last().unwrap_or_default());
                rows.push(row);
            }
            Err(error) => eprintln!("row {plan:?} failed: {error:#}"),
        }
    }

    let latency = if args.plays > 0 {
        eprintln!("[{:>4.0}s] /play to first packet, {} plays", started.elapsed().as_secs_f64(), args.plays);
        match play_latency(&setup, args.plays) {
            Ok(latency) => Some(latency),
            Err(error) => {
                eprintln!("latency phase failed: {error:#}");
                None
            }
        }
    } else {
        None
    };

    let peer_version = if with_peer { peer_versions(&args.peer_dir) } else { String::new() };
    println!(
        "Run {} on {cpu}, {cores} CPUs ({}), {} s per row{}; took {:.0} s.\n",
        today(),
        kernel(),
        args.secs,
        peer_version,
        started.elapsed().as_secs_f64()
    );
    println!("{}", render_rows(&rows));
    if with_peer {
        println!("{}", render_ratios(&rows));
    }
    if let Some(latency) = &latency {
        println!(
            "`/play` to first packet ({} cold plays of a local Ogg Opus file through the sandbox): p50 {:.1} ms, p99 {:.1} ms{}\n",
            args.plays,
            latency.p50_ms.unwrap_or(f64::NAN),
            latency.p99_ms.unwrap_or(f64::NAN),
            if latency.missing > 0 { format!(", {} never started", latency.missing) } else { String::new() }
        );
    }
    println!("{}", render_targets(&rows, cores, latency.as_ref()));
    Ok(())
}

fn run_row(setup: &Setup, plan: Plan, index: usize) -> anyhow::Result<Row> {
    let dir = setup.dir.path();
    let ca = dir.join(format!("ca-{index}.pem"));
    let mut sink_command = Command::new(&setup.exe);
    sink_command.arg("sink").arg("--dave").arg(plan.dave.to_string()).arg("--ca-file").arg(&ca);
    let mut sink = Peer::start("sink", sink_command, &dir.join(format!("sink-{index}.log")))?;
    let hello: serde_json::Value = serde_json::from_str(&sink.expect(Duration::from_secs(10))?)?;
    let endpoint = hello["endpoint"].as_str().context("sink endpoint")?.to_owned();

    let file = match plan.input {
        InputKind::Passthrough => &setup.ogg,
        InputKind::Transcoded => &setup.wav,
    };
    let mut command = if plan.engine == TIMMYBOT {
        let per_thread = setup.per_thread.unwrap_or_else(|| calls_per_thread(plan.input, plan.streams, setup.cores));
        let mut command = Command::new(&setup.exe);
        command.arg("bot").arg("--per-thread").arg(per_thread.to_string()).env("SSL_CERT_FILE", &ca);
        command
    } else {
        let mut command = Command::new("node");
        command.arg(&setup.peer_script).arg("--input").arg(plan.input.to_string()).env("NODE_EXTRA_CA_CERTS", &ca);
        command
    };
    command.arg("--endpoint").arg(&endpoint).arg("--streams").arg(plan.streams.to_string()).arg("--file").arg(file);
    let mut player = Peer::start(plan.engine, command, &dir.join(format!("{}-{index}.log", plan.engine)))?;
    let result = measure(setup, plan, &mut sink, &mut player);
    player.stop();
    sink.stop();
    result
}

fn measure(setup: &Setup, plan: Plan, sink: &mut Peer, player: &mut Peer) -> anyhow::Result<Row> {
    let n = plan.streams;
    let hello = player.expect(Duration::from_secs(30))?;
    anyhow::ensure!(hello == "hello", "{} said {hello:?}", player.name);
    std::thread::sleep(Duration::from_secs(1));
    let base = ProcessSample::read(player.pid())?;

    let connect_timeout = Duration::from_secs(60) + Duration::from_millis(200) * n as u32;
    let answer = player.ask("connect", connect_timeout)?;
    let connected: usize = answer
        .strip_prefix("connected ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|ok| ok.parse().ok())
        .with_context(|| format!("{} said {answer:?}", player.name))?;
    std::thread::sleep(Duration::from_secs(2));
    let idle = ProcessSample::read(player.pid())?;

    // Start signal: the sink's window opens, then every stream starts.
    sink.ask(&format!("reset {n}"), Duration::from_secs(10))?;
    let playing = player.ask("play", Duration::from_secs(60))?;
    anyhow::ensure!(playing == "playing", "{} said {playing:?}", player.name);
    let deadline = Instant::now() + FIRST_PACKET_WAIT;
    let first = loop {
        let report = sink_report(sink, n)?;
        let first = FirstPacket::of(&report);
        if first.missing <= n - connected.min(n) || Instant::now() >= deadline {
            break first;
        }
        std::thread::sleep(Duration::from_millis(250));
    };

    std::thread::sleep(WARMUP);
    sink.ask(&format!("reset {n}"), Duration::from_secs(10))?;
    let start = ProcessSample::read(player.pid())?;
    let window_start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(setup.secs));
    let end = ProcessSample::read(player.pid())?;
    let window = window_start.elapsed().as_secs_f64();
    let report = sink_report(sink, n)?;
    if let Ok(Some(status)) = player.child.try_wait() {
        bail!("{} exited during the row: {status}", player.name);
    }

    let kib_per = |sample: &ProcessSample| (sample.rss_kib as f64 - base.rss_kib as f64) / n as f64;
    Ok(Row {
        engine: plan.engine,
        input: plan.input,
        streams: n,
        dave: plan.dave,
        connected,
        cpu_us_per_stream_sec: (end.cpu_secs - start.cpu_secs) / (n as f64 * window) * 1e6,
        rss_base_mib: base.rss_kib as f64 / 1024.0,
        rss_idle_per_player_kib: kib_per(&idle),
        rss_playing_per_player_kib: kib_per(&end),
        heard: StreamSummary::of(&report),
        first_packet: first,
    })
}

fn sink_report(sink: &mut Peer, n: usize) -> anyhow::Result<SinkReport> {
    let line = sink.ask(&format!("stats {n}"), Duration::from_secs(30))?;
    serde_json::from_str(&line).with_context(|| format!("sink said {line:?}"))
}

fn play_latency(setup: &Setup, plays: usize) -> anyhow::Result<FirstPacket> {
    let mut command = Command::new(&setup.exe);
    command.arg("latency").arg("--plays").arg(plays.to_string());
    let log = setup.dir.path().join("latency.log");
    let mut child = Peer::start("latency", command, &log)?;
    let line = child.expect(Duration::from_secs(30) + Duration::from_secs(25) * plays as u32);
    child.stop();
    let line = line.with_context(|| format!("see {}", log.display()))?;
    let value: serde_json::Value = serde_json::from_str(&line)?;
    let times: Vec<f64> =
        value["times_ms"].as_array().context("times_ms")?.iter().filter_map(serde_json::Value::as_f64).collect();
    Ok(FirstPacket::of_times(&times, value["missing"].as_u64().unwrap_or(0) as usize))
}

/// Runs `npm ci` in the peer's folder unless its node_modules exist.
fn prepare_peer(peer_dir: &Path) -> anyhow::Result<()> {
    if peer_dir.join("node_modules/@discordjs/voice").is_dir() {
        return Ok(());
    }
    eprintln!("installing the peer (npm ci in {})", peer_dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(peer_dir)
        .status()
        .context("run npm (is Node.js installed?)")?;
    anyhow::ensure!(status.success(), "npm ci failed in {}", peer_dir.display());
    Ok(())
}

fn peer_versions(peer_dir: &Path) -> String {
    let version = |package: &str| {
        std::fs::read_to_string(peer_dir.join("node_modules").join(package).join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json["version"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    };
    let node = output("node", &["--version"]);
    format!(
        "; peer @discordjs/voice {} with @snazzah/davey {} on Node {node}",
        version("@discordjs/voice"),
        version("@snazzah/davey")
    )
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn today() -> String {
    output("date", &["-u", "+%Y-%m-%d"])
}

fn kernel() -> String {
    format!("Linux {}", output("uname", &["-r"]))
}
