//! The binary's configuration, read once from the environment.
//!
//! This is the only file that reads environment variables. Every field's doc
//! names its variable and default; [`Config::from_lookup`] takes a lookup
//! function so tests never touch the process environment.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use timmybot_allowlist::AllowlistSettings;
use timmybot_core::{ApplicationId, Secret};
use timmybot_gateway::DiscordEndpoints;
use timmybot_outbound::{AllowList, OutboundPolicy};
use timmybot_sources::SourcesConfig;

/// A configuration value is missing or invalid; names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config: {} {}", self.var, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// Which store adapter holds guild data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// SQLite file under the data folder (the embedded default).
    Sqlite,
    /// DynamoDB tables.
    DynamoDb {
        /// Table holding guild records (allowlist, settings).
        guilds_table: String,
        /// Table holding guild queues.
        queues_table: String,
        /// Table holding the track cache (global, not per guild).
        track_cache_table: String,
        /// Table holding members' linked accounts and playlists
        /// (partitioned by member).
        users_table: String,
    },
}

/// Which command bus adapter carries commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusBackend {
    /// A channel inside this process (the embedded default).
    InProcess,
    /// An SQS FIFO queue.
    Sqs {
        /// The queue URL.
        queue_url: String,
    },
}

/// What talking to Discord's REST API needs (`register-commands`).
#[derive(Debug, Clone)]
pub struct DiscordAccess {
    /// `DISCORD_TOKEN` (required).
    pub token: Secret,
    /// `DISCORD_APPLICATION_ID` (required).
    pub application_id: ApplicationId,
    /// `TIMMYBOT_DISCORD_REST_PROXY` / `TIMMYBOT_DISCORD_GATEWAY_URL` (default: unset).
    pub endpoints: DiscordEndpoints,
}

impl DiscordAccess {
    /// Reads the Discord credentials from the process environment.
    ///
    /// # Errors
    /// The first missing or invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the Discord credentials through `lookup`.
    ///
    /// # Errors
    /// The first missing or invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let token = Secret::new(
            get("DISCORD_TOKEN").ok_or(ConfigError { var: "DISCORD_TOKEN", problem: "is missing".into() })?,
        );
        let application_id = get("DISCORD_APPLICATION_ID")
            .ok_or(ConfigError { var: "DISCORD_APPLICATION_ID", problem: "is missing".into() })?
            .parse()
            .map_err(|_| ConfigError {
                var: "DISCORD_APPLICATION_ID",
                problem: "is not a Discord id (digits only)".into(),
            })?;
        let endpoints = DiscordEndpoints {
            rest_proxy: get("TIMMYBOT_DISCORD_REST_PROXY"),
            gateway_url: get("TIMMYBOT_DISCORD_GATEWAY_URL"),
        };
        Ok(Self { token, application_id, endpoints })
    }
}

/// The variables `timmybot serve` cannot start without.
pub const REQUIRED_VARS: [&str; 3] = ["DISCORD_TOKEN", "DISCORD_APPLICATION_ID", "DISCORD_PUBLIC_KEY"];

/// Every other variable [`Config::from_lookup`] reads. A test records what
/// `from_lookup` asks for and checks it is exactly these two lists, and the
/// CDK stack may set nothing outside them (see `infra-cdk/deploy-contract.json`).
pub const OPTIONAL_VARS: [&str; 40] = [
    "TIMMYBOT_INTERACTIONS_ENDPOINT",
    "TIMMYBOT_LISTEN",
    "TIMMYBOT_DATA_DIR",
    "TIMMYBOT_MEDIA_DIR",
    "TIMMYBOT_STORE",
    "TIMMYBOT_TABLE_GUILDS",
    "TIMMYBOT_TABLE_GUILD_QUEUES",
    "TIMMYBOT_TABLE_TRACK_CACHE",
    "TIMMYBOT_TABLE_USERS",
    "TIMMYBOT_BUS",
    "TIMMYBOT_COMMAND_QUEUE_URL",
    "TIMMYBOT_DISCORD_REST_PROXY",
    "TIMMYBOT_DISCORD_GATEWAY_URL",
    "TIMMYBOT_OUTBOUND_ALLOW",
    timmybot_allowlist::MODE_VAR,
    timmybot_allowlist::COOLDOWN_DAYS_VAR,
    timmybot_allowlist::MAINTAINER_IDS_VAR,
    timmybot_allowlist::MAINTAINERS_CHANNEL_VAR,
    "TIMMYBOT_ALLOWLIST_WEBHOOK_URL",
    "TIMMYBOT_LEAVE_REVOKED_GUILD_AFTER_SECS",
    "TIMMYBOT_SECRETS_FILE",
    "TIMMYBOT_METRICS",
    "TIMMYBOT_YTDLP",
    "TIMMYBOT_MAX_LIVE_SECS",
    "TIMMYBOT_SOUNDCLOUD",
    "TIMMYBOT_PUBLIC_URL",
    "TIMMYBOT_SPOTIFY_DEVELOPMENT_MODE",
    "TIMMYBOT_IDENTIFY_RESERVE",
    "TIMMYBOT_IDENTIFY_HOURLY_LIMIT",
    timmybot_sources::config::VARS[0],
    timmybot_sources::config::VARS[1],
    timmybot_sources::config::VARS[2],
    timmybot_sources::config::VARS[3],
    timmybot_sources::config::VARS[4],
    timmybot_sources::config::VARS[5],
    timmybot_sources::config::VARS[6],
    APP_SECRET_VAR,
    GATEWAY_CLUSTER_VAR,
    GATEWAY_SERVICE_VAR,
    IDLE_STOP_MINUTES_VAR,
];

