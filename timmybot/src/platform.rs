//! Starts the whole platform in one process: store, bus, HTTP handlers and
//! the gateway service. `timmybot serve`, the sandbox and the end-to-end tests
//! all go through [`Platform::start`] (the sandbox through
//! [`Platform::start_with`], to hand in test hooks).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use timmybot_outbound::SafeHttpClient;

use anyhow::Context as _;
use timmybot_accounts::{KeyRing, TokenVault};
use timmybot_allowlist::admin_api::AdminApi;
use timmybot_allowlist::{Allowlist, AllowlistMode};
use timmybot_core::metrics::MetricsRecorder;
use timmybot_core::{
    AccountStore, AllowlistStore, CommandBus, CommandLedger, DiscordRest, GatewayPresence, GatewaySessionStore,
    LinkStateStore, PlayerStore, PlaylistStore, Secret, SecretError, SecretStore, SettingsStore, SystemClock,
    TrackCache,
};
use timmybot_discord_rest::{DiscordRestClient, JsonWebhook};
use timmybot_embedded::FileSecretStore;
use timmybot_emf::{EmfEmitter, MetricsSink, StdoutSink};
use timmybot_gateway::{AccessWatchSettings, GatewayDeps, GatewayInteractions, GatewaySettings, Health, PlayerStats};
use timmybot_interactions::{InteractionHandler, PublicKey};
use timmybot_linking::{AccountLinks, SPOTIFY_CALLBACK_PATH, SpotifyLinking};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::admin_http::ADMIN_TOKEN_SECRET;
use crate::config::{BusBackend, Config, SpotifySecrets, StoreBackend};
use crate::gateway_interactions::HandlerOverGateway;

/// What the platform takes besides [`Config`]: hooks that are not
/// configuration (nothing an operator sets), for the sandbox and tests.
/// The default is production's.
#[derive(Clone, Default)]
pub struct PlatformExtras {
    /// Where the EMF lines of metric records go when [`Config::metrics`]
    /// is on; `None` = stdout.
    pub metrics_sink: Option<Arc<dyn MetricsSink>>,
    /// How the players run (refresh and alive intervals, a fixed shuffle
    /// seed); tests shorten them.
    pub players: timmybot_voice::PlayersConfig,
}

