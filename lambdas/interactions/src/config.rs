//! The Lambda's configuration: the only place that reads the environment.

use timmybot_allowlist::AllowlistSettings;
use timmybot_core::{ApplicationId, Secret};
use timmybot_interactions::PublicKey;
pub use timmybot_lambda_common::APP_SECRET_VAR;
use timmybot_lambda_common::{ConfigError, Vars, env_lookup};
use timmybot_sources::SourcesConfig;

/// Environment variable holding the application's hex Ed25519 public key
/// (a local run; the CDK stack puts it in the application secret instead).
pub const PUBLIC_KEY_VAR: &str = "DISCORD_PUBLIC_KEY";
/// Environment variable holding the application (snowflake) id.
pub const APPLICATION_ID_VAR: &str = "DISCORD_APPLICATION_ID";
/// Environment variable holding the SQS FIFO command queue's URL.
pub const COMMAND_QUEUE_URL_VAR: &str = "TIMMYBOT_COMMAND_QUEUE_URL";
/// Environment variable naming the DynamoDB guilds table (the allowlist
/// and the guilds' settings).
pub const TABLE_GUILDS_VAR: &str = "TIMMYBOT_TABLE_GUILDS";
/// Environment variable naming the DynamoDB guild-queues table (the
/// players, read for `/queue`, `/nowplaying` and `/history`).
pub const TABLE_GUILD_QUEUES_VAR: &str = "TIMMYBOT_TABLE_GUILD_QUEUES";
/// Environment variable naming the DynamoDB track cache table (what links
/// and searches resolved to, global, not per guild; autocomplete caches
/// its searches there).
pub const TABLE_TRACK_CACHE_VAR: &str = "TIMMYBOT_TABLE_TRACK_CACHE";
/// Environment variable naming the DynamoDB users table (members'
/// playlists, partitioned by member; optional: without it the playlist
/// commands say they are unavailable).
pub const TABLE_USERS_VAR: &str = "TIMMYBOT_TABLE_USERS";
/// Environment variable with the allowlist webhook URL (optional).
pub const ALLOWLIST_WEBHOOK_URL_VAR: &str = "TIMMYBOT_ALLOWLIST_WEBHOOK_URL";

pub use timmybot_lambda_common::{GATEWAY_CLUSTER_VAR, GATEWAY_SERVICE_VAR, START_CHECK_QUEUE_URL_VAR};
use timmybot_lambda_common::{GATEWAY_SERVICE_VARS, GatewayService};

/// Variables that must all be set.
pub const REQUIRED_VARS: [&str; 5] =
    [APPLICATION_ID_VAR, COMMAND_QUEUE_URL_VAR, TABLE_GUILDS_VAR, TABLE_GUILD_QUEUES_VAR, TABLE_TRACK_CACHE_VAR];
/// Variables of which at least one must be set: the public key inline, or
/// the application secret holding it (inline wins; the secret's
/// `discord-token` entry is read either way when it is set).
pub const ONE_OF_VARS: [&str; 2] = [PUBLIC_KEY_VAR, APP_SECRET_VAR];
/// Variables read when present, besides the allowlist's own
/// ([`timmybot_allowlist::ALLOWLIST_VARS`]) and the sources'
/// ([`timmybot_sources::config::VARS`]).
pub const OPTIONAL_VARS: [&str; 5] = [
    ALLOWLIST_WEBHOOK_URL_VAR,
    TABLE_USERS_VAR,
    GATEWAY_SERVICE_VARS[0],
    GATEWAY_SERVICE_VARS[1],
    GATEWAY_SERVICE_VARS[2],
];

/// Where the public key comes from.
#[derive(Debug, Clone)]
pub enum PublicKeySource {
    /// `DISCORD_PUBLIC_KEY`, checked at once.
    Inline(PublicKey),
    /// The `discord-public-key` entry of the application secret
    /// ([`Config::app_secret`]): read and checked at cold start.
    AppSecret,
}

