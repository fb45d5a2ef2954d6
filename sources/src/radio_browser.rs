//! The Radio Browser station directory (<https://api.radio-browser.info>):
//! a free, community-run list of internet radio stations.
//!
//! Its client guidelines, followed here: find the API servers at run time
//! (the `/json/servers` list of `all.api.radio-browser.info`) rather than
//! hard-coding one, spread over them in a random order and move to the next
//! when one fails, send a User-Agent naming the software ([`ApiClient`] does),
//! and count a click (`/json/url/{uuid}`) each time a station is played, which
//! is what ranks popular stations.
//!
//! Everything a station entry holds is untrusted: names and tags are cleaned
//! and bounded, and an entry without a usable stream link is skipped.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::api::{check_status, parse_json};
use crate::failover::Servers;
use crate::sanitize::{clean_opt, clean_text, truncate_chars, web_url};
use crate::{ApiClient, LookupError, Origin, TrackMeta};

/// Where the list of API servers is fetched from.
pub const DISCOVERY_URL: &str = "https://all.api.radio-browser.info/json/servers";

/// The most stations one search returns.
pub const MAX_RESULTS: usize = 25;

/// The prefix of a station's locator: `radio:<uuid>`.
pub const LOCATOR_PREFIX: &str = "radio:";

/// Longest search text sent; the rest is dropped.
const MAX_QUERY_CHARS: usize = 100;
/// Most servers kept from the discovery list.
const MAX_SERVERS: usize = 16;
/// Most entries read from one answer, whatever the server sends.
const MAX_ENTRIES: usize = 100;
const MAX_NAME_CHARS: usize = 200;
const MAX_TAGS: usize = 10;
const MAX_TAG_CHARS: usize = 40;
/// Tags shown after the country code in a station's "artist" line.
const TAGS_SHOWN: usize = 3;
const MAX_CODEC_CHARS: usize = 16;
/// No station streams at more than this; a larger number is junk.
const MAX_BITRATE_KBPS: u32 = 10_000;

/// A client of the Radio Browser API. Cheap to clone; clones share which
/// server answered last.
#[derive(Debug, Clone)]
pub struct RadioBrowser {
    api: ApiClient,
    servers: Servers,
}

/// A station of the directory, cleaned and bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    /// Its Radio Browser id, a lower-case UUID.
    pub uuid: String,
    /// Its name, one line, at most 200 characters.
    pub name: String,
    /// The stream to open: `url_resolved` (playlists already followed), or
    /// `url` when the directory has not resolved it.
    pub url_resolved: Url,
    /// Its web site.
    pub homepage: Option<String>,
    /// Its logo.
    pub favicon: Option<String>,
    /// Its tags (genres, mostly), at most 10.
    pub tags: Vec<String>,
    /// Its country, as an ISO 3166-1 alpha-2 code in upper case.
    pub country_code: Option<String>,
    /// The stream's codec as the directory last saw it ("MP3", "AAC").
    pub codec: Option<String>,
    /// The stream's bitrate, when known.
    pub bitrate_kbps: Option<u32>,
    /// Whether the stream is HLS.
    pub hls: bool,
    /// Whether the directory's last check of the stream succeeded.
    pub last_check_ok: bool,
}

impl Station {
    /// The station as a live track: its uuid as id, `radio:<uuid>` as
    /// locator, its country code and first tags as the "artist" line and its
    /// logo as artwork.
    pub fn to_meta(&self) -> TrackMeta {
        let mut meta = TrackMeta::new(Origin::RadioBrowser, self.uuid.clone(), self.name.clone());
        let parts: Vec<&str> = self
            .country_code
            .iter()
            .map(String::as_str)
            .chain(self.tags.iter().take(TAGS_SHOWN).map(String::as_str))
            .collect();
        meta.artist = (!parts.is_empty()).then(|| parts.join(" · "));
        meta.artwork_url = self.favicon.clone();
        meta.live = true;
        meta.locator = Some(format!("{LOCATOR_PREFIX}{}", self.uuid));
        meta
    }
}