/// A running platform.
pub struct Platform {
    addr: SocketAddr,
    health: Health,
    track_cache: Arc<dyn TrackCache>,
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
        Self::start_with(config, PlatformExtras::default()).await
    }

    /// [`Platform::start`] with `extras` (the sandbox's test hooks).
    ///
    /// # Errors
    /// A store, bus or listener that cannot be opened.
    pub async fn start_with(config: Config, extras: PlatformExtras) -> anyhow::Result<Self> {
        let Backends {
            players,
            settings: settings_store,
            allowlist_store,
            track_cache,
            presence,
            ledger,
            gateway_sessions,
            playlists,
            accounts,
            link_states,
            bus,
        } = backends(&config).await?;
        let key =
            PublicKey::from_hex(&config.public_key).context("config: DISCORD_PUBLIC_KEY is not a valid Ed25519 key")?;
        let discord = discord_rest(&config)?;
        let allowlist = Arc::new(allowlist(&config, allowlist_store, discord.clone())?);
        // Discovered once: the handler searches with the same clients the
        // players open tracks with.
        let sources_api = config.sources.api(SafeHttpClient::new(config.outbound.clone()));
        let mut sources = config.sources.connect(&sources_api).await;
        if config.sources.service_links {
            let spotify = spotify_credentials(&config).await;
            sources.links = config.sources.link_resolver(&sources_api, spotify);
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let stores = LinkStores { link_states, accounts, playlists: playlists.clone() };
        let links = account_links(&config, addr, stores, discord.clone()).await?;
        let mut handler = InteractionHandler::new(bus.clone(), Arc::new(SystemClock), key, config.application_id)
            .with_allowlist(allowlist.clone())
            .with_player_store(players.clone())
            .with_settings_store(settings_store.clone())
            .with_playlist_store(playlists.clone())
            .with_search(sources.search());
        if let Some(links) = &links {
            handler = handler.with_links(links.clone());
        }
        let handler = Arc::new(handler);
        let health = Health::new();
        let player_stats = PlayerStats::new();
        let admin_token = admin_token(&config).await?;

        let shutdown = CancellationToken::new();
        let admin = crate::admin_http::admin_router(AdminApi::new(allowlist.clone()), admin_token);
        let app = crate::http_server::router(handler.clone(), health.clone(), player_stats.clone())
            .merge(crate::http_server::oauth_router(links))
            .merge(admin);
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
            access_watch: AccessWatchSettings {
                leave_revoked_guild_after: config.leave_revoked_guild_after,
                ..AccessWatchSettings::default()
            },
            ytdlp: config.ytdlp.clone(),
            soundcloud: config.soundcloud,
            players: timmybot_voice::PlayersConfig {
                max_live_session: config.max_live_session,
                ..extras.players.clone()
            },
            sources,
            identify: config.identify,
        };
        let deps = GatewayDeps {
            bus,
            players,
            settings: settings_store,
            ledger,
            gateway_interactions,
            health: health.clone(),
            // An open bot has nothing to revoke.
            allowlist: (config.allowlist.mode == AllowlistMode::Allowlist).then_some(allowlist),
            discord: Some(discord),
            // CloudWatch reads EMF lines from the task's stdout.
            metrics: config.metrics.then(|| {
                let sink = extras.metrics_sink.clone().unwrap_or_else(|| Arc::new(StdoutSink));
                Arc::new(EmfEmitter::new(sink, Arc::new(SystemClock))) as Arc<dyn MetricsRecorder>
            }),
            player_stats,
            track_cache: Some(track_cache.clone()),
            scale_to_zero: match &config.scale_to_zero {
                Some(scale) => Some(timmybot_gateway::ScaleToZero {
                    scaler: crate::aws::ecs_scaler(&scale.cluster, &scale.service).await,
                    presence,
                    idle_stop_after: scale.idle_stop_after,
                }),
                None => None,
            },
            sessions: Some(gateway_sessions),
            playlists: Some(playlists),
        };
        let gateway = tokio::spawn(timmybot_gateway::run(settings, deps, shutdown.clone()));
        Ok(Self { addr, health, track_cache, shutdown, gateway, http })
    }

    /// The address the HTTP server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The track cache the configuration names: the `track_cache` table of
    /// the SQLite file, or the DynamoDB track cache table. The same one the
    /// players and the interactions handler are to resolve links through.
    pub fn track_cache(&self) -> Arc<dyn TrackCache> {
        self.track_cache.clone()
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

    /// Whether the gateway service ended (an error, or the idle stop of
    /// scale to zero).
    pub fn gateway_finished(&self) -> bool {
        self.gateway.is_finished()
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

/// The store and bus adapters the configuration names.
struct Backends {
    players: Arc<dyn PlayerStore>,
    settings: Arc<dyn SettingsStore>,
    allowlist_store: Arc<dyn AllowlistStore>,
    track_cache: Arc<dyn TrackCache>,
    /// The gateway's heartbeat and starting marker, in the same store.
    presence: Arc<dyn GatewayPresence>,
    ledger: Arc<dyn CommandLedger>,
    gateway_sessions: Arc<dyn GatewaySessionStore>,
    /// Members' playlists (the SQLite file, or the DynamoDB users table).
    playlists: Arc<dyn PlaylistStore>,
    /// Members' linked accounts and pending links (the same store).
    accounts: Arc<dyn AccountStore>,
    link_states: Arc<dyn LinkStateStore>,
    bus: Arc<dyn CommandBus>,
}

async fn backends(config: &Config) -> anyhow::Result<Backends> {
    type Stores = (
        Arc<dyn PlayerStore>,
        Arc<dyn SettingsStore>,
        Arc<dyn AllowlistStore>,
        Arc<dyn TrackCache>,
        Arc<dyn GatewayPresence>,
        Arc<dyn CommandLedger>,
        Arc<dyn GatewaySessionStore>,
        Arc<dyn PlaylistStore>,
        Arc<dyn AccountStore>,
        Arc<dyn LinkStateStore>,
    );
    let (
        players,
        settings,
        allowlist_store,
        track_cache,
        presence,
        ledger,
        gateway_sessions,
        playlists,
        accounts,
        link_states,
    ): Stores = match &config.store {
        StoreBackend::Sqlite => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("could not create data folder {}", config.data_dir.display()))?;
            let path = config.data_dir.join("timmybot.db");
            let store = timmybot_embedded::SqliteStore::open(&path)
                .with_context(|| format!("could not open {}", path.display()))?;
            (
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store),
            )
        }
        StoreBackend::DynamoDb { guilds_table, queues_table, track_cache_table, users_table } => {
            let store = crate::aws::dynamo_store(timmybot_aws::DynamoTables {
                guilds: guilds_table.clone(),
                guild_queues: queues_table.clone(),
                track_cache: track_cache_table.clone(),
                users: users_table.clone(),
            })
            .await;
            (
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                Arc::new(store),
            )
        }
    };
    let bus: Arc<dyn CommandBus> = match &config.bus {
        BusBackend::InProcess => Arc::new(timmybot_embedded::InProcessBus::new()),
        BusBackend::Sqs { queue_url } => crate::aws::sqs_bus(queue_url).await,
    };
    Ok(Backends {
        players,
        settings,
        allowlist_store,
        track_cache,
        presence,
        ledger,
        gateway_sessions,
        playlists,
        accounts,
        link_states,
        bus,
    })
}