/// Everything the Lambda needs, validated once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The key Discord signs interactions with: `DISCORD_PUBLIC_KEY`, or
    /// the application secret's `discord-public-key` entry (one of them is
    /// required, no default).
    pub public_key: PublicKeySource,
    /// The application secret's name or ARN (`TIMMYBOT_APP_SECRET`): the
    /// public key when it is not inline, and the `discord-token` entry that
    /// tells maintainers and requesters (optional: without the entry nobody
    /// is told about requests).
    pub app_secret: Option<String>,
    /// The bot's application id (`DISCORD_APPLICATION_ID`, required, no
    /// default); interactions for any other application are refused.
    pub application_id: ApplicationId,
    /// Where voice commands go (`TIMMYBOT_COMMAND_QUEUE_URL`, required, no default).
    pub command_queue_url: String,
    /// The guilds table holding the allowlist and the settings
    /// (`TIMMYBOT_TABLE_GUILDS`, required, no default).
    pub guilds_table: String,
    /// The guild-queues table holding the players, only read here
    /// (`TIMMYBOT_TABLE_GUILD_QUEUES`, required, no default).
    pub queues_table: String,
    /// The track cache table (`TIMMYBOT_TABLE_TRACK_CACHE`, required, no
    /// default).
    pub track_cache_table: String,
    /// The users table holding members' playlists (`TIMMYBOT_TABLE_USERS`,
    /// optional; unset, the playlist commands are unavailable).
    pub users_table: Option<String>,
    /// The allowlist's settings (see [`AllowlistSettings::from_lookup`]).
    pub allowlist: AllowlistSettings,
    /// `TIMMYBOT_ALLOWLIST_WEBHOOK_URL` (optional).
    pub allowlist_webhook: Option<Secret>,
    /// What suggestions and `/search` search ([`SourcesConfig`]'s
    /// variables, all optional: Radio Browser and Audius on, discovered).
    pub sources: SourcesConfig,
    /// The gateway's ECS cluster and service and the start-check queue
    /// (`TIMMYBOT_GATEWAY_CLUSTER`, `TIMMYBOT_GATEWAY_SERVICE`,
    /// `TIMMYBOT_START_CHECK_QUEUE_URL`, all or none; default unset): a
    /// voice command arriving while the gateway's heartbeat is missing
    /// starts the service and sets the start check. Unset, commands are
    /// only published.
    pub gateway_service: Option<GatewayService>,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }

    /// Reads variables through `lookup`, so tests need not touch the real
    /// environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(lookup);
        let app_secret = vars.optional(APP_SECRET_VAR);
        let public_key = match (vars.required(PUBLIC_KEY_VAR), &app_secret) {
            (Ok(hex), _) => PublicKeySource::Inline(
                PublicKey::from_hex(&hex).map_err(|e| ConfigError::invalid(PUBLIC_KEY_VAR, e.to_string()))?,
            ),
            (Err(_), Some(_)) => PublicKeySource::AppSecret,
            (Err(missing), None) => return Err(missing),
        };
        let application_id = vars
            .parsed(APPLICATION_ID_VAR, "expected a snowflake (a positive integer)", str::parse)?
            .ok_or(ConfigError::Missing(APPLICATION_ID_VAR))?;
        let command_queue_url = vars.required(COMMAND_QUEUE_URL_VAR)?;
        if !(command_queue_url.starts_with("https://") || command_queue_url.starts_with("http://")) {
            return Err(ConfigError::invalid(COMMAND_QUEUE_URL_VAR, "expected an http(s) URL"));
        }
        let guilds_table = vars.required(TABLE_GUILDS_VAR)?;
        let queues_table = vars.required(TABLE_GUILD_QUEUES_VAR)?;
        let track_cache_table = vars.required(TABLE_TRACK_CACHE_VAR)?;
        let allowlist =
            AllowlistSettings::from_lookup(vars.lookup()).map_err(|e| ConfigError::invalid(e.var, e.problem))?;
        let sources = SourcesConfig::from_lookup(vars.lookup()).map_err(|e| ConfigError::invalid(e.var, e.problem))?;
        let gateway_service = GatewayService::from_vars(&vars)?;
        Ok(Self {
            public_key,
            app_secret,
            application_id,
            command_queue_url,
            guilds_table,
            queues_table,
            track_cache_table,
            users_table: vars.optional(TABLE_USERS_VAR),
            allowlist,
            allowlist_webhook: vars.optional(ALLOWLIST_WEBHOOK_URL_VAR).map(Secret::new),
            sources,
            gateway_service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61";

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn complete_environment_loads() {
        let config = Config::from_lookup(lookup(&[
            (PUBLIC_KEY_VAR, KEY),
            (APPLICATION_ID_VAR, "123"),
            (COMMAND_QUEUE_URL_VAR, "https://sqs.eu-west-1.amazonaws.com/1/commands.fifo"),
            (TABLE_GUILDS_VAR, "timmybot-guilds"),
            (TABLE_GUILD_QUEUES_VAR, "timmybot-guild-queues"),
            (TABLE_TRACK_CACHE_VAR, "timmybot-track-cache"),
            (TABLE_USERS_VAR, "timmybot-users"),
            ("TIMMYBOT_MAINTAINER_IDS", "7"),
        ]))
        .unwrap();
        assert_eq!(config.users_table.as_deref(), Some("timmybot-users"));
        assert_eq!(config.application_id, ApplicationId::new(123).unwrap());
        assert_eq!(config.guilds_table, "timmybot-guilds");
        assert_eq!(config.queues_table, "timmybot-guild-queues");
        assert_eq!(config.track_cache_table, "timmybot-track-cache");
        assert_eq!(config.allowlist.maintainers, [timmybot_core::UserId::new(7).unwrap()]);
        assert_eq!(config.app_secret, None);
        assert_eq!(config.gateway_service, None);
    }

    #[test]
    fn the_gateway_service_needs_cluster_service_and_start_check_queue() {
        let base = [
            (PUBLIC_KEY_VAR, KEY),
            (APPLICATION_ID_VAR, "123"),
            (COMMAND_QUEUE_URL_VAR, "https://sqs.eu-west-1.amazonaws.com/1/commands.fifo"),
            (TABLE_GUILDS_VAR, "g"),
            (TABLE_GUILD_QUEUES_VAR, "q"),
            (TABLE_TRACK_CACHE_VAR, "t"),
        ];
        let mut all = base.to_vec();
        all.extend([
            (GATEWAY_CLUSTER_VAR, "timmybot"),
            (GATEWAY_SERVICE_VAR, "gateway"),
            (START_CHECK_QUEUE_URL_VAR, "https://sqs.eu-west-1.amazonaws.com/1/start-check"),
        ]);
        let config = Config::from_lookup(lookup(&all)).unwrap();
        assert_eq!(config.users_table, None, "playlists unavailable unless named");
        let gateway = config.gateway_service.unwrap();
        assert_eq!((gateway.cluster.as_str(), gateway.service.as_str()), ("timmybot", "gateway"));
        let mut no_queue = base.to_vec();
        no_queue.extend([(GATEWAY_CLUSTER_VAR, "timmybot"), (GATEWAY_SERVICE_VAR, "gateway")]);
        assert_eq!(
            Config::from_lookup(lookup(&no_queue)).unwrap_err(),
            ConfigError::Missing(START_CHECK_QUEUE_URL_VAR)
        );
    }

    /// Records what `from_lookup` asks for, with the public key inline and
    /// from a secret, and checks the declared lists are exactly that.
    #[test]
    fn declared_variables_are_exactly_the_ones_read() {
        use std::cell::RefCell;
        use std::collections::BTreeSet;
        let asked = RefCell::new(BTreeSet::new());
        for key in [(PUBLIC_KEY_VAR, KEY), (APP_SECRET_VAR, "timmybot/app")] {
            let pairs = [
                key,
                (APPLICATION_ID_VAR, "123"),
                (COMMAND_QUEUE_URL_VAR, "https://sqs.eu-west-1.amazonaws.com/1/commands.fifo"),
                (TABLE_GUILDS_VAR, "timmybot-guilds"),
                (TABLE_GUILD_QUEUES_VAR, "timmybot-guild-queues"),
                (TABLE_TRACK_CACHE_VAR, "timmybot-track-cache"),
            ];
            let values = lookup(&pairs);
            Config::from_lookup(|name: &str| {
                asked.borrow_mut().insert(name.to_owned());
                values(name)
            })
            .unwrap();
        }
        let declared: BTreeSet<String> = REQUIRED_VARS
            .iter()
            .chain(&ONE_OF_VARS)
            .chain(&OPTIONAL_VARS)
            .chain(&timmybot_allowlist::ALLOWLIST_VARS)
            .chain(&timmybot_sources::config::VARS)
            .map(|v| (*v).to_owned())
            .collect();
        assert_eq!(asked.into_inner(), declared);
    }

    #[test]
    fn the_queues_table_is_required() {
        let err = Config::from_lookup(lookup(&[
            (PUBLIC_KEY_VAR, KEY),
            (APPLICATION_ID_VAR, "123"),
            (COMMAND_QUEUE_URL_VAR, "https://sqs.eu-west-1.amazonaws.com/1/commands.fifo"),
            (TABLE_GUILDS_VAR, "timmybot-guilds"),
            (TABLE_TRACK_CACHE_VAR, "timmybot-track-cache"),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing(TABLE_GUILD_QUEUES_VAR));
    }

    #[test]
    fn the_track_cache_table_is_required() {
        let err = Config::from_lookup(lookup(&[
            (PUBLIC_KEY_VAR, KEY),
            (APPLICATION_ID_VAR, "123"),
            (COMMAND_QUEUE_URL_VAR, "https://sqs.eu-west-1.amazonaws.com/1/commands.fifo"),
            (TABLE_GUILDS_VAR, "timmybot-guilds"),
            (TABLE_GUILD_QUEUES_VAR, "timmybot-guild-queues"),
            (TABLE_TRACK_CACHE_VAR, "  "),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing(TABLE_TRACK_CACHE_VAR));
    }

    #[test]
    fn public_key_may_come_from_a_secret_and_inline_wins() {
        let base = [
            (APPLICATION_ID_VAR, "123"),
            (COMMAND_QUEUE_URL_VAR, "https://sqs.eu-west-1.amazonaws.com/1/commands.fifo"),
            (TABLE_GUILDS_VAR, "timmybot-guilds"),
            (TABLE_GUILD_QUEUES_VAR, "timmybot-guild-queues"),
            (TABLE_TRACK_CACHE_VAR, "timmybot-track-cache"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            Config::from_lookup(lookup(&vars))
        };
        let config = with(&[(APP_SECRET_VAR, "timmybot/app")]).unwrap();
        assert!(matches!(config.public_key, PublicKeySource::AppSecret));
        assert_eq!(config.app_secret.as_deref(), Some("timmybot/app"));
        let config = with(&[(APP_SECRET_VAR, "timmybot/app"), (PUBLIC_KEY_VAR, KEY)]).unwrap();
        assert!(matches!(config.public_key, PublicKeySource::Inline(_)));
        // The secret is still named: its `discord-token` entry is read.
        assert_eq!(config.app_secret.as_deref(), Some("timmybot/app"));
        // Neither: the error names the inline variable, the one a local run sets.
        assert_eq!(with(&[]).unwrap_err(), ConfigError::Missing(PUBLIC_KEY_VAR));
    }

    #[test]
    fn missing_or_invalid_values_are_named_in_one_line() {
        let err = Config::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err.to_string(), "DISCORD_PUBLIC_KEY is not set");

        let err = Config::from_lookup(lookup(&[(PUBLIC_KEY_VAR, "zz")])).unwrap_err();
        assert_eq!(err.to_string(), "DISCORD_PUBLIC_KEY is invalid: discord public key is not hex");

        let err = Config::from_lookup(lookup(&[(PUBLIC_KEY_VAR, KEY), (APPLICATION_ID_VAR, "abc")])).unwrap_err();
        assert!(err.to_string().starts_with("DISCORD_APPLICATION_ID is invalid"));

        let err = Config::from_lookup(lookup(&[
            (PUBLIC_KEY_VAR, KEY),
            (APPLICATION_ID_VAR, "1"),
            (COMMAND_QUEUE_URL_VAR, " "),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing(COMMAND_QUEUE_URL_VAR));

        let err = Config::from_lookup(lookup(&[
            (PUBLIC_KEY_VAR, KEY),
            (APPLICATION_ID_VAR, "1"),
            (COMMAND_QUEUE_URL_VAR, "q"),
        ]))
        .unwrap_err();
        assert!(!err.to_string().contains('\n'));
        assert!(err.to_string().starts_with("TIMMYBOT_COMMAND_QUEUE_URL is invalid"));
    }
}