/// The station uuid of a `radio:<uuid>` locator.
pub fn parse_locator(s: &str) -> Option<&str> {
    s.strip_prefix(LOCATOR_PREFIX).filter(|uuid| is_uuid(uuid))
}

/// Whether `s` is a UUID in its usual 8-4-4-4-12 hex form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

impl RadioBrowser {
    /// A client of fixed servers (a self-hosted mirror, or a test's fake),
    /// tried in the order given.
    pub fn with_servers(api: ApiClient, servers: Vec<Url>) -> Self {
        Self { api, servers: Servers::in_order(servers) }
    }

    /// A client of the public servers, found through [`DISCOVERY_URL`].
    ///
    /// # Errors
    /// See [`RadioBrowser::discover_from`].
    pub async fn discover(api: ApiClient) -> Result<Self, LookupError> {
        let url = Url::parse(DISCOVERY_URL).map_err(|e| LookupError::BadResponse(format!("discovery url: {e}")))?;
        Self::discover_from(api, &url).await
    }

    /// A client of the servers `discovery_url` lists (a `/json/servers`
    /// answer: `[{"name": "de1.api.radio-browser.info", "ip": …}, …]`), in a
    /// random order.
    ///
    /// Each server's base URL is `discovery_url` with its host replaced by the
    /// server's name and no path, so the public list gives
    /// `https://<name>/` and a fake on a loopback port can list itself.
    ///
    /// # Errors
    /// [`LookupError::Fetch`] when the list cannot be fetched,
    /// [`LookupError::BadResponse`] when it is not a list or names no
    /// usable server.
    pub async fn discover_from(api: ApiClient, discovery_url: &Url) -> Result<Self, LookupError> {
        #[derive(Deserialize)]
        struct Server {
            #[serde(default)]
            name: Option<String>,
        }
        let listed: Vec<Value> = api.json(api.get(discovery_url.clone())).await?;
        let mut bases: Vec<Url> = Vec::new();
        for entry in listed.into_iter().take(MAX_ENTRIES) {
            let Ok(Server { name: Some(name) }) = serde_json::from_value::<Server>(entry) else { continue };
            let Some(base) = server_base(discovery_url, &name) else { continue };
            if !bases.contains(&base) {
                bases.push(base);
            }
            if bases.len() == MAX_SERVERS {
                break;
            }
        }
        if bases.is_empty() {
            return Err(LookupError::BadResponse("the server list names no usable server".to_owned()));
        }
        Ok(Self { api, servers: Servers::shuffled(bases) })
    }

    /// The servers this client uses, the one tried first at the front.
    pub fn servers(&self) -> Vec<Url> {
        self.servers.attempts().map(|(_, url)| url.clone()).collect()
    }