/// How long one Discord REST call may take: the allowlist calls Discord
/// while answering an interaction, which Discord gives 3 s.
const DISCORD_REST_TIMEOUT: Duration = Duration::from_secs(2);

/// Discord's REST API as the bot, at the fake's address when one is set.
fn discord_rest(config: &Config) -> anyhow::Result<Arc<dyn DiscordRest>> {
    let base = match &config.endpoints.rest_proxy {
        Some(proxy) => format!("http://{proxy}/api/v10/"),
        None => "https://discord.com/api/v10/".to_owned(),
    };
    let base = url::Url::parse(&base).context("config: TIMMYBOT_DISCORD_REST_PROXY is not a host:port")?;
    let client = DiscordRestClient::new(base, config.discord_token.clone(), DISCORD_REST_TIMEOUT)
        .context("could not build the Discord REST client")?;
    Ok(Arc::new(client))
}

/// The allowlist workflow, telling people through Discord and the webhook.
fn allowlist(
    config: &Config,
    store: Arc<dyn AllowlistStore>,
    discord: Arc<dyn DiscordRest>,
) -> anyhow::Result<Allowlist> {
    let mut allowlist = Allowlist::new(store, Arc::new(SystemClock), config.allowlist.clone()).with_discord(discord);
    if let Some(url) = &config.allowlist_webhook {
        let url = url::Url::parse(url.expose())
            .map_err(|_| anyhow::anyhow!("config: TIMMYBOT_ALLOWLIST_WEBHOOK_URL is not a URL"))?;
        let webhook = JsonWebhook::new(url, Duration::from_secs(2)).context("could not build the allowlist webhook")?;
        allowlist = allowlist.with_webhook(Arc::new(webhook));
    }
    Ok(allowlist)
}

