//! How a deployment runs its allowlist.

use std::str::FromStr;
use std::time::Duration;

use timmybot_core::{ChannelId, UserId};

/// Who may use the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllowlistMode {
    /// Every guild (self-hosters running their own bot).
    Open,
    /// Only approved guilds (managed deployments).
    #[default]
    Allowlist,
}

impl AllowlistMode {
    /// The configuration value ("open" or "allowlist").
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Allowlist => "allowlist",
        }
    }
}

/// An allowlist mode that is neither `open` nor `allowlist`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowlist mode must be `open` or `allowlist`")]
pub struct ParseModeError;

impl FromStr for AllowlistMode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "open" => Ok(Self::Open),
            "allowlist" => Ok(Self::Allowlist),
            _ => Err(ParseModeError),
        }
    }
}

/// The default wait before a denied guild may ask again: 7 days.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The allowlist's settings, read once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistSettings {
    /// Who may use the bot.
    pub mode: AllowlistMode,
    /// How long a denied guild waits before asking again.
    pub cooldown: Duration,
    /// The user ids whose Approve / Deny button presses count.
    pub maintainers: Vec<UserId>,
    /// Where new requests are announced with buttons.
    pub maintainers_channel: Option<ChannelId>,
}

impl Default for AllowlistSettings {
    fn default() -> Self {
        Self {
            mode: AllowlistMode::default(),
            cooldown: DEFAULT_COOLDOWN,
            maintainers: Vec::new(),
            maintainers_channel: None,
        }
    }
}

/// Environment variable: `open` | `allowlist` (default `allowlist`).
pub const MODE_VAR: &str = "TIMMYBOT_ALLOWLIST_MODE";
/// Environment variable: whole days a denied guild waits (default 7).
pub const COOLDOWN_DAYS_VAR: &str = "TIMMYBOT_ALLOWLIST_COOLDOWN_DAYS";
/// Environment variable: comma-separated maintainer user ids.
pub const MAINTAINER_IDS_VAR: &str = "TIMMYBOT_MAINTAINER_IDS";
/// Environment variable: the maintainers' channel id (optional).
pub const MAINTAINERS_CHANNEL_VAR: &str = "TIMMYBOT_MAINTAINERS_CHANNEL_ID";
/// Every variable [`AllowlistSettings::from_lookup`] reads (all optional),
/// so each component's list of variables can include them.
pub const ALLOWLIST_VARS: [&str; 4] = [MODE_VAR, COOLDOWN_DAYS_VAR, MAINTAINER_IDS_VAR, MAINTAINERS_CHANNEL_VAR];

/// A setting's variable is unusable; names it, never echoes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} {problem}")]
pub struct SettingsError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong.
    pub problem: String,
}

impl AllowlistSettings {
    /// Reads the settings through `lookup` (variable → trimmed, non-empty
    /// value), the same way in the binary and in every Lambda.
    ///
    /// # Errors
    /// The first unusable variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let invalid = |var: &'static str, problem: &str| SettingsError { var, problem: problem.to_owned() };
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mode = match get(MODE_VAR) {
            Some(v) => v.parse::<AllowlistMode>().map_err(|_| invalid(MODE_VAR, "must be open or allowlist"))?,
            None => AllowlistMode::Allowlist,
        };
        let cooldown = match get(COOLDOWN_DAYS_VAR) {
            Some(v) => v
                .parse::<u64>()
                .ok()
                // Ten years: anything longer is a typo, not a policy.
                .filter(|days| *days <= 3650)
                .map(|days| Duration::from_secs(days * 86_400))
                .ok_or_else(|| invalid(COOLDOWN_DAYS_VAR, "is not a whole number of days from 0 to 3650"))?,
            None => DEFAULT_COOLDOWN,
        };
        let maintainers = match get(MAINTAINER_IDS_VAR) {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::parse::<UserId>)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| invalid(MAINTAINER_IDS_VAR, "is not a comma-separated list of Discord user ids"))?,
            None => Vec::new(),
        };
        let maintainers_channel = get(MAINTAINERS_CHANNEL_VAR)
            .map(|v| v.parse::<ChannelId>())
            .transpose()
            .map_err(|_| invalid(MAINTAINERS_CHANNEL_VAR, "is not a Discord channel id"))?;
        Ok(Self { mode, cooldown, maintainers, maintainers_channel })
    }

    /// Settings for a deployment open to every guild.
    pub fn open() -> Self {
        Self { mode: AllowlistMode::Open, ..Self::default() }
    }

    /// Whether `user` is a configured maintainer.
    pub fn is_maintainer(&self, user: UserId) -> bool {
        self.maintainers.contains(&user)
    }
}