    /// Up to `limit` (at most [`MAX_RESULTS`]) working stations whose name,
    /// tag or country matches `query`, most played first.
    ///
    /// Names are searched first; when they give fewer than `limit` stations,
    /// tags, then the country (its code when `query` is two letters) fill up
    /// the rest. Each station appears once.
    ///
    /// # Errors
    /// A [`LookupError`] when no server could answer. An empty query finds
    /// nothing, without asking.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<Station>, LookupError> {
        let query = truncate_chars(query.trim(), MAX_QUERY_CHARS).trim();
        let limit = limit.min(MAX_RESULTS);
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let country = if query.len() == 2 && query.bytes().all(|b| b.is_ascii_alphabetic()) {
            ("countrycode", query.to_ascii_uppercase())
        } else {
            ("country", query.to_owned())
        };
        let fields = [("name", query.to_owned()), ("tag", query.to_lowercase()), country];
        let mut found: Vec<Station> = Vec::new();
        for (field, value) in fields {
            if found.len() >= limit {
                break;
            }
            let limit_text = limit.to_string();
            let params = [
                (field, value.as_str()),
                ("hidebroken", "true"),
                ("order", "clickcount"),
                ("reverse", "true"),
                ("limit", limit_text.as_str()),
            ];
            let entries: Vec<Value> = self.get_json("json/stations/search", &params).await?;
            for station in stations_of(entries) {
                if found.len() >= limit {
                    break;
                }
                if !found.iter().any(|s| s.uuid == station.uuid) {
                    found.push(station);
                }
            }
        }
        Ok(found)
    }

    /// The station `uuid`.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] when `uuid` is not a UUID (nothing is sent)
    /// or the directory has no usable station of that id; otherwise a
    /// [`LookupError`] when no server could answer.
    pub async fn station(&self, uuid: &str) -> Result<Station, LookupError> {
        let uuid = checked_uuid(uuid)?;
        let entries: Vec<Value> = self.get_json(&format!("json/stations/byuuid/{uuid}"), &[]).await?;
        stations_of(entries).find(|s| s.uuid == uuid).ok_or(LookupError::NotFound)
    }

    /// Counts a play of station `uuid`, as the directory asks of every client
    /// that plays one, and returns the stream link the directory answers
    /// with (`None` when it gives no usable one).
    ///
    /// # Errors
    /// [`LookupError::NotFound`] when `uuid` is not a UUID (nothing is sent)
    /// or the directory does not know it; otherwise a [`LookupError`] when no
    /// server could answer.
    pub async fn count_click(&self, uuid: &str) -> Result<Option<Url>, LookupError> {
        #[derive(Deserialize)]
        struct Click {
            #[serde(default)]
            ok: Value,
            #[serde(default)]
            url: Option<String>,
        }
        let uuid = checked_uuid(uuid)?;
        let click: Click = self.get_json(&format!("json/url/{uuid}"), &[]).await?;
        if !flag(&click.ok) {
            return Err(LookupError::NotFound);
        }
        Ok(click.url.as_deref().and_then(web_url))
    }

    /// GETs `path` with `params` from the preferred server, moving on to the
    /// next when one cannot be reached, fails, is rate limited or answers
    /// something that is not JSON of the expected shape.
    async fn get_json<T: DeserializeOwned>(&self, path: &str, params: &[(&str, &str)]) -> Result<T, LookupError> {
        let mut last_error = LookupError::BadResponse("no Radio Browser server is configured".to_owned());
        for (index, base) in self.servers.attempts() {
            let mut url = base.join(path).map_err(|e| LookupError::BadResponse(format!("server url: {e}")))?;
            if !params.is_empty() {
                url.query_pairs_mut().extend_pairs(params);
            }
            let result = match self.api.send(self.api.get(url)).await {
                Ok(fetched) => check_status(&fetched).and_then(|()| parse_json::<T>(&fetched.body)),
                Err(e) => Err(e),
            };
            match result {
                Ok(value) => {
                    self.servers.answered(index);
                    return Ok(value);
                }
                Err(e) if worth_another_server(&e) => {
                    tracing::debug!(server = %base, error = %e, "radio browser server failed, trying the next");
                    last_error = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error)
    }
}

/// Whether another server may answer where this one failed: it was
/// unreachable, broken, busy or answered garbage. A refusal by the outbound
/// policy or a "not found" is the same on every server.
fn worth_another_server(error: &LookupError) -> bool {
    match error {
        LookupError::Fetch(e) => e.is_retryable(),
        LookupError::RateLimited { .. } | LookupError::BadResponse(_) => true,
        _ => false,
    }
}

/// `discovery_url` pointed at server `name`: same scheme and port, the
/// name as host, no path. `None` when `name` is not a plain host name.
fn server_base(discovery_url: &Url, name: &str) -> Option<Url> {
    let name = name.trim().trim_end_matches('.');
    let plain = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !plain {
        return None;
    }
    let mut base = discovery_url.clone();
    base.set_host(Some(name)).ok()?;
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    Some(base)
}

fn checked_uuid(uuid: &str) -> Result<String, LookupError> {
    let uuid = uuid.trim();
    if is_uuid(uuid) { Ok(uuid.to_ascii_lowercase()) } else { Err(LookupError::NotFound) }
}

/// The usable stations of a list answer, at most [`MAX_ENTRIES`] read.
fn stations_of(entries: Vec<Value>) -> impl Iterator<Item = Station> {
    entries.into_iter().take(MAX_ENTRIES).filter_map(station_from_json)
}

/// A station entry as the API sends it. Every field is optional and loosely
/// typed: one odd entry must not hide the others.
#[derive(Deserialize)]
struct RawStation {
    #[serde(default)]
    stationuuid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    url_resolved: Option<String>,
    #[serde(default)]
    homepage: Option<String>,
    #[serde(default)]
    favicon: Option<String>,
    #[serde(default)]
    tags: Option<String>,
    #[serde(default)]
    countrycode: Option<String>,
    #[serde(default)]
    codec: Option<String>,
    #[serde(default)]
    bitrate: Value,
    #[serde(default)]
    hls: Value,
    #[serde(default)]
    lastcheckok: Value,
}

fn station_from_json(entry: Value) -> Option<Station> {
    let raw: RawStation = serde_json::from_value(entry).ok()?;
    let uuid = checked_uuid(raw.stationuuid.as_deref()?).ok()?;
    let name = clean_text(raw.name.as_deref()?, MAX_NAME_CHARS);
    if name.is_empty() {
        return None;
    }
    let url_resolved =
        raw.url_resolved.as_deref().and_then(web_url).or_else(|| raw.url.as_deref().and_then(web_url))?;
    let tags = raw
        .tags
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|t| clean_text(t, MAX_TAG_CHARS))
        .filter(|t| !t.is_empty())
        .take(MAX_TAGS)
        .collect();
    let country_code = raw
        .countrycode
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()));
    let codec = clean_opt(raw.codec.as_deref(), MAX_CODEC_CHARS).filter(|c| !c.eq_ignore_ascii_case("unknown"));
    let bitrate_kbps =
        number(&raw.bitrate).and_then(|b| u32::try_from(b).ok()).filter(|b| (1..=MAX_BITRATE_KBPS).contains(b));
    Some(Station {
        uuid,
        name,
        url_resolved,
        homepage: raw.homepage.as_deref().and_then(web_url).map(String::from),
        favicon: raw.favicon.as_deref().and_then(web_url).map(String::from),
        tags,
        country_code,
        codec,
        bitrate_kbps,
        hls: flag(&raw.hls),
        last_check_ok: flag(&raw.lastcheckok),
    })
}