/// The ECS cluster of the gateway service, for scale to zero.
pub const GATEWAY_CLUSTER_VAR: &str = "TIMMYBOT_GATEWAY_CLUSTER";
/// The gateway's ECS service (set with [`GATEWAY_CLUSTER_VAR`], both or
/// neither).
pub const GATEWAY_SERVICE_VAR: &str = "TIMMYBOT_GATEWAY_SERVICE";
/// Minutes without voice and commands before the gateway stops itself.
pub const IDLE_STOP_MINUTES_VAR: &str = "TIMMYBOT_IDLE_STOP_MINUTES";

/// Scale to zero on ECS: the service the gateway runs as, which it stops
/// when idle (see `timmybot_gateway::idle_stop`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleToZeroConfig {
    /// `TIMMYBOT_GATEWAY_CLUSTER`: the ECS cluster (name or ARN).
    pub cluster: String,
    /// `TIMMYBOT_GATEWAY_SERVICE`: the ECS service (name or ARN).
    pub service: String,
    /// `TIMMYBOT_IDLE_STOP_MINUTES` (default 10): how long the bot is in no
    /// voice channel, with nothing on the bus, before it stops itself.
    pub idle_stop_after: Duration,
}

/// The variable naming the application secret (its name or ARN): the one
/// Secrets Manager secret whose value is a JSON object with the same
/// entries as the local secrets file, as the Lambdas name theirs. The
/// gateway reads its `spotify-client-id` and `spotify-client-secret`
/// entries from it; the bot token and the public key reach it as
/// `DISCORD_TOKEN` and `DISCORD_PUBLIC_KEY`, which ECS fills from the
/// same secret's `discord-token` and `discord-public-key` entries.
pub const APP_SECRET_VAR: &str = "TIMMYBOT_APP_SECRET";

/// Members linking their own Spotify account. On when the secret store
/// holds the app's `spotify-client-id` and a `token-encryption-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkingConfig {
    /// `TIMMYBOT_PUBLIC_URL`: the address members' browsers reach this
    /// server at (`https://bot.example.org`); the Spotify app's redirect
    /// URI is it + `/oauth/spotify/callback`. Unset, the loopback address
    /// the server listens on (`http://127.0.0.1:<port>`, which Spotify
    /// accepts for a server on the member's own machine).
    pub public_url: Option<url::Url>,
    /// `TIMMYBOT_SPOTIFY_DEVELOPMENT_MODE` = `on` (default) | `off`: the
    /// Spotify app is in Development Mode (5 users, grants end after six
    /// months; `/links` says when). `off` once Spotify extended it.
    pub spotify_development_mode: bool,
    /// Where Spotify's accounts service and Web API (`…/v1/`) are instead
    /// of Spotify. No variable sets it: the sandbox points it at its fake.
    pub spotify_bases: Option<(url::Url, url::Url)>,
}

impl Default for LinkingConfig {
    fn default() -> Self {
        Self { public_url: None, spotify_development_mode: true, spotify_bases: None }
    }
}

/// Where the Spotify app's credentials are read from: the
/// `spotify-client-id` and `spotify-client-secret` entries of one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpotifySecrets {
    /// The local secrets file (the default).
    File,
    /// The application secret on Secrets Manager (`TIMMYBOT_APP_SECRET`).
    AppSecret {
        /// The secret's name or ARN.
        secret_id: String,
    },
}

/// `TIMMYBOT_LISTEN` (default `127.0.0.1:8080`) alone, for
/// `timmybot healthcheck`, which must not need the Discord credentials.
///
/// # Errors
/// The variable is not a socket address.
pub fn listen_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<SocketAddr, ConfigError> {
    match lookup("TIMMYBOT_LISTEN").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) => v.parse().map_err(|_| ConfigError {
            var: "TIMMYBOT_LISTEN",
            problem: "is not an address like 127.0.0.1:8080".into(),
        }),
        None => Ok(SocketAddr::from(([127, 0, 0, 1], 8080))),
    }
}

