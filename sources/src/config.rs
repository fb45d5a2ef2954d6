//! Which sources a deployment turns on, read from its environment, and the
//! clients built from that: the same in `timmybot serve`, the sandbox and
//! the Lambdas.

use std::time::Duration;

use tracing::warn;
use url::Url;

use crate::audius::Audius;
use crate::links::{AppleClient, DeezerClient, LinkResolver, SpotifyClient, SpotifyCredentials, YouTubeOembed};
use crate::radio_browser::RadioBrowser;
use crate::{ApiClient, SourceSearch};

/// Radio Browser's own servers, used when discovery fails at start (the
/// directory asks clients to discover, so these are only a fallback).
const RADIO_BROWSER_FALLBACK: &[&str] =
    &["https://de1.api.radio-browser.info", "https://nl1.api.radio-browser.info", "https://at1.api.radio-browser.info"];
/// Where Audius lists its API hosts.
const AUDIUS_DISCOVERY: &str = "https://api.audius.co";
/// How long discovery may take at start before the fallback is used
/// (the gateway's; the Lambda passes its own).
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every variable [`SourcesConfig::from_lookup`] reads.
pub const VARS: [&str; 7] = [
    "TIMMYBOT_RADIO",
    "TIMMYBOT_RADIO_BROWSER_SERVERS",
    "TIMMYBOT_AUDIUS",
    "TIMMYBOT_AUDIUS_HOSTS",
    "TIMMYBOT_AUDIUS_APP_NAME",
    "TIMMYBOT_USER_AGENT",
    "TIMMYBOT_SERVICE_LINKS",
];

/// A variable that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} {problem}")]
pub struct SourcesConfigError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// The sources a deployment turns on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcesConfig {
    /// `TIMMYBOT_RADIO` = `on` (default) | `off`: the Radio Browser
    /// directory behind `/radio`.
    pub radio: bool,
    /// `TIMMYBOT_RADIO_BROWSER_SERVERS` (default: discovered as the
    /// directory asks): comma-separated base URLs of its API servers.
    pub radio_servers: Vec<Url>,
    /// `TIMMYBOT_AUDIUS` = `on` (default) | `off`: the Audius catalog
    /// (search, links, and matching of other services' links).
    pub audius: bool,
    /// `TIMMYBOT_AUDIUS_HOSTS` (default: discovered from api.audius.co):
    /// comma-separated base URLs of Audius API hosts.
    pub audius_hosts: Vec<Url>,
    /// `TIMMYBOT_AUDIUS_APP_NAME` (default `timmybot`): the app name Audius
    /// asks every request to carry.
    pub audius_app_name: String,
    /// `TIMMYBOT_USER_AGENT` (default: [`crate::api::DEFAULT_USER_AGENT`]):
    /// the User-Agent of every API call, e.g. with the deployment's contact.
    pub user_agent: Option<String>,
    /// `TIMMYBOT_SERVICE_LINKS` = `on` (default) | `off`: Spotify, Deezer,
    /// Apple Music and YouTube links read as metadata and matched to the
    /// playable catalogs (Spotify also needs the app's credentials from the
    /// secret store).
    pub service_links: bool,
    /// Where those services' APIs are (default: `None`, their public
    /// addresses). No variable sets it: the sandbox and tests point it at
    /// their fakes.
    pub service_bases: Option<ServiceBases>,
}

/// Where the music services read for links are, instead of their public
/// addresses (the sandbox's fakes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBases {
    /// Spotify's Web API (`https://api.spotify.com`).
    pub spotify_api: Url,
    /// Spotify's accounts service, which issues tokens
    /// (`https://accounts.spotify.com`).
    pub spotify_accounts: Url,
    /// Deezer's API (`https://api.deezer.com`).
    pub deezer: Url,
    /// The iTunes Search API, for Apple Music links (`https://itunes.apple.com`).
    pub apple: Url,
    /// YouTube's site, which serves oEmbed (`https://www.youtube.com`).
    pub youtube: Url,
}

