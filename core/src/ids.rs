//! Discord snowflake newtypes owned by the domain.
//!
//! Conversions from library ids (twilight) live in the Discord adapter, so the
//! domain never depends on a Discord library.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A snowflake string that is not a positive 64-bit integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid snowflake id")]
pub struct ParseIdError;

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            /// Wraps a raw snowflake; `None` for zero, which Discord never issues.
            pub const fn new(raw: u64) -> Option<Self> {
                if raw == 0 { None } else { Some(Self(raw)) }
            }

            /// The raw 64-bit value.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                // Snowflakes are at most 20 decimal digits; reject anything else
                // before parsing so odd input never reaches the integer parser.
                if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ParseIdError);
                }
                s.parse::<u64>().ok().and_then(Self::new).ok_or(ParseIdError)
            }
        }

        // Discord sends snowflakes as JSON strings; so do we.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw<'a> {
                    Str(&'a str),
                    Owned(String),
                    Num(u64),
                }
                let parsed = match Raw::deserialize(d)? {
                    Raw::Str(s) => s.parse(),
                    Raw::Owned(s) => s.parse(),
                    Raw::Num(n) => Self::new(n).ok_or(ParseIdError),
                };
                parsed.map_err(serde::de::Error::custom)
            }
        }
    };
}

snowflake!(
    /// A Discord guild (server).
    GuildId
);
snowflake!(
    /// A Discord user.
    UserId
);
snowflake!(
    /// A Discord channel (text or voice).
    ChannelId
);
snowflake!(
    /// A Discord application (the bot's application id).
    ApplicationId
);
snowflake!(
    /// A Discord interaction; unique per slash command invocation.
    InteractionId
);
snowflake!(
    /// A Discord role (the DJ role).
    RoleId
);

impl GuildId {
    /// The shard that receives this guild's gateway events.
    pub fn shard(self, shard_count: u32) -> u32 {
        ((self.0 >> 22) % u64::from(shard_count.max(1))) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_json_strings() {
        let id = GuildId::new(81384788765712384).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"81384788765712384\"");
        assert_eq!(serde_json::from_str::<GuildId>(&json).unwrap(), id);
    }

    #[test]
    fn ids_reject_zero_signs_and_overlong_input() {
        for bad in ["0", "-1", "+1", "", "1a", "123456789012345678901", "18446744073709551616"] {
            assert!(bad.parse::<UserId>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn shard_of_guild_follows_discord_formula() {
        let id = GuildId::new(81384788765712384).unwrap();
        assert_eq!(id.shard(1), 0);
        assert_eq!(id.shard(4), ((81384788765712384u64 >> 22) % 4) as u32);
    }
}
