//! Starts the whole platform in one process: store, bus, HTTP handlers and
//! the gateway service. `timmybot serve`, the sandbox and the end-to-end tests
//! all go through [`Platform::start`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use timmybot_core::{CommandBus, QueueStore, SystemClock};
use timmybot_gateway::{GatewayDeps, GatewayInteractions, GatewaySettings, Health};
use timmybot_interactions::{InteractionHandler, PublicKey};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::{BusBackend, Config, StoreBackend};
use crate::gateway_interactions::HandlerOverGateway;

/// A running platform.
pub struct Platform {
    addr: SocketAddr,
    health: Health,
    shutdown: CancellationToken,
    gateway: JoinHandle<anyhow::Result<()>>,
    http: JoinHandle<std::io::Result<()>>,
}

impl Platform {
    /// Builds every adapter from `config` and starts serving.
    ///
    /// # Errors
    /// A store, bus or listener that cannot be opened.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let (queues, bus) = backends(&config).await?;
        let key =
            PublicKey::from_hex(&config.public_key).context("config: DISCORD_PUBLIC_KEY is not a valid Ed25519 key")?;
        let handler = Arc::new(InteractionHandler::new(bus.clone(), Arc::new(SystemClock), key, config.application_id));
        let health = Health::new();

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let app = crate::http_server::router(handler.clone(), health.clone());
        let http_stop = shutdown.clone();
        let http = tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(async move { http_stop.cancelled().await }).await
        });
        info!(%addr, "http server listening");

        // With a public endpoint Discord posts interactions over HTTP and never
        // on the gateway; without one the gateway is the only route.
        let gateway_interactions: Option<Arc<dyn GatewayInteractions>> =
            config.interactions_endpoint.is_none().then(|| Arc::new(HandlerOverGateway(handler)) as _);
        let settings = GatewaySettings {
            token: config.discord_token.clone(),
            application_id: config.application_id,
            endpoints: config.endpoints.clone(),
            media_dir: config.media_dir.clone(),
            shutdown_grace: Duration::from_secs(10),
            outbound: config.outbound.clone(),
        };
        let deps = GatewayDeps { bus, queues, gateway_interactions, health: health.clone() };
        let gateway = tokio::spawn(timmybot_gateway::run(settings, deps, shutdown.clone()));
        Ok(Self { addr, health, shutdown, gateway, http })
    }

    /// The address the HTTP server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether every gateway shard is connected.
    pub fn is_healthy(&self) -> bool {
        self.health.is_healthy()
    }

    /// Waits until every shard is connected, or fails when the gateway
    /// service stopped (bad token, Discord unreachable) or `timeout` passed.
    ///
    /// # Errors
    /// The gateway service's own error, or a timeout.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_healthy() {
            if self.gateway.is_finished() {
                return match (&mut self.gateway).await {
                    Ok(Ok(())) => Err(anyhow::anyhow!("gateway service stopped")),
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(e.into()),
                };
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "gateway not ready after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Stops taking commands, leaves voice, closes the shards and the server.
    ///
    /// # Errors
    /// The gateway service's error, if it failed.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let gateway = self.gateway.await.context("gateway service panicked")?;
        self.http.await.context("http server panicked")?.context("http server failed")?;
        gateway
    }

    /// Runs until the gateway service ends by itself (an error) or `stop`
    /// resolves, then shuts down.
    ///
    /// # Errors
    /// The gateway service's error.
    pub async fn run_until(mut self, stop: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            () = stop => self.shutdown().await,
            result = &mut self.gateway => {
                self.shutdown.cancel();
                let _ = self.http.await;
                result.context("gateway service panicked")?
            }
        }
    }
}

async fn backends(config: &Config) -> anyhow::Result<(Arc<dyn QueueStore>, Arc<dyn CommandBus>)> {
    let queues: Arc<dyn QueueStore> = match &config.store {
        StoreBackend::Sqlite => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("could not create data folder {}", config.data_dir.display()))?;
            let path = config.data_dir.join("timmybot.db");
            Arc::new(
                timmybot_embedded::SqliteStore::open(&path)
                    .with_context(|| format!("could not open {}", path.display()))?,
            )
        }
        StoreBackend::DynamoDb { guilds_table, queues_table } => {
            crate::aws::dynamo_queue_store(guilds_table, queues_table).await
        }
    };
    let bus: Arc<dyn CommandBus> = match &config.bus {
        BusBackend::InProcess => Arc::new(timmybot_embedded::InProcessBus::new()),
        BusBackend::Sqs { queue_url } => crate::aws::sqs_bus(queue_url).await,
    };
    Ok((queues, bus))
}