/// The admin token from the local secret store; `None` (the admin API is
/// off) when there is no secrets file or it has no token.
async fn admin_token(config: &Config) -> anyhow::Result<Option<Secret>> {
    if !config.secrets_file.exists() {
        info!("no secrets file: the admin API is off");
        return Ok(None);
    }
    let secrets = FileSecretStore::open(&config.secrets_file)?;
    match secrets.get(ADMIN_TOKEN_SECRET).await {
        Ok(token) if !token.expose().trim().is_empty() => {
            info!("admin API on at /admin/allowlist");
            Ok(Some(token))
        }
        Ok(_) | Err(SecretError::NotFound(_)) => {
            info!("no admin token in the secrets file: the admin API is off");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The entry, of the secrets file or of the application secret on AWS,
/// with the Spotify app's client id.
pub const SPOTIFY_CLIENT_ID_SECRET: &str = "spotify-client-id";
/// The entry with the Spotify app's client secret.
pub const SPOTIFY_CLIENT_SECRET_SECRET: &str = "spotify-client-secret";

/// The Spotify app's credentials from the secret store the configuration
/// names; `None` (Spotify links refused as not set up) when there are none.
/// A store that cannot be read is logged, not fatal: only Spotify links
/// depend on it.
async fn spotify_credentials(config: &Config) -> Option<timmybot_sources::links::SpotifyCredentials> {
    let store = secret_store(config, "Spotify links").await?;
    let read = |name: &'static str| read_secret(store.clone(), name);
    match (read(SPOTIFY_CLIENT_ID_SECRET).await, read(SPOTIFY_CLIENT_SECRET_SECRET).await) {
        (Some(id), Some(secret)) => {
            info!("Spotify links on (client credentials found)");
            Some(timmybot_sources::links::SpotifyCredentials::new(id, secret))
        }
        _ => {
            info!("no Spotify client id and secret in the secret store: Spotify links are not set up");
            None
        }
    }
}

/// The secret store the configuration names (the secrets file, or the
/// application secret on AWS); `None`, logged, when there is none, so that
/// `what` is off.
async fn secret_store(config: &Config, what: &str) -> Option<Arc<dyn SecretStore>> {
    match &config.spotify_secrets {
        SpotifySecrets::File => {
            if !config.secrets_file.exists() {
                info!("no secrets file: {what} not set up");
                return None;
            }
            match FileSecretStore::open(&config.secrets_file) {
                Ok(store) => Some(Arc::new(store)),
                Err(error) => {
                    warn!(%error, "the secrets file cannot be read: {what} not set up");
                    None
                }
            }
        }
        SpotifySecrets::AppSecret { secret_id } => Some(Arc::new(crate::aws::app_secret(secret_id).await)),
    }
}

/// The trimmed entry `name`; `None` when missing, empty or unreadable
/// (logged by name, never by value).
async fn read_secret(store: Arc<dyn SecretStore>, name: &'static str) -> Option<String> {
    match store.get(name).await {
        Ok(value) if !value.expose().trim().is_empty() => Some(value.expose().trim().to_owned()),
        Ok(_) | Err(SecretError::NotFound(_)) => None,
        Err(error) => {
            // The error names the secret, never its value.
            warn!(%error, "reading a secret failed");
            None
        }
    }
}

/// The entry with the key ring that seals members' tokens.
pub const TOKEN_ENCRYPTION_KEY_SECRET: &str = "token-encryption-key";

/// The stores account links need.
struct LinkStores {
    link_states: Arc<dyn LinkStateStore>,
    accounts: Arc<dyn AccountStore>,
    playlists: Arc<dyn PlaylistStore>,
}

/// Members' account links, when the secret store holds the Spotify app's
/// client id and a token encryption key; `None` (logged) otherwise. The
/// callback is at the public address, or at `addr` on loopback.
///
/// # Errors
/// A token encryption key that is there but malformed (the error never
/// quotes it).
async fn account_links(
    config: &Config,
    addr: SocketAddr,
    stores: LinkStores,
    discord: Arc<dyn DiscordRest>,
) -> anyhow::Result<Option<Arc<AccountLinks>>> {
    let Some(secrets) = secret_store(config, "account links are").await else { return Ok(None) };
    let (Some(client_id), Some(key)) = (
        read_secret(secrets.clone(), SPOTIFY_CLIENT_ID_SECRET).await,
        read_secret(secrets, TOKEN_ENCRYPTION_KEY_SECRET).await,
    ) else {
        info!("no spotify-client-id or token-encryption-key in the secret store: account links are not set up");
        return Ok(None);
    };
    let ring = KeyRing::from_secret(&Secret::new(key)).context("the token-encryption-key secret")?;
    let base = match &config.linking.public_url {
        Some(url) => url.clone(),
        None => {
            let port = addr.port();
            url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a loopback address parses")
        }
    };
    let http = SafeHttpClient::new(config.outbound.clone());
    let mut spotify = SpotifyLinking::new(http, client_id, &base, config.linking.spotify_development_mode)
        .context("TIMMYBOT_PUBLIC_URL cannot take the callback's path")?;
    if let Some((accounts, api)) = &config.linking.spotify_bases {
        spotify = spotify.with_bases(accounts.clone(), api.clone());
    }
    info!(callback = %base.join(SPOTIFY_CALLBACK_PATH).expect("joins"), "Spotify account links on");
    let links = AccountLinks::new(
        stores.link_states,
        stores.accounts,
        stores.playlists,
        TokenVault::new(ring),
        Arc::new(SystemClock),
    )
    .with_spotify(spotify)
    .with_discord(discord);
    Ok(Some(Arc::new(links)))
}
