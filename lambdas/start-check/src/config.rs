//! The Lambda's configuration: the only place that reads the environment.

use timmybot_lambda_common::{ConfigError, GATEWAY_SERVICE_VARS, GatewayService, Vars, env_lookup};
use url::Url;

/// Environment variable naming the DynamoDB guild-queues table (the
/// gateway's presence and the members waiting on a start live in its
/// `deployment` partition).
pub const TABLE_GUILD_QUEUES_VAR: &str = "TIMMYBOT_TABLE_GUILD_QUEUES";
/// Environment variable with Discord's API root (optional; default
/// `https://discord.com/api/v10/`): where waiting replies are edited.
pub const DISCORD_API_URL_VAR: &str = "TIMMYBOT_DISCORD_API_URL";

/// Variables that must all be set.
pub const REQUIRED_VARS: [&str; 4] =
    [TABLE_GUILD_QUEUES_VAR, GATEWAY_SERVICE_VARS[0], GATEWAY_SERVICE_VARS[1], GATEWAY_SERVICE_VARS[2]];
/// Variables read when present.
pub const OPTIONAL_VARS: [&str; 1] = [DISCORD_API_URL_VAR];

/// Everything the Lambda needs, validated once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The guild-queues table (`TIMMYBOT_TABLE_GUILD_QUEUES`, required).
    pub queues_table: String,
    /// The gateway's ECS service and the start-check queue
    /// (`TIMMYBOT_GATEWAY_CLUSTER`, `TIMMYBOT_GATEWAY_SERVICE`,
    /// `TIMMYBOT_START_CHECK_QUEUE_URL`, required).
    pub gateway: GatewayService,
    /// Discord's API root (`TIMMYBOT_DISCORD_API_URL`, optional).
    pub discord_api: Url,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }

    /// Reads variables through `lookup`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(lookup);
        let queues_table = vars.required(TABLE_GUILD_QUEUES_VAR)?;
        let gateway = GatewayService::from_vars(&vars)?.ok_or(ConfigError::Missing(GATEWAY_SERVICE_VARS[0]))?;
        let discord_api = vars
            .parsed(DISCORD_API_URL_VAR, "expected an http(s) URL", Url::parse)?
            .unwrap_or_else(|| Url::parse(timmybot_discord_rest::DEFAULT_API_BASE).expect("a valid URL"));
        if !matches!(discord_api.scheme(), "http" | "https") {
            return Err(ConfigError::invalid(DISCORD_API_URL_VAR, "expected an http(s) URL"));
        }
        Ok(Self { queues_table, gateway, discord_api })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    use super::*;

    const ALL: [(&str, &str); 4] = [
        (TABLE_GUILD_QUEUES_VAR, "timmybot-guild-queues"),
        ("TIMMYBOT_GATEWAY_CLUSTER", "timmybot-gateway"),
        ("TIMMYBOT_GATEWAY_SERVICE", "timmybot-gateway"),
        ("TIMMYBOT_START_CHECK_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/start-check"),
    ];

    fn lookup(pairs: Vec<(&'static str, &'static str)>) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_full_environment_loads_with_discord_by_default() {
        let config = Config::from_lookup(lookup(ALL.to_vec())).unwrap();
        assert_eq!(config.queues_table, "timmybot-guild-queues");
        assert_eq!(config.gateway.service, "timmybot-gateway");
        assert_eq!(config.discord_api.as_str(), "https://discord.com/api/v10/");
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for missing in REQUIRED_VARS {
            let pairs = ALL.iter().copied().filter(|(k, _)| *k != missing).collect();
            assert_eq!(Config::from_lookup(lookup(pairs)).unwrap_err(), ConfigError::Missing(missing));
        }
    }

    #[test]
    fn a_bad_api_url_is_refused_without_quoting_it() {
        let mut pairs = ALL.to_vec();
        pairs.push((DISCORD_API_URL_VAR, "ftp://token@example.com/"));
        let error = Config::from_lookup(lookup(pairs)).unwrap_err();
        assert!(error.to_string().contains(DISCORD_API_URL_VAR));
        assert!(!error.to_string().contains("token@"));
    }

    #[test]
    fn declared_variables_are_exactly_the_ones_read() {
        let asked = RefCell::new(BTreeSet::new());
        let pairs = ALL.to_vec();
        Config::from_lookup(|name: &str| {
            asked.borrow_mut().insert(name.to_owned());
            pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let declared: BTreeSet<String> = REQUIRED_VARS.iter().chain(&OPTIONAL_VARS).map(|v| (*v).to_owned()).collect();
        assert_eq!(asked.into_inner(), declared);
    }
}
