//! The Lambda's configuration: the only place that reads the environment.

use timmybot_allowlist::AllowlistSettings;
use timmybot_core::{ApplicationId, Secret};
use timmybot_interactions::PublicKey;

/// Environment variable holding the application's hex Ed25519 public key.
pub const PUBLIC_KEY_VAR: &str = "DISCORD_PUBLIC_KEY";
/// Environment variable holding the application (snowflake) id.
pub const APPLICATION_ID_VAR: &str = "DISCORD_APPLICATION_ID";
/// Environment variable holding the SQS FIFO command queue's URL.
pub const COMMAND_QUEUE_URL_VAR: &str = "TIMMYBOT_COMMAND_QUEUE_URL";
/// Environment variable naming the DynamoDB guilds table (the allowlist).
pub const TABLE_GUILDS_VAR: &str = "TIMMYBOT_TABLE_GUILDS";
/// Environment variable naming the Secrets Manager secret with the bot
/// token, used to tell maintainers and requesters (optional).
pub const DISCORD_TOKEN_SECRET_VAR: &str = "TIMMYBOT_DISCORD_TOKEN_SECRET";
/// Environment variable with the allowlist webhook URL (optional).
pub const ALLOWLIST_WEBHOOK_URL_VAR: &str = "TIMMYBOT_ALLOWLIST_WEBHOOK_URL";

/// Everything the Lambda needs, validated once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The key Discord signs interactions with (`DISCORD_PUBLIC_KEY`,
    /// required, no default).
    pub public_key: PublicKey,
    /// The bot's application id (`DISCORD_APPLICATION_ID`, required, no
    /// default); interactions for any other application are refused.
    pub application_id: ApplicationId,
    /// Where voice commands go (`TIMMYBOT_COMMAND_QUEUE_URL`, required, no default).
    pub command_queue_url: String,
    /// The guilds table holding the allowlist (`TIMMYBOT_TABLE_GUILDS`,
    /// required).
    pub guilds_table: String,
    /// The allowlist's settings (see [`AllowlistSettings::from_lookup`]).
    pub allowlist: AllowlistSettings,
    /// The bot token's secret id (`TIMMYBOT_DISCORD_TOKEN_SECRET`, optional:
    /// without it nobody is told about requests).
    pub discord_token_secret: Option<String>,
    /// `TIMMYBOT_ALLOWLIST_WEBHOOK_URL` (optional).
    pub allowlist_webhook: Option<Secret>,
}

/// A configuration value is missing or unusable; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The variable is unset or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// The variable is set to something unusable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong, without echoing the value.
        reason: String,
    },
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the real
    /// environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name))
        };

        let public_key = PublicKey::from_hex(&required(PUBLIC_KEY_VAR)?)
            .map_err(|e| ConfigError::Invalid { name: PUBLIC_KEY_VAR, reason: e.to_string() })?;
        let application_id = required(APPLICATION_ID_VAR)?.parse().map_err(|_| ConfigError::Invalid {
            name: APPLICATION_ID_VAR,
            reason: "expected a snowflake (a positive integer)".into(),
        })?;
        let command_queue_url = required(COMMAND_QUEUE_URL_VAR)?;
        if !(command_queue_url.starts_with("https://") || command_queue_url.starts_with("http://")) {
            return Err(ConfigError::Invalid { name: COMMAND_QUEUE_URL_VAR, reason: "expected an http(s) URL".into() });
        }
        let guilds_table = required(TABLE_GUILDS_VAR)?;
        let allowlist = AllowlistSettings::from_lookup(&lookup)
            .map_err(|e| ConfigError::Invalid { name: e.var, reason: e.problem })?;
        let optional = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(Self {
            public_key,
            application_id,
            command_queue_url,
            guilds_table,
            allowlist,
            discord_token_secret: optional(DISCORD_TOKEN_SECRET_VAR),
            allowlist_webhook: optional(ALLOWLIST_WEBHOOK_URL_VAR).map(Secret::new),
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
            ("TIMMYBOT_MAINTAINER_IDS", "7"),
        ]))
        .unwrap();
        assert_eq!(config.application_id, ApplicationId::new(123).unwrap());
        assert_eq!(config.guilds_table, "timmybot-guilds");
        assert_eq!(config.allowlist.maintainers, [timmybot_core::UserId::new(7).unwrap()]);
        assert_eq!(config.discord_token_secret, None);
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
