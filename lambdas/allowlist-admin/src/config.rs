//! The Lambda's configuration: the only place that reads the environment.

use std::fmt;

use timmybot_allowlist::AllowlistSettings;
pub use timmybot_lambda_common::APP_SECRET_VAR;
use timmybot_lambda_common::{ConfigError, Vars, env_lookup};
use url::Url;

/// Environment variable naming the DynamoDB guilds table (holds the allowlist).
pub const TABLE_GUILDS_VAR: &str = "TIMMYBOT_TABLE_GUILDS";
/// Environment variable naming the DynamoDB guild queues table. Optional:
/// this Lambda never touches queues.
pub const TABLE_GUILD_QUEUES_VAR: &str = "TIMMYBOT_TABLE_GUILD_QUEUES";
/// Environment variable: `open` or `allowlist` (default `allowlist`).
pub const ALLOWLIST_MODE_VAR: &str = "TIMMYBOT_ALLOWLIST_MODE";
/// Environment variable: days a denied guild waits before asking again (default 7).
pub const COOLDOWN_DAYS_VAR: &str = "TIMMYBOT_ALLOWLIST_COOLDOWN_DAYS";
/// Environment variable: comma-separated Discord user ids of the maintainers.
pub const MAINTAINER_IDS_VAR: &str = "TIMMYBOT_MAINTAINER_IDS";
/// Environment variable: the channel where requests are announced (optional).
pub const MAINTAINERS_CHANNEL_VAR: &str = "TIMMYBOT_MAINTAINERS_CHANNEL_ID";
/// Environment variable: an operator webhook URL that receives decisions
/// (optional; treated as a secret because such URLs embed a token).
pub const WEBHOOK_URL_VAR: &str = "TIMMYBOT_ALLOWLIST_WEBHOOK_URL";

/// The variables the Lambda cannot start without.
pub const REQUIRED_VARS: [&str; 1] = [TABLE_GUILDS_VAR];

/// Every variable the Lambda reads (the required ones first); a test checks
/// it is exactly what [`Config::from_lookup`] asks for, and the CDK stack
/// may set nothing outside it (see `infra-cdk/deploy-contract.json`).
pub const ALL_VARS: [&str; 8] = [
    TABLE_GUILDS_VAR,
    TABLE_GUILD_QUEUES_VAR,
    ALLOWLIST_MODE_VAR,
    COOLDOWN_DAYS_VAR,
    MAINTAINER_IDS_VAR,
    MAINTAINERS_CHANNEL_VAR,
    APP_SECRET_VAR,
    WEBHOOK_URL_VAR,
];