/// Everything `timmybot serve` needs.
#[derive(Clone)]
pub struct Config {
    /// `DISCORD_TOKEN` (required): the bot token.
    pub discord_token: Secret,
    /// `DISCORD_APPLICATION_ID` (required): the application id.
    pub application_id: ApplicationId,
    /// `DISCORD_PUBLIC_KEY` (required): hex Ed25519 key that signs interactions.
    pub public_key: String,
    /// `TIMMYBOT_INTERACTIONS_ENDPOINT` (default: unset). The public URL
    /// Discord posts interactions to. Unset: interactions are taken from the
    /// gateway (INTERACTION_CREATE) instead, which needs no public URL.
    pub interactions_endpoint: Option<String>,
    /// `TIMMYBOT_LISTEN` (default `127.0.0.1:8080`): address of the HTTP
    /// server (`POST /interactions`, `GET /health`).
    pub listen: SocketAddr,
    /// `TIMMYBOT_DATA_DIR` (default `./data`): where the SQLite file lives.
    pub data_dir: PathBuf,
    /// `TIMMYBOT_MEDIA_DIR` (default: unset, local files disabled): folder
    /// `/play` may read files from.
    pub media_dir: Option<PathBuf>,
    /// `TIMMYBOT_STORE` = `sqlite` (default) | `dynamodb`, with
    /// `TIMMYBOT_TABLE_GUILDS` (default `timmybot-guilds`),
    /// `TIMMYBOT_TABLE_GUILD_QUEUES` (default `timmybot-guild-queues`) and
    /// `TIMMYBOT_TABLE_TRACK_CACHE` (default `timmybot-track-cache`) and
    /// `TIMMYBOT_TABLE_USERS` (default `timmybot-users`: members'
    /// playlists). The store holds the track cache too (SQLite: a table in
    /// the same file).
    pub store: StoreBackend,
    /// `TIMMYBOT_BUS` = `in-process` (default) | `sqs`, with
    /// `TIMMYBOT_COMMAND_QUEUE_URL` (required for `sqs`).
    pub bus: BusBackend,
    /// `TIMMYBOT_DISCORD_REST_PROXY` and `TIMMYBOT_DISCORD_GATEWAY_URL`
    /// (default: unset, the real Discord): stand-ins used by the sandbox.
    pub endpoints: DiscordEndpoints,
    /// What `/play <link>` may reach. `TIMMYBOT_OUTBOUND_ALLOW` (default:
    /// empty, every internal address refused) lists hosts and CIDRs a
    /// self-hoster opens on purpose, e.g. `radio.lan,192.168.1.0/24`; the
    /// cloud metadata addresses stay refused whatever it says.
    pub outbound: OutboundPolicy,
    /// The allowlist: `TIMMYBOT_ALLOWLIST_MODE` = `allowlist` (default: only
    /// approved guilds) | `open` (every guild, for a private bot);
    /// `TIMMYBOT_ALLOWLIST_COOLDOWN_DAYS` (default 7) before a denied guild
    /// may ask again; `TIMMYBOT_MAINTAINER_IDS` (comma-separated user ids
    /// whose Approve / Deny presses count); `TIMMYBOT_MAINTAINERS_CHANNEL_ID`
    /// (where requests are announced; default: unset, not announced).
    pub allowlist: AllowlistSettings,
    /// `TIMMYBOT_ALLOWLIST_WEBHOOK_URL` (default: unset): also POST each
    /// request and decision as JSON here.
    pub allowlist_webhook: Option<Secret>,
    /// `TIMMYBOT_LEAVE_REVOKED_GUILD_AFTER_SECS` (default: unset, stay): leave a
    /// revoked guild after this grace period.
    pub leave_revoked_guild_after: Option<Duration>,
    /// `TIMMYBOT_SECRETS_FILE` (default `<data dir>/secrets`): the local
    /// secret store, a 0600 file; its `admin-token` entry turns on
    /// `/admin/allowlist`. A missing file leaves the admin API off.
    pub secrets_file: PathBuf,
    /// `TIMMYBOT_METRICS` = `off` (default) | `emf`: print CloudWatch
    /// Embedded Metric Format lines to stdout (the AWS deployment sets `emf`;
    /// CloudWatch Logs turns them into metrics, no agent needed).
    pub metrics: bool,
    /// `TIMMYBOT_YTDLP` (default: unset, YouTube links refused): the yt-dlp
    /// executable that resolves YouTube links to their audio stream.
    pub ytdlp: Option<PathBuf>,
    /// `TIMMYBOT_MAX_LIVE_SECS` (default 14400, 4 hours): how long a live
    /// stream (a radio) plays before the queue moves on; a stream has no
    /// end of its own.
    pub max_live_session: Duration,
    /// The guards on Discord's daily identify allowance:
    /// `TIMMYBOT_IDENTIFY_RESERVE` (default: unset, `max(2 × shards, 5 % of
    /// the daily total)`), the session starts that must be left for a start
    /// to identify; `TIMMYBOT_IDENTIFY_HOURLY_LIMIT` (default 12), the
    /// identifies per shard this deployment may make in an hour.
    pub identify: timmybot_gateway::IdentifySettings,
    /// `TIMMYBOT_SOUNDCLOUD` = `off` (default) | `on`: SoundCloud track
    /// links played through yt-dlp (needs `TIMMYBOT_YTDLP`). Off, they are
    /// refused.
    pub soundcloud: bool,
    /// Which sources are on and where their APIs are (`TIMMYBOT_RADIO`,
    /// `TIMMYBOT_AUDIUS`, `TIMMYBOT_SERVICE_LINKS`, …; see [`SourcesConfig`]).
    pub sources: SourcesConfig,
    /// Where the Spotify app's credentials are: the `spotify-client-id` and
    /// `spotify-client-secret` entries of the secrets file (default), or of
    /// the application secret when `TIMMYBOT_APP_SECRET` names it. Without
    /// credentials Spotify links are refused as not set up.
    pub spotify_secrets: SpotifySecrets,
    /// Members linking their own accounts (`/link`): see [`LinkingConfig`].
    pub linking: LinkingConfig,
    /// `TIMMYBOT_GATEWAY_CLUSTER` and `TIMMYBOT_GATEWAY_SERVICE` (default:
    /// both unset, off): the gateway writes a heartbeat for the
    /// interactions Lambda and stops its ECS service after
    /// `TIMMYBOT_IDLE_STOP_MINUTES` idle. Off, nothing of this happens.
    pub scale_to_zero: Option<ScaleToZeroConfig>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("discord_token", &self.discord_token)
            .field("application_id", &self.application_id)
            .field("public_key", &self.public_key)
            .field("interactions_endpoint", &self.interactions_endpoint)
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("media_dir", &self.media_dir)
            .field("store", &self.store)
            .field("bus", &self.bus)
            .field("endpoints", &self.endpoints)
            .field("outbound", &self.outbound)
            .field("allowlist", &self.allowlist)
            .field("allowlist_webhook", &self.allowlist_webhook)
            .field("leave_revoked_guild_after", &self.leave_revoked_guild_after)
            .field("secrets_file", &self.secrets_file)
            .field("metrics", &self.metrics)
            .field("ytdlp", &self.ytdlp)
            .field("max_live_session", &self.max_live_session)
            .field("identify", &self.identify)
            .field("soundcloud", &self.soundcloud)
            .field("sources", &self.sources)
            .field("spotify_secrets", &self.spotify_secrets)
            .field("linking", &self.linking)
            .field("scale_to_zero", &self.scale_to_zero)
            .finish()
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// The first missing or invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (name → value).
    ///
    /// # Errors
    /// The first missing or invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let DiscordAccess { token: discord_token, application_id, endpoints } = DiscordAccess::from_lookup(&lookup)?;
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let required = |var: &'static str| get(var).ok_or(ConfigError { var, problem: "is missing".into() });
        let invalid = |var: &'static str, problem: &str| ConfigError { var, problem: problem.to_owned() };