impl Default for SourcesConfig {
    fn default() -> Self {
        Self {
            radio: true,
            radio_servers: Vec::new(),
            audius: true,
            audius_hosts: Vec::new(),
            audius_app_name: "timmybot".to_owned(),
            user_agent: None,
            service_links: true,
            service_bases: None,
        }
    }
}

impl SourcesConfig {
    /// Reads the variables above through `lookup` (name → value).
    ///
    /// # Errors
    /// The first variable that is not valid.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SourcesConfigError> {
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let switch = |var: &'static str| match get(var).as_deref() {
            None | Some("on") => Ok(true),
            Some("off") => Ok(false),
            Some(_) => Err(SourcesConfigError { var, problem: "must be on or off".into() }),
        };
        let urls = |var: &'static str| -> Result<Vec<Url>, SourcesConfigError> {
            get(var)
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| {
                            Url::parse(s).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or_else(|| {
                                SourcesConfigError { var, problem: "is not a list of http(s) URLs".into() }
                            })
                        })
                        .collect()
                })
                .unwrap_or_else(|| Ok(Vec::new()))
        };
        let app_name = get("TIMMYBOT_AUDIUS_APP_NAME").unwrap_or_else(|| "timmybot".to_owned());
        if app_name.len() > 64 || !app_name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(SourcesConfigError {
                var: "TIMMYBOT_AUDIUS_APP_NAME",
                problem: "must be at most 64 letters, digits, '-', '_' or '.'".into(),
            });
        }
        Ok(Self {
            radio: switch("TIMMYBOT_RADIO")?,
            radio_servers: urls("TIMMYBOT_RADIO_BROWSER_SERVERS")?,
            audius: switch("TIMMYBOT_AUDIUS")?,
            audius_hosts: urls("TIMMYBOT_AUDIUS_HOSTS")?,
            audius_app_name: app_name,
            user_agent: get("TIMMYBOT_USER_AGENT"),
            service_links: switch("TIMMYBOT_SERVICE_LINKS")?,
            service_bases: None,
        })
    }

    /// The API client with this deployment's User-Agent.
    pub fn api(&self, http: timmybot_outbound::SafeHttpClient) -> ApiClient {
        let api = ApiClient::new(http);
        match &self.user_agent {
            Some(agent) => api.with_user_agent(agent.as_str()),
            None => api,
        }
    }

    /// The enabled clients: servers given are used as they are; otherwise
    /// they are discovered (falling back to the published ones when
    /// discovery fails, with a warning).
    pub async fn connect(&self, api: &ApiClient) -> EnabledSources {
        self.connect_within(api, DISCOVERY_TIMEOUT).await
    }

    /// [`Self::connect`], with discovery bounded by `timeout` (the
    /// interactions Lambda discovers inside Discord's answer window).
    pub async fn connect_within(&self, api: &ApiClient, timeout: Duration) -> EnabledSources {
        let radio = if !self.radio {
            None
        } else if !self.radio_servers.is_empty() {
            Some(RadioBrowser::with_servers(api.clone(), self.radio_servers.clone()))
        } else {
            match tokio::time::timeout(timeout, RadioBrowser::discover(api.clone())).await {
                Ok(Ok(found)) => Some(found),
                outcome => {
                    warn!(?outcome, "finding Radio Browser's servers failed; using the published ones");
                    let servers = RADIO_BROWSER_FALLBACK.iter().filter_map(|s| Url::parse(s).ok()).collect();
                    Some(RadioBrowser::with_servers(api.clone(), servers))
                }
            }
        };
        let audius = if !self.audius {
            None
        } else if !self.audius_hosts.is_empty() {
            Some(Audius::with_hosts(api.clone(), self.audius_app_name.clone(), self.audius_hosts.clone()))
        } else {
            let discovery = Url::parse(AUDIUS_DISCOVERY).expect("a valid URL");
            match tokio::time::timeout(timeout, Audius::discover(api.clone(), self.audius_app_name.clone(), discovery))
                .await
            {
                Ok(Ok(found)) => Some(found),
                outcome => {
                    warn!(?outcome, "finding Audius's API hosts failed; Audius is off until the next start");
                    None
                }
            }
        };
        EnabledSources { radio, audius, links: None }
    }

    /// The resolver of music-service links, or `None` when they are off.
    /// Spotify is read only with `spotify` credentials (the deployer's app,
    /// from the secret store); its links are refused as not configured
    /// otherwise.
    pub fn link_resolver(&self, api: &ApiClient, spotify: Option<SpotifyCredentials>) -> Option<LinkResolver> {
        if !self.service_links {
            return None;
        }
        let Some(bases) = &self.service_bases else { return Some(LinkResolver::new(api.clone(), spotify)) };
        Some(LinkResolver::from_clients(
            spotify.map(|credentials| {
                SpotifyClient::new(api.clone(), credentials)
                    .with_base_urls(bases.spotify_api.clone(), bases.spotify_accounts.clone())
            }),
            DeezerClient::new(api.clone()).with_base_url(bases.deezer.clone()),
            AppleClient::new(api.clone()).with_base_url(bases.apple.clone()),
            YouTubeOembed::new(api.clone()).with_base_url(bases.youtube.clone()),
        ))
    }
}