/// Everything the Lambda needs, validated once at cold start.
#[derive(Clone)]
pub struct Config {
    /// The guilds table (`TIMMYBOT_TABLE_GUILDS`, required, no default: a
    /// Lambda writing decisions to a guessed table would lose them).
    pub table_guilds: String,
    /// The queues table (`TIMMYBOT_TABLE_GUILD_QUEUES`, optional). Unset,
    /// it is empty, so an accidental queue access fails loudly at DynamoDB.
    pub table_guild_queues: String,
    /// Mode, cooldown, maintainers and their channel.
    pub settings: AllowlistSettings,
    /// The application secret's name or ARN (`TIMMYBOT_APP_SECRET`,
    /// optional), whose `discord-token` entry tells people on Discord;
    /// without the secret or the entry, decisions tell nobody on Discord.
    pub app_secret: Option<String>,
    /// Where requests and decisions are POSTed
    /// (`TIMMYBOT_ALLOWLIST_WEBHOOK_URL`); a secret: `Debug` redacts it.
    pub webhook_url: Option<Url>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("table_guilds", &self.table_guilds)
            .field("table_guild_queues", &self.table_guild_queues)
            .field("settings", &self.settings)
            .field("app_secret", &self.app_secret)
            .field("webhook_url", &self.webhook_url.as_ref().map(|_| "<redacted>"))
            .finish()
    }
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
        let table_guilds = vars.required(TABLE_GUILDS_VAR)?;
        let table_guild_queues = vars.optional(TABLE_GUILD_QUEUES_VAR).unwrap_or_default();

        // The same reader as the binary and the interactions Lambda.
        let settings =
            AllowlistSettings::from_lookup(vars.lookup()).map_err(|e| ConfigError::invalid(e.var, e.problem))?;
        let app_secret = vars.optional(APP_SECRET_VAR);
        // Checked here so a typo stops the cold start instead of silently
        // dropping every event; the value is never echoed.
        let webhook_url = vars.parsed(WEBHOOK_URL_VAR, "expected an http(s) URL", |v| {
            Url::parse(v).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or(())
        })?;

        Ok(Self { table_guilds, table_guild_queues, settings, app_secret, webhook_url })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use timmybot_allowlist::AllowlistMode;
    use timmybot_core::{ChannelId, UserId};

    use super::*;

    #[test]
    fn declared_variables_are_exactly_the_ones_read() {
        use std::cell::RefCell;
        use std::collections::BTreeSet;
        let asked = RefCell::new(BTreeSet::new());
        let values = lookup(&[(TABLE_GUILDS_VAR, "guilds")]);
        Config::from_lookup(|name: &str| {
            asked.borrow_mut().insert(name.to_owned());
            values(name)
        })
        .unwrap();
        let declared: BTreeSet<String> = ALL_VARS.iter().map(|v| (*v).to_owned()).collect();
        assert_eq!(asked.into_inner(), declared);
        assert!(REQUIRED_VARS.iter().all(|v| ALL_VARS.contains(v)));
        assert_eq!(Config::from_lookup(lookup(&[])).unwrap_err(), ConfigError::Missing(TABLE_GUILDS_VAR));
    }

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn minimal_environment_gets_the_defaults() {
        let config = Config::from_lookup(lookup(&[(TABLE_GUILDS_VAR, "prod-guilds")])).unwrap();
        assert_eq!(config.table_guilds, "prod-guilds");
        assert_eq!(config.table_guild_queues, "");
        assert_eq!(config.settings, AllowlistSettings::default());
        assert_eq!(config.settings.cooldown, Duration::from_secs(7 * 86_400));
        assert!(config.app_secret.is_none() && config.webhook_url.is_none());
    }

    #[test]
    fn complete_environment_loads() {
        let config = Config::from_lookup(lookup(&[
            (TABLE_GUILDS_VAR, "g"),
            (TABLE_GUILD_QUEUES_VAR, "q"),
            (ALLOWLIST_MODE_VAR, "open"),
            (COOLDOWN_DAYS_VAR, "3"),
            (MAINTAINER_IDS_VAR, " 11, 22 ,"),
            (MAINTAINERS_CHANNEL_VAR, "33"),
            (APP_SECRET_VAR, "timmybot/app"),
            (WEBHOOK_URL_VAR, "https://hooks.example.com/T0/secret-part"),
        ]))
        .unwrap();
        assert_eq!(config.table_guild_queues, "q");
        assert_eq!(config.settings.mode, AllowlistMode::Open);
        assert_eq!(config.settings.cooldown, Duration::from_secs(3 * 86_400));
        assert_eq!(config.settings.maintainers, vec![UserId::new(11).unwrap(), UserId::new(22).unwrap()]);
        assert_eq!(config.settings.maintainers_channel, ChannelId::new(33));
        assert_eq!(config.app_secret.as_deref(), Some("timmybot/app"));
        assert!(!format!("{config:?}").contains("secret-part"), "the webhook URL is a secret");
    }

    #[test]
    fn missing_or_invalid_values_are_named_without_their_value() {
        assert_eq!(Config::from_lookup(lookup(&[])).unwrap_err().to_string(), "TIMMYBOT_TABLE_GUILDS is not set");
        let cases = [
            (ALLOWLIST_MODE_VAR, "closed-xyz"),
            (COOLDOWN_DAYS_VAR, "seven-xyz"),
            (COOLDOWN_DAYS_VAR, "99999"),
            (MAINTAINER_IDS_VAR, "11,bob-xyz"),
            (MAINTAINERS_CHANNEL_VAR, "general-xyz"),
            (WEBHOOK_URL_VAR, "ftp://hooks.example.com/xyz"),
        ];
        for (name, value) in cases {
            let err = Config::from_lookup(lookup(&[(TABLE_GUILDS_VAR, "g"), (name, value)])).unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with(&format!("{name} is invalid: ")), "{message}");
            assert!(!message.contains("xyz") && !message.contains("99999"), "{message}");
            assert!(!message.contains('\n'));
        }
    }
}
