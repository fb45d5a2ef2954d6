//! `timmybot`: run the platform on one machine, try it in a sandbox, or
//! register its slash commands.

#[cfg(feature = "sandbox")]
use std::path::PathBuf;
use std::process::ExitCode;
#[cfg(feature = "sandbox")]
use std::time::Duration;

use clap::{Parser, Subcommand};
use timmybot::config::Config;
use timmybot::platform::Platform;
#[cfg(feature = "sandbox")]
use timmybot::sandbox::{Sandbox, SandboxOptions};

#[derive(Parser)]
#[command(name = "timmybot", version, about = "A self-hostable Discord music bot")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: gateway, voice, HTTP interactions, embedded store.
    Serve,
    /// Run the platform against a built-in fake Discord and send it commands.
    #[cfg(feature = "sandbox")]
    Sandbox {
        /// Seconds to listen to the voice channel after the last command.
        #[arg(long, default_value_t = 5)]
        listen: u64,
        /// Slash commands to send, e.g. "/play ./tone.wav" or "/volume 50";
        /// "[player:pause]" presses that button on the controller.
        commands: Vec<String>,
    },
    /// Exit 0 when the platform on TIMMYBOT_LISTEN is healthy (every gateway
    /// shard connected); the container's health check.
    Healthcheck,
    /// Overwrite the bot's slash commands on Discord.
    RegisterCommands {
        /// Register in this guild only (shows at once) instead of globally.
        #[arg(long)]
        guild: Option<String>,
    },
    /// Review and decide guilds' access requests through the admin API.
    Allowlist(timmybot::allowlist_cli::AllowlistArgs),
    /// Write a sine tone WAV file (48 kHz stereo), handy for the sandbox.
    #[cfg(feature = "sandbox")]
    Tone {
        /// Frequency in Hz.
        #[arg(long, default_value_t = 440.0)]
        hz: f64,
        /// Length in seconds.
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
        /// Where to write it.
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    timmybot::install_crypto_provider();
    // The sandbox's fake voice server uses a throwaway CA; trusting it means
    // setting SSL_CERT_FILE, which must happen before any thread exists.
    #[cfg(feature = "sandbox")]
    let sandbox_ca = matches!(cli.command, Command::Sandbox { .. }).then(timmybot::sandbox::trust_sandbox_ca);
    #[cfg(feature = "sandbox")]
    let sandboxed = sandbox_ca.is_some();
    #[cfg(not(feature = "sandbox"))]
    let sandboxed = false;
    // The sandbox and the allowlist CLI print their own output; info logs would bury it.
    let quiet = sandboxed || matches!(cli.command, Command::Allowlist(_) | Command::Healthcheck);
    let default_level = if quiet { "warn" } else { "info" };
    timmybot::logging::init(std::env::var("RUST_LOG").ok().as_deref(), default_level, std::io::stderr);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("timmybot: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve().await,
            #[cfg(feature = "sandbox")]
            Command::Sandbox { listen, commands } => {
                let ca = sandbox_ca.expect("set above for the sandbox")?;
                sandbox(ca, listen, commands).await
            }
            Command::Healthcheck => {
                let listen = timmybot::config::listen_from_lookup(|name| std::env::var(name).ok())?;
                timmybot::healthcheck::check(&timmybot::healthcheck::health_url(listen)).await
            }
            Command::RegisterCommands { guild } => register(guild).await,
            Command::Allowlist(args) => timmybot::allowlist_cli::run(args).await,
            #[cfg(feature = "sandbox")]
            Command::Tone { hz, secs, path } => {
                timmybot_test_support::audio::write_tone_wav(&path, hz, secs)?;
                println!("wrote {} ({hz} Hz, {secs} s)", path.display());
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("timmybot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let platform = Platform::start(config).await?;
    println!("timmybot serving on http://{} (POST /interactions, GET /health, GET /metrics)", platform.addr());
    platform.run_until(shutdown_signal()).await
}

#[cfg(feature = "sandbox")]
async fn sandbox(ca: timmybot_test_support::test_ca::TestCa, listen: u64, commands: Vec<String>) -> anyhow::Result<()> {
    // As `serve` reads them, so a self-hoster can try a LAN radio or their
    // own files; the media folder defaults to the current one here.
    let media_dir = match std::env::var_os("TIMMYBOT_MEDIA_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::env::current_dir()?,
    };
    let data = tempfile::tempdir()?;
    let mut options = SandboxOptions::embedded(data.path().to_path_buf(), Some(media_dir));
    if let Some(allow) = std::env::var("TIMMYBOT_OUTBOUND_ALLOW").ok().filter(|v| !v.trim().is_empty()) {
        options.outbound_allow = allow
            .parse()
            .map_err(|e| anyhow::anyhow!("TIMMYBOT_OUTBOUND_ALLOW is not a list of hosts and CIDRs ({e})"))?;
    }
    let sandbox = Sandbox::start(&ca, options).await?;
    for line in &commands {
        // `[custom_id]` presses that button on the newest message with it.
        let sent = match line.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            Some(custom_id) => sandbox.press_newest(timmybot::sandbox::MEMBER_ID, custom_id).await?,
            None => sandbox.send(line).await?,
        };
        println!("sent {line} -> HTTP {} {}", sent.status, sent.immediate_reply());
        // Let a deferred command take effect before the next one arrives.
        sandbox.wait_for_reply(&sent, Duration::from_secs(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(listen)).await;
    for line in sandbox.transcript() {
        println!("{line}");
    }
    println!("{}", sandbox.heard_line());
    sandbox.shutdown().await
}

async fn register(guild: Option<String>) -> anyhow::Result<()> {
    let access = timmybot::config::DiscordAccess::from_env()?;
    let guild = guild.map(|g| g.parse().map_err(|_| anyhow::anyhow!("--guild is not a Discord id"))).transpose()?;
    let names =
        timmybot::register_commands::register_commands(&access.token, access.application_id, guild, &access.endpoints)
            .await?;
    let scope = guild.map_or_else(|| "globally".to_owned(), |g| format!("in guild {g}"));
    println!("registered {} {scope}: {}", names.len(), names.join(", "));
    Ok(())
}

/// Resolves on SIGTERM (ECS, systemd) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