/// The clients of the enabled sources.
#[derive(Debug, Clone, Default)]
pub struct EnabledSources {
    /// The station directory, when on.
    pub radio: Option<RadioBrowser>,
    /// The Audius catalog, when on.
    pub audius: Option<Audius>,
    /// The resolver of music-service links, when they are on (built by
    /// [`SourcesConfig::link_resolver`], since Spotify's credentials come
    /// from the secret store rather than the environment).
    pub links: Option<LinkResolver>,
}

impl EnabledSources {
    /// What the interactions handler searches with.
    pub fn search(&self) -> SourceSearch {
        let mut search = SourceSearch::new();
        if let Some(audius) = &self.audius {
            search = search.with_audius(audius.clone());
        }
        if let Some(radio) = &self.radio {
            search = search.with_radio(radio.clone());
        }
        search
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<SourcesConfig, SourcesConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        SourcesConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn radio_and_audius_are_on_by_default_and_servers_are_discovered() {
        assert_eq!(read(&[]).unwrap(), SourcesConfig::default());
    }

    #[test]
    fn switches_servers_and_the_app_name_are_read_and_bad_values_named() {
        let config = read(&[
            ("TIMMYBOT_RADIO", "off"),
            ("TIMMYBOT_AUDIUS_HOSTS", "http://127.0.0.1:9/, https://a.example"),
            ("TIMMYBOT_AUDIUS_APP_NAME", "my-bot"),
        ])
        .unwrap();
        assert!(!config.radio);
        assert_eq!(config.audius_hosts.len(), 2);
        assert_eq!(config.audius_app_name, "my-bot");
        assert_eq!(read(&[("TIMMYBOT_AUDIUS", "maybe")]).unwrap_err().var, "TIMMYBOT_AUDIUS");
        let bad = read(&[("TIMMYBOT_RADIO_BROWSER_SERVERS", "ftp://x")]).unwrap_err();
        assert_eq!(bad.var, "TIMMYBOT_RADIO_BROWSER_SERVERS");
        assert_eq!(read(&[("TIMMYBOT_AUDIUS_APP_NAME", "a b")]).unwrap_err().var, "TIMMYBOT_AUDIUS_APP_NAME");
    }

    #[test]
    fn service_links_are_on_by_default_and_off_builds_no_resolver() {
        let api = ApiClient::new(timmybot_outbound::SafeHttpClient::new(Default::default()));
        let on = read(&[]).unwrap();
        assert!(on.service_links);
        assert!(on.link_resolver(&api, None).is_some());
        let off = read(&[("TIMMYBOT_SERVICE_LINKS", "off")]).unwrap();
        assert!(!off.service_links);
        assert!(off.link_resolver(&api, None).is_none());
        assert_eq!(read(&[("TIMMYBOT_SERVICE_LINKS", "yes")]).unwrap_err().var, "TIMMYBOT_SERVICE_LINKS");
    }
}