/// A flag the API sends as 0/1, as a boolean, or (in older answers) as text.
fn flag(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.trim(), "1" | "true"),
        _ => false,
    }
}

/// A non-negative whole number sent as a number or as text.
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const UUID: &str = "96062a7b-0601-11e8-ae97-52543be04c81";

    #[test]
    fn locators_name_a_uuid() {
        assert_eq!(parse_locator(&format!("radio:{UUID}")), Some(UUID));
        assert_eq!(parse_locator("radio:not-a-uuid"), None);
        assert_eq!(parse_locator(UUID), None);
        assert_eq!(parse_locator("audius:abc"), None);
        assert!(!is_uuid("96062a7b-0601-11e8-ae97-52543be04c8g"));
        assert!(!is_uuid("96062a7b00601-11e8-ae97-52543be04c81"));
    }

    #[test]
    fn an_entry_is_cleaned_and_bounded() {
        let entry = json!({
            "stationuuid": UUID.to_uppercase(),
            "name": format!("  Jazz\nRadio {}", "x".repeat(500)),
            "url": "http://example.com/jazz.pls",
            "url_resolved": "https://example.com/jazz.mp3",
            "homepage": "javascript:alert(1)",
            "favicon": "https://example.com/logo.png",
            "tags": "jazz, smooth jazz,,  ,".to_owned() + &"t,".repeat(30),
            "countrycode": "de",
            "codec": "MP3",
            "bitrate": 128,
            "hls": 0,
            "lastcheckok": 1,
        });
        let station = station_from_json(entry).unwrap();
        assert_eq!(station.uuid, UUID);
        assert!(station.name.starts_with("Jazz Radio x"));
        assert_eq!(station.name.chars().count(), MAX_NAME_CHARS);
        assert_eq!(station.url_resolved.as_str(), "https://example.com/jazz.mp3");
        assert_eq!(station.homepage, None);
        assert_eq!(station.favicon.as_deref(), Some("https://example.com/logo.png"));
        assert_eq!(station.tags.len(), MAX_TAGS);
        assert_eq!(station.tags[..2], ["jazz", "smooth jazz"]);
        assert_eq!(station.country_code.as_deref(), Some("DE"));
        assert_eq!(station.bitrate_kbps, Some(128));
        assert!(!station.hls);
        assert!(station.last_check_ok);
    }

    #[test]
    fn the_plain_url_stands_in_for_a_missing_resolved_one_and_no_link_means_no_station() {
        let station = station_from_json(
            json!({"stationuuid": UUID, "name": "A", "url": "http://a.example/s", "url_resolved": ""}),
        )
        .unwrap();
        assert_eq!(station.url_resolved.as_str(), "http://a.example/s");
        assert!(station_from_json(json!({"stationuuid": UUID, "name": "A", "url": "ftp://a.example/s"})).is_none());
        assert!(station_from_json(json!({"stationuuid": "nope", "name": "A", "url": "http://a.example/"})).is_none());
        assert!(station_from_json(json!({"stationuuid": UUID, "name": " ", "url": "http://a.example/"})).is_none());
        assert!(station_from_json(json!({"stationuuid": UUID, "name": 5, "url": "http://a.example/"})).is_none());
    }

    #[test]
    fn odd_numbers_and_flags_do_not_pass_as_real_ones() {
        let station = station_from_json(json!({
            "stationuuid": UUID, "name": "A", "url": "http://a.example/",
            "bitrate": 4_000_000_000_u64, "hls": "1", "lastcheckok": null, "countrycode": "DEU", "codec": "UNKNOWN",
        }))
        .unwrap();
        assert_eq!(station.bitrate_kbps, None);
        assert!(station.hls);
        assert!(!station.last_check_ok);
        assert_eq!(station.country_code, None);
        assert_eq!(station.codec, None);
    }

    #[test]
    fn a_station_is_a_live_track_with_its_country_and_tags_as_artist() {
        let station = Station {
            uuid: UUID.to_owned(),
            name: "Jazz Radio".to_owned(),
            url_resolved: Url::parse("https://example.com/jazz.mp3").unwrap(),
            homepage: None,
            favicon: Some("https://example.com/logo.png".to_owned()),
            tags: vec!["jazz".into(), "smooth".into(), "lounge".into(), "chill".into()],
            country_code: Some("DE".into()),
            codec: None,
            bitrate_kbps: None,
            hls: false,
            last_check_ok: true,
        };
        let meta = station.to_meta();
        assert_eq!(meta.origin, Origin::RadioBrowser);
        assert_eq!(meta.id, UUID);
        assert_eq!(meta.title, "Jazz Radio");
        assert_eq!(meta.artist.as_deref(), Some("DE · jazz · smooth · lounge"));
        assert_eq!(meta.artwork_url.as_deref(), Some("https://example.com/logo.png"));
        assert!(meta.live);
        assert_eq!(meta.duration_ms, None);
        assert_eq!(meta.locator.as_deref(), Some(format!("radio:{UUID}").as_str()));
        assert_eq!(parse_locator(meta.locator.as_deref().unwrap()), Some(UUID));

        let bare = Station { tags: Vec::new(), country_code: None, ..station };
        assert_eq!(bare.to_meta().artist, None);
    }

    #[test]
    fn server_bases_keep_the_discovery_scheme_and_port_and_refuse_odd_names() {
        let discovery = Url::parse("https://all.api.radio-browser.info/json/servers").unwrap();
        assert_eq!(
            server_base(&discovery, "de1.api.radio-browser.info.").unwrap().as_str(),
            "https://de1.api.radio-browser.info/"
        );
        let fake = Url::parse("http://127.0.0.1:4567/json/servers?x=1").unwrap();
        assert_eq!(server_base(&fake, "127.0.0.1").unwrap().as_str(), "http://127.0.0.1:4567/");
        assert!(server_base(&discovery, "evil.example/path").is_none());
        assert!(server_base(&discovery, "user@evil.example").is_none());
        assert!(server_base(&discovery, "").is_none());
    }
}
