//! `voice-bench bot`: timmybot's side, N songbird drivers in one process,
//! configured as the production players are (songbird's default `Config`,
//! see gateway-service/src/service.rs) but with the scheduler sized for the
//! load.
//!
//! Protocol on stdin/stdout: prints `hello`; on `connect` connects guilds
//! 1..=N to the sink and prints `connected <ok> <failed>`; on `play` starts
//! the file in every connected call and prints `playing`; `quit` (or end of
//! input) exits.

use std::{num::NonZeroU64, num::NonZeroUsize, sync::Arc, time::Duration};

use songbird::{
    ConnectionInfo, Driver,
    driver::{Scheduler, SchedulerConfig, SchedulerMode},
    id::{ChannelId, GuildId, UserId},
    input::File as FileInput,
};
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{init_logs, say, stdin_lines};

/// The bot's user id in every Identify.
const BOT_USER_ID: u64 = 4242;

/// Connections set up at once: each is a TLS handshake, a WebSocket and
/// (with DAVE) an MLS exchange; a thousand at once would only time out.
const CONNECT_CONCURRENCY: usize = 32;

pub fn bot(args: &timmybot_bench::cli::BotArgs) -> anyhow::Result<()> {
    init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut lines = stdin_lines();
        say("hello");
        let mut scheduler_config = SchedulerConfig::default();
        scheduler_config.strategy =
            SchedulerMode::MaxPerThread(NonZeroUsize::new(args.per_thread.max(1)).expect("at least 1"));
        let config = songbird::Config::default().scheduler(Scheduler::new(scheduler_config));
        let mut drivers: Vec<Driver> = Vec::new();
        let mut connected: Vec<bool> = Vec::new();
        while let Some(line) = lines.recv().await {
            match line.as_str() {
                "connect" => {
                    drivers = (0..args.streams).map(|_| Driver::new(config.clone())).collect();
                    connected = connect_all(&mut drivers, &args.endpoint).await;
                    let ok = connected.iter().filter(|&&c| c).count();
                    say(&format!("connected {ok} {}", args.streams - ok));
                }
                "play" => {
                    for (driver, _) in drivers.iter_mut().zip(&connected).filter(|(_, up)| **up) {
                        driver.play_input(FileInput::new(args.file.clone()).into());
                    }
                    say("playing");
                }
                "quit" => break,
                other => say(&format!("error: unknown command {other:?}")),
            }
        }
        for driver in &mut drivers {
            driver.leave();
        }
        // Let the drivers send their closes before the runtime goes.
        tokio::time::sleep(Duration::from_millis(200)).await;
        anyhow::Ok(())
    })
}

/// Connects driver `i` as guild `i + 1`; returns which connected.
async fn connect_all(drivers: &mut [Driver], endpoint: &str) -> Vec<bool> {
    let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut pending = JoinSet::new();
    for (index, driver) in drivers.iter_mut().enumerate() {
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let id = NonZeroU64::new(index as u64 + 1).expect("from 1");
        let info = ConnectionInfo {
            channel_id: ChannelId(id),
            endpoint: endpoint.to_owned(),
            guild_id: GuildId(id),
            session_id: format!("bench-session-{id}"),
            // `<secret>.<channel id>`: the sink reads the channel (the MLS
            // group id of DAVE) from the token, as its fake Discord mints them.
            token: format!("bench{id:x}.{id}"),
            user_id: UserId(NonZeroU64::new(BOT_USER_ID).expect("non-zero")),
        };
        let connecting = driver.connect(info);
        pending.spawn(async move {
            let result = connecting.await;
            drop(permit);
            if let Err(error) = &result {
                tracing::warn!(guild = index + 1, %error, "voice connection failed");
            }
            (index, result.is_ok())
        });
    }
    let mut up = vec![false; drivers.len()];
    while let Some(joined) = pending.join_next().await {
        if let Ok((index, ok)) = joined {
            up[index] = ok;
        }
    }
    up
}
