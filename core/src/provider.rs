//! The services a member can link (issue #14): named in the store's
//! records and in the associated data of sealed tokens.

use std::fmt;
use std::str::FromStr;

/// A provider name that is not `google`, `spotify` or `plex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider (expected google, spotify or plex)")]
pub struct ParseProviderError;

/// A service whose account a member can link.
///
/// The names from [`Provider::as_str`] are stored (in records and in the
/// associated data of sealed tokens), so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Google (YouTube Music, Drive).
    Google,
    /// Spotify.
    Spotify,
    /// A Plex Media Server.
    Plex,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Provider; 3] = [Provider::Google, Provider::Spotify, Provider::Plex];

    /// The stable lowercase name: `google`, `spotify` or `plex`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Spotify => "spotify",
            Provider::Plex => "plex",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = ParseProviderError;

    /// Parses the exact lowercase name; stored names are never another case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL.into_iter().find(|p| p.as_str() == s).ok_or(ParseProviderError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_uses_the_stable_names() {
        assert_eq!(serde_json::to_string(&Provider::Spotify).unwrap(), "\"spotify\"");
        assert_eq!(serde_json::from_str::<Provider>("\"plex\"").unwrap(), Provider::Plex);
    }

    #[test]
    fn provider_names_are_stable() {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names, ["google", "spotify", "plex"]);
    }

    #[test]
    fn provider_round_trips_through_its_name() {
        for p in Provider::ALL {
            assert_eq!(p.to_string().parse::<Provider>(), Ok(p));
        }
    }

    #[test]
    fn provider_parse_rejects_unknown_and_other_case() {
        for bad in ["", "Google", "SPOTIFY", " plex", "youtube"] {
            assert_eq!(bad.parse::<Provider>(), Err(ParseProviderError), "{bad:?} parsed");
        }
        assert_eq!(ParseProviderError.to_string(), "unknown provider (expected google, spotify or plex)");
    }
}