        let public_key = required("DISCORD_PUBLIC_KEY")?;
        if public_key.len() != 64 || !public_key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("DISCORD_PUBLIC_KEY", "is not 64 hex characters"));
        }
        let listen = listen_from_lookup(&lookup)?;
        let store = match get("TIMMYBOT_STORE").as_deref() {
            None | Some("sqlite") => StoreBackend::Sqlite,
            Some("dynamodb") => StoreBackend::DynamoDb {
                guilds_table: get("TIMMYBOT_TABLE_GUILDS").unwrap_or_else(|| "timmybot-guilds".into()),
                queues_table: get("TIMMYBOT_TABLE_GUILD_QUEUES").unwrap_or_else(|| "timmybot-guild-queues".into()),
                track_cache_table: get("TIMMYBOT_TABLE_TRACK_CACHE").unwrap_or_else(|| "timmybot-track-cache".into()),
                users_table: get("TIMMYBOT_TABLE_USERS").unwrap_or_else(|| "timmybot-users".into()),
            },
            Some(_) => return Err(invalid("TIMMYBOT_STORE", "must be sqlite or dynamodb")),
        };
        let bus = match get("TIMMYBOT_BUS").as_deref() {
            None | Some("in-process") => BusBackend::InProcess,
            Some("sqs") => BusBackend::Sqs { queue_url: required("TIMMYBOT_COMMAND_QUEUE_URL")? },
            Some(_) => return Err(invalid("TIMMYBOT_BUS", "must be in-process or sqs")),
        };
        let outbound = match get("TIMMYBOT_OUTBOUND_ALLOW") {
            Some(list) => OutboundPolicy {
                allow: list.parse::<AllowList>().map_err(|e| {
                    invalid("TIMMYBOT_OUTBOUND_ALLOW", &format!("is not a list of hosts and CIDRs ({e})"))
                })?,
                ..OutboundPolicy::default()
            },
            None => OutboundPolicy::default(),
        };
        let allowlist =
            AllowlistSettings::from_lookup(get).map_err(|e| ConfigError { var: e.var, problem: e.problem })?;
        let leave_revoked_guild_after = get("TIMMYBOT_LEAVE_REVOKED_GUILD_AFTER_SECS")
            .map(|v| {
                v.parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| invalid("TIMMYBOT_LEAVE_REVOKED_GUILD_AFTER_SECS", "is not a number of seconds"))
            })
            .transpose()?;
        let metrics = match get("TIMMYBOT_METRICS").as_deref() {
            None | Some("off") => false,
            Some("emf") => true,
            Some(_) => return Err(invalid("TIMMYBOT_METRICS", "must be off or emf")),
        };
        let ytdlp = get("TIMMYBOT_YTDLP").map(PathBuf::from);
        let soundcloud = match get("TIMMYBOT_SOUNDCLOUD").as_deref() {
            None | Some("off") => false,
            Some("on") if ytdlp.is_some() => true,
            Some("on") => return Err(invalid("TIMMYBOT_SOUNDCLOUD", "is on, which needs TIMMYBOT_YTDLP to be set")),
            Some(_) => return Err(invalid("TIMMYBOT_SOUNDCLOUD", "must be on or off")),
        };
        let sources =
            SourcesConfig::from_lookup(&lookup).map_err(|e| ConfigError { var: e.var, problem: e.problem })?;
        let spotify_secrets = match get(APP_SECRET_VAR) {
            None => SpotifySecrets::File,
            Some(secret_id) => SpotifySecrets::AppSecret { secret_id },
        };
        let max_live_session = match get("TIMMYBOT_MAX_LIVE_SECS") {
            None => timmybot_voice::PlayersConfig::default().max_live_session,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|secs| *secs > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| invalid("TIMMYBOT_MAX_LIVE_SECS", "is not a positive number of seconds"))?,
        };
        let idle_stop_after = match get(IDLE_STOP_MINUTES_VAR) {
            None => timmybot_gateway::DEFAULT_IDLE_STOP_AFTER,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|minutes| (1..=24 * 60).contains(minutes))
                .map(|minutes| Duration::from_secs(minutes * 60))
                .ok_or_else(|| invalid(IDLE_STOP_MINUTES_VAR, "is not a number of minutes from 1 to 1440"))?,
        };
        let scale_to_zero = match (get(GATEWAY_CLUSTER_VAR), get(GATEWAY_SERVICE_VAR)) {
            (None, None) => None,
            (Some(cluster), Some(service)) => Some(ScaleToZeroConfig { cluster, service, idle_stop_after }),
            (Some(_), None) => {
                return Err(invalid(GATEWAY_SERVICE_VAR, &format!("is missing while {GATEWAY_CLUSTER_VAR} is set")));
            }
            (None, Some(_)) => {
                return Err(invalid(GATEWAY_CLUSTER_VAR, &format!("is missing while {GATEWAY_SERVICE_VAR} is set")));
            }
        };
        let identify_reserve = match get("TIMMYBOT_IDENTIFY_RESERVE") {
            None => None,
            Some(v) => Some(
                v.parse::<u32>().map_err(|_| invalid("TIMMYBOT_IDENTIFY_RESERVE", "is not a number of identifies"))?,
            ),
        };
        let identify_hourly =
            match get("TIMMYBOT_IDENTIFY_HOURLY_LIMIT") {
                None => timmybot_gateway::IdentifySettings::default().hourly_per_shard,
                Some(v) => v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    invalid("TIMMYBOT_IDENTIFY_HOURLY_LIMIT", "is not a positive number of identifies")
                })?,
            };
        let identify =
            timmybot_gateway::IdentifySettings { reserve: identify_reserve, hourly_per_shard: identify_hourly };
        let public_url = match get("TIMMYBOT_PUBLIC_URL") {
            None => None,
            Some(v) => Some(
                url::Url::parse(&v)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or_else(|| invalid("TIMMYBOT_PUBLIC_URL", "is not an http(s) address"))?,
            ),
        };
        let spotify_development_mode = match get("TIMMYBOT_SPOTIFY_DEVELOPMENT_MODE").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(_) => return Err(invalid("TIMMYBOT_SPOTIFY_DEVELOPMENT_MODE", "must be on or off")),
        };
        let linking = LinkingConfig { public_url, spotify_development_mode, spotify_bases: None };
        let data_dir = get("TIMMYBOT_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from);
        Ok(Self {
            discord_token,
            application_id,
            public_key,
            interactions_endpoint: get("TIMMYBOT_INTERACTIONS_ENDPOINT"),
            listen,
            secrets_file: get("TIMMYBOT_SECRETS_FILE").map_or_else(|| data_dir.join("secrets"), PathBuf::from),
            data_dir,
            media_dir: get("TIMMYBOT_MEDIA_DIR").map(PathBuf::from),
            store,
            bus,
            endpoints,
            outbound,
            allowlist,
            // A webhook URL often embeds its own credential (Slack, Discord).
            allowlist_webhook: get("TIMMYBOT_ALLOWLIST_WEBHOOK_URL").map(Secret::new),
            leave_revoked_guild_after,
            metrics,
            ytdlp,
            max_live_session,
            identify,
            soundcloud,
            sources,
            spotify_secrets,
            linking,
            scale_to_zero,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const KEY: &str = "a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |k| map.get(k).cloned()
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![("DISCORD_TOKEN", "tok-SECRET-123"), ("DISCORD_APPLICATION_ID", "42"), ("DISCORD_PUBLIC_KEY", KEY)]
    }

    #[test]
    fn minimal_config_uses_embedded_defaults() {
        let config = Config::from_lookup(env(&minimal())).unwrap();
        assert_eq!(config.store, StoreBackend::Sqlite);
        assert_eq!(config.bus, BusBackend::InProcess);
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert!(config.interactions_endpoint.is_none());
        assert!(config.media_dir.is_none());
    }

    #[test]
    fn each_missing_required_value_is_named() {
        for missing in ["DISCORD_TOKEN", "DISCORD_APPLICATION_ID", "DISCORD_PUBLIC_KEY"] {
            let pairs: Vec<_> = minimal().into_iter().filter(|(k, _)| *k != missing).collect();
            let err = Config::from_lookup(env(&pairs)).unwrap_err();
            assert_eq!(err.to_string(), format!("config: {missing} is missing"));
        }
    }

    #[test]
    fn invalid_values_are_named_without_echoing_them() {
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_BUS", "sqs"));
        let err = Config::from_lookup(env(&pairs)).unwrap_err();
        assert_eq!(err.var, "TIMMYBOT_COMMAND_QUEUE_URL");
        let mut pairs = minimal();
        pairs[1] = ("DISCORD_APPLICATION_ID", "not-an-id");
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, "DISCORD_APPLICATION_ID");
        let mut pairs = minimal();
        pairs[2] = ("DISCORD_PUBLIC_KEY", "zz");
        let err = Config::from_lookup(env(&pairs)).unwrap_err();
        assert!(!err.to_string().contains("zz"));
    }

    #[test]
    fn outbound_allowlist_is_read_and_a_bad_entry_is_named() {
        assert!(Config::from_lookup(env(&minimal())).unwrap().outbound.allow.is_empty());
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_OUTBOUND_ALLOW", "radio.lan, 192.168.1.0/24"));
        let allow = Config::from_lookup(env(&pairs)).unwrap().outbound.allow;
        assert!(allow.permits_host("radio.lan"));
        assert!(allow.permits_ip("192.168.1.20".parse().unwrap()));
        assert!(!allow.permits_ip("192.168.2.20".parse().unwrap()));
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_OUTBOUND_ALLOW", "10.0.0.0/99"));
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, "TIMMYBOT_OUTBOUND_ALLOW");
    }

    #[test]
    fn allowlist_defaults_to_allowlist_mode_and_reads_maintainers() {
        use timmybot_allowlist::{AllowlistMode, DEFAULT_COOLDOWN};
        use timmybot_core::{ChannelId, UserId};
        let config = Config::from_lookup(env(&minimal())).unwrap();
        assert_eq!(config.allowlist.mode, AllowlistMode::Allowlist);
        assert_eq!(config.allowlist.cooldown, DEFAULT_COOLDOWN);
        assert!(config.allowlist.maintainers.is_empty());
        assert_eq!(config.secrets_file, PathBuf::from("data/secrets"));
        let mut pairs = minimal();
        pairs.extend([
            ("TIMMYBOT_ALLOWLIST_MODE", "open"),
            ("TIMMYBOT_ALLOWLIST_COOLDOWN_DAYS", "2"),
            ("TIMMYBOT_MAINTAINER_IDS", "11, 22,"),
            ("TIMMYBOT_MAINTAINERS_CHANNEL_ID", "33"),
            ("TIMMYBOT_LEAVE_REVOKED_GUILD_AFTER_SECS", "60"),
        ]);
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(config.allowlist.mode, AllowlistMode::Open);
        assert_eq!(config.allowlist.cooldown, Duration::from_secs(2 * 86_400));
        assert_eq!(config.allowlist.maintainers, [UserId::new(11).unwrap(), UserId::new(22).unwrap()]);
        assert_eq!(config.allowlist.maintainers_channel, ChannelId::new(33));
        assert_eq!(config.leave_revoked_guild_after, Some(Duration::from_secs(60)));
        for (var, value) in [
            ("TIMMYBOT_ALLOWLIST_MODE", "closed"),
            ("TIMMYBOT_ALLOWLIST_COOLDOWN_DAYS", "-1"),
            ("TIMMYBOT_MAINTAINER_IDS", "11,bob"),
            ("TIMMYBOT_MAINTAINERS_CHANNEL_ID", "x"),
            ("TIMMYBOT_LEAVE_REVOKED_GUILD_AFTER_SECS", "soon"),
        ] {
            let mut pairs = minimal();
            pairs.push((var, value));
            assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, var);
        }
    }

    /// Records every variable `from_lookup` asks for across the branches
    /// that read more (DynamoDB store, SQS bus) and checks the declared
    /// lists are exactly that: the lists the deploy contract is made of.
    #[test]
    fn declared_variables_are_exactly_the_ones_read() {
        use std::cell::RefCell;
        use std::collections::BTreeSet;
        let asked = RefCell::new(BTreeSet::new());
        for extra in [
            vec![],
            vec![
                ("TIMMYBOT_STORE", "dynamodb"),
                ("TIMMYBOT_BUS", "sqs"),
                ("TIMMYBOT_COMMAND_QUEUE_URL", "q"),
                (APP_SECRET_VAR, "timmybot/app"),
            ],
        ] {
            let mut pairs = minimal();
            pairs.extend(extra);
            let values = env(&pairs);
            Config::from_lookup(|name: &str| {
                asked.borrow_mut().insert(name.to_owned());
                values(name)
            })
            .unwrap();
        }
        let declared: BTreeSet<String> = REQUIRED_VARS.iter().chain(&OPTIONAL_VARS).map(|v| (*v).to_owned()).collect();
        assert_eq!(asked.into_inner(), declared);
        assert_eq!(declared.len(), REQUIRED_VARS.len() + OPTIONAL_VARS.len(), "a variable is listed twice");
        for var in REQUIRED_VARS {
            let pairs: Vec<_> = minimal().into_iter().filter(|(k, _)| *k != var).collect();
            assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, var);
        }
    }

    #[test]
    fn dynamodb_store_reads_its_four_tables_with_defaults() {
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_STORE", "dynamodb"));
        let defaults = StoreBackend::DynamoDb {
            guilds_table: "timmybot-guilds".into(),
            queues_table: "timmybot-guild-queues".into(),
            track_cache_table: "timmybot-track-cache".into(),
            users_table: "timmybot-users".into(),
        };
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap().store, defaults);
        pairs.extend([
            ("TIMMYBOT_TABLE_GUILDS", "g"),
            ("TIMMYBOT_TABLE_GUILD_QUEUES", "q"),
            ("TIMMYBOT_TABLE_TRACK_CACHE", "Timmybot-TrackCache-1A2B"),
            ("TIMMYBOT_TABLE_USERS", "Timmybot-Users-3C4D"),
        ]);
        let named = StoreBackend::DynamoDb {
            guilds_table: "g".into(),
            queues_table: "q".into(),
            track_cache_table: "Timmybot-TrackCache-1A2B".into(),
            users_table: "Timmybot-Users-3C4D".into(),
        };
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap().store, named);
    }

    #[test]
    fn metrics_and_ytdlp_are_read() {
        let config = Config::from_lookup(env(&minimal())).unwrap();
        assert!(!config.metrics);
        assert_eq!(config.ytdlp, None);
        let mut pairs = minimal();
        pairs.extend([("TIMMYBOT_METRICS", "emf"), ("TIMMYBOT_YTDLP", "/usr/local/bin/yt-dlp")]);
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert!(config.metrics);
        assert_eq!(config.ytdlp, Some(PathBuf::from("/usr/local/bin/yt-dlp")));
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_METRICS", "statsd"));
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, "TIMMYBOT_METRICS");
    }

    #[test]
    fn the_identify_guards_are_read_with_their_defaults() {
        let defaults = Config::from_lookup(env(&minimal())).unwrap().identify;
        assert_eq!(defaults, timmybot_gateway::IdentifySettings { reserve: None, hourly_per_shard: 12 });
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_IDENTIFY_RESERVE", "20"));
        pairs.push(("TIMMYBOT_IDENTIFY_HOURLY_LIMIT", "4"));
        let identify = Config::from_lookup(env(&pairs)).unwrap().identify;
        assert_eq!(identify, timmybot_gateway::IdentifySettings { reserve: Some(20), hourly_per_shard: 4 });
        for (var, bad) in [("TIMMYBOT_IDENTIFY_RESERVE", "-1"), ("TIMMYBOT_IDENTIFY_HOURLY_LIMIT", "0")] {
            let mut pairs = minimal();
            pairs.push((var, bad));
            assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, var, "{bad}");
        }
    }

    #[test]
    fn the_longest_live_session_is_read_and_defaults_to_four_hours() {
        assert_eq!(Config::from_lookup(env(&minimal())).unwrap().max_live_session, Duration::from_secs(14_400));
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_MAX_LIVE_SECS", "600"));
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap().max_live_session, Duration::from_secs(600));
        for bad in ["0", "-5", "1h"] {
            let mut pairs = minimal();
            pairs.push(("TIMMYBOT_MAX_LIVE_SECS", bad));
            assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, "TIMMYBOT_MAX_LIVE_SECS", "{bad}");
        }
    }

    #[test]
    fn soundcloud_is_off_by_default_and_on_only_with_ytdlp() {
        assert!(!Config::from_lookup(env(&minimal())).unwrap().soundcloud);
        let mut pairs = minimal();
        pairs.extend([("TIMMYBOT_SOUNDCLOUD", "on"), ("TIMMYBOT_YTDLP", "/usr/local/bin/yt-dlp")]);
        assert!(Config::from_lookup(env(&pairs)).unwrap().soundcloud);
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_SOUNDCLOUD", "on"));
        let error = Config::from_lookup(env(&pairs)).unwrap_err();
        assert_eq!(error.var, "TIMMYBOT_SOUNDCLOUD");
        assert!(error.problem.contains("TIMMYBOT_YTDLP"), "{}", error.problem);
        let mut pairs = minimal();
        pairs.extend([("TIMMYBOT_SOUNDCLOUD", "yes"), ("TIMMYBOT_YTDLP", "/usr/local/bin/yt-dlp")]);
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, "TIMMYBOT_SOUNDCLOUD");
    }

    #[test]
    fn linking_reads_the_public_address_and_the_development_mode() {
        assert_eq!(Config::from_lookup(env(&minimal())).unwrap().linking, LinkingConfig::default());
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_PUBLIC_URL", "https://bot.example.org"));
        pairs.push(("TIMMYBOT_SPOTIFY_DEVELOPMENT_MODE", "off"));
        let linking = Config::from_lookup(env(&pairs)).unwrap().linking;
        assert_eq!(linking.public_url.unwrap().as_str(), "https://bot.example.org/");
        assert!(!linking.spotify_development_mode);
        for (var, bad) in [("TIMMYBOT_PUBLIC_URL", "ftp://bot.example.org"), ("TIMMYBOT_PUBLIC_URL", "bot.example.org")]
        {
            let mut pairs = minimal();
            pairs.push((var, bad));
            assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, var, "{bad}");
        }
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_SPOTIFY_DEVELOPMENT_MODE", "yes"));
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, "TIMMYBOT_SPOTIFY_DEVELOPMENT_MODE");
    }

    #[test]
    fn spotify_credentials_come_from_the_file_or_the_app_secret() {
        assert_eq!(Config::from_lookup(env(&minimal())).unwrap().spotify_secrets, SpotifySecrets::File);
        let mut pairs = minimal();
        pairs.push((APP_SECRET_VAR, " arn:aws:secretsmanager:eu-west-1:1:secret:timmybot-app "));
        assert_eq!(
            Config::from_lookup(env(&pairs)).unwrap().spotify_secrets,
            SpotifySecrets::AppSecret { secret_id: "arn:aws:secretsmanager:eu-west-1:1:secret:timmybot-app".into() }
        );
        let mut pairs = minimal();
        pairs.push(("TIMMYBOT_SERVICE_LINKS", "off"));
        assert!(!Config::from_lookup(env(&pairs)).unwrap().sources.service_links);
    }

    #[test]
    fn scale_to_zero_is_off_unless_both_cluster_and_service_are_set() {
        assert_eq!(Config::from_lookup(env(&minimal())).unwrap().scale_to_zero, None);
        let mut pairs = minimal();
        pairs.extend([(GATEWAY_CLUSTER_VAR, "timmybot"), (GATEWAY_SERVICE_VAR, "gateway")]);
        assert_eq!(
            Config::from_lookup(env(&pairs)).unwrap().scale_to_zero,
            Some(ScaleToZeroConfig {
                cluster: "timmybot".into(),
                service: "gateway".into(),
                idle_stop_after: Duration::from_secs(600),
            })
        );
        pairs.push((IDLE_STOP_MINUTES_VAR, "3"));
        let idle = Config::from_lookup(env(&pairs)).unwrap().scale_to_zero.unwrap().idle_stop_after;
        assert_eq!(idle, Duration::from_secs(180));
        for bad in ["0", "-1", "2.5", "1441"] {
            let mut pairs = minimal();
            pairs.push((IDLE_STOP_MINUTES_VAR, bad));
            assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, IDLE_STOP_MINUTES_VAR, "{bad}");
        }
        let mut pairs = minimal();
        pairs.push((GATEWAY_CLUSTER_VAR, "timmybot"));
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, GATEWAY_SERVICE_VAR);
        let mut pairs = minimal();
        pairs.push((GATEWAY_SERVICE_VAR, "gateway"));
        assert_eq!(Config::from_lookup(env(&pairs)).unwrap_err().var, GATEWAY_CLUSTER_VAR);
    }

    #[test]
    fn config_debug_redacts_the_token() {
        let config = Config::from_lookup(env(&minimal())).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("tok-SECRET-123"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }
}
