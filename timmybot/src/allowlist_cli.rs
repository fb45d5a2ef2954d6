//! `timmybot allowlist …`: a client for the allowlist admin API, local
//! (`timmybot serve` under `/admin/allowlist`, bearer token) or on AWS (the
//! `allowlist-admin` Lambda's Function URL, SigV4 with the default AWS
//! credential chain).
//!
//! The CLI holds no rules: every command is one HTTP request and the API's
//! answer is shown as a table, or as it came with `--json`. A refusal
//! prints the API's message and exits non-zero.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use serde_json::{Value, json};
use timmybot_core::{AllowlistEvent, AllowlistRecord, GuildId, Secret};
use url::Url;

/// Where the CLI talks to when neither `--url` nor [`URL_VAR`] says.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/admin/allowlist";
/// Environment variable with the API's base URL.
pub const URL_VAR: &str = "TIMMYBOT_ADMIN_URL";
/// Environment variable with the local admin token.
pub const TOKEN_VAR: &str = "TIMMYBOT_ADMIN_TOKEN";
/// The SigV4 service name of Lambda Function URLs.
const SIGV4_SERVICE: &str = "lambda";
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `timmybot allowlist`: options shared by every subcommand.
#[derive(Args)]
pub struct AllowlistArgs {
    /// The admin API's base URL: `timmybot serve`'s `/admin/allowlist`, or
    /// the allowlist-admin Lambda's Function URL.
    #[arg(long, env = URL_VAR, default_value = DEFAULT_URL, global = true)]
    pub url: String,
    /// The local admin token, sent as a bearer token. Prefer the
    /// environment variable: arguments are visible to other local users.
    #[arg(long, env = TOKEN_VAR, hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Sign requests with AWS SigV4 (service `lambda`) using the default
    /// AWS credential chain, for the IAM-authenticated Function URL. Any
    /// token is then not sent.
    #[arg(long, global = true)]
    pub sigv4: bool,
    /// The AWS region to sign for (default: from the AWS configuration).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: AllowlistCommand,
}

/// The subcommands of `timmybot allowlist`.
#[derive(Subcommand)]
pub enum AllowlistCommand {
    /// List guilds in one state, most recently changed first.
    List {
        /// pending, approved, denied or revoked.
        #[arg(long, default_value = "pending")]
        state: String,
        /// Page size, 1 to 100 (the API's default is 25).
        #[arg(long)]
        limit: Option<u32>,
        /// The cursor printed under the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one guild with its history.
    Show {
        /// The guild id.
        guild: String,
        /// How many history events, 1 to 100 (the API's default is 50).
        #[arg(long)]
        history: Option<u32>,
    },
    /// Approve a pending or revoked guild.
    Approve {
        /// The guild id.
        guild: String,
        /// Why; recorded and told to the requester.
        #[arg(long)]
        reason: Option<String>,
        /// Approve even when every slot is taken.
        #[arg(long)]
        force: bool,
    },
    /// Deny a pending guild.
    Deny {
        /// The guild id.
        guild: String,
        /// Why; recorded and told to the requester.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Revoke an approved guild.
    Revoke {
        /// The guild id.
        guild: String,
        /// Why; recorded and told to the requester.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Show the slot usage, or set or remove the limit.
    Slots {
        /// Allow at most this many approved guilds (without --force).
        #[arg(long, conflicts_with = "unlimited")]
        set: Option<u64>,
        /// Remove the limit.
        #[arg(long)]
        unlimited: bool,
    },
}

/// Runs one `timmybot allowlist` command, printing to stdout.
///
/// # Errors
/// A usage problem, a request that could not be sent, or a non-2xx answer,
/// whose message is the API's `message`. Never contains a credential.
pub async fn run(args: AllowlistArgs) -> anyhow::Result<()> {
    let auth = if args.sigv4 {
        Auth::SigV4(SigV4::from_default_chain(args.region.as_deref()).await?)
    } else {
        // Without a token the request still goes out: the server's 401
        // (or 404 when its admin API is off) is the authoritative answer.
        match args.token.filter(|t| !t.trim().is_empty()) {
            Some(token) => Auth::Bearer(Secret::new(token.trim())),
            None => Auth::None,
        }
    };
    let client = AdminClient::new(&args.url, auth)?;
    let request = ApiRequest::from_command(&args.command)?;
    let body = client.send(&request).await?;
    let output = if args.json { format!("{body}\n") } else { render(&args.command, &body)? };
    print!("{output}");
    Ok(())
}

/// One call of the API, before authentication.
#[derive(Debug, PartialEq)]
struct ApiRequest {
    method: Method,
    /// Below the base URL, starting with `/`.
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl ApiRequest {
    fn from_command(command: &AllowlistCommand) -> anyhow::Result<Self> {
        let get = |path: String, query| Self { method: Method::GET, path, query, body: None };
        Ok(match command {
            AllowlistCommand::List { state, limit, cursor } => {
                let mut query = vec![("state", state.clone())];
                query.extend(limit.map(|l| ("limit", l.to_string())));
                query.extend(cursor.clone().map(|c| ("cursor", c)));
                get("/guilds".to_owned(), query)
            }
            AllowlistCommand::Show { guild, history } => get(
                format!("/guilds/{}", guild_id(guild)?),
                history.map(|h| ("history", h.to_string())).into_iter().collect(),
            ),
            AllowlistCommand::Approve { guild, reason, force } => {
                let mut body = json!({ "reason": reason });
                if *force {
                    body["force"] = json!(true);
                }
                Self::post(guild, "approve", body)?
            }
            AllowlistCommand::Deny { guild, reason } => Self::post(guild, "deny", json!({ "reason": reason }))?,
            AllowlistCommand::Revoke { guild, reason } => Self::post(guild, "revoke", json!({ "reason": reason }))?,
            AllowlistCommand::Slots { set, unlimited } => match (set, unlimited) {
                (None, false) => get("/slots".to_owned(), Vec::new()),
                (limit, _) => Self {
                    method: Method::PUT,
                    path: "/slots".to_owned(),
                    query: Vec::new(),
                    body: Some(json!({ "limit": limit })),
                },
            },
        })
    }

    fn post(guild: &str, verb: &str, body: Value) -> anyhow::Result<Self> {
        let path = format!("/guilds/{}/{verb}", guild_id(guild)?);
        Ok(Self { method: Method::POST, path, query: Vec::new(), body: Some(body) })
    }
}

/// Checked here so nothing but a snowflake ever lands in the URL path.
fn guild_id(text: &str) -> anyhow::Result<GuildId> {
    text.trim().parse().map_err(|_| anyhow!("GUILD must be a Discord guild id (a number)"))
}

enum Auth {
    None,
    Bearer(Secret),
    SigV4(SigV4),
}

/// AWS credentials and region for signing, from the default chain.
struct SigV4 {
    credentials: aws_credential_types::Credentials,
    region: String,
}

impl SigV4 {
    async fn from_default_chain(region: Option<&str>) -> anyhow::Result<Self> {
        use aws_credential_types::provider::ProvideCredentials;

        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        let sdk = loader.load().await;
        let region = sdk
            .region()
            .map(ToString::to_string)
            .ok_or_else(|| anyhow!("--sigv4 needs a region: pass --region or set AWS_REGION"))?;
        let provider =
            sdk.credentials_provider().ok_or_else(|| anyhow!("--sigv4: no AWS credentials provider is configured"))?;
        // The SDK's error names the providers it tried, never a key.
        let credentials = provider.provide_credentials().await.context("--sigv4: could not load AWS credentials")?;
        Ok(Self { credentials, region })
    }

    /// Signs `request` (whose body is final) in place: adds `x-amz-date`,
    /// `x-amz-content-sha256` (over the exact body), the session token if
    /// any, and `Authorization`.
    fn sign(&self, request: &mut reqwest::Request) -> anyhow::Result<()> {
        use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
        use aws_sigv4::sign::v4;

        let body = request.body().map_or(Some(&[][..]), reqwest::Body::as_bytes).context("body must be in memory")?;
        let headers: Vec<(&str, &str)> =
            request.headers().iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))).collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .context("request cannot be signed")?;
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGV4_SERVICE)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .context("signing parameters")?
            .into();
        let (instructions, _signature) = sign(signable, &params).context("signing failed")?.into_parts();
        let (headers, _query) = instructions.into_parts();
        for header in headers {
            let mut value = HeaderValue::from_str(header.value()).context("signature header")?;
            value.set_sensitive(header.sensitive());
            request.headers_mut().insert(header.name(), value);
        }
        Ok(())
    }
}

struct AdminClient {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
}

impl AdminClient {
    fn new(base: &str, auth: Auth) -> anyhow::Result<Self> {
        let base = Url::parse(base.trim()).map_err(|_| anyhow!("--url is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            bail!("--url must be an http(s) URL");
        }
        // No redirects: a redirect could carry the token or a signed
        // request somewhere the operator did not name.
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self { http, base, auth })
    }

    fn url(&self, request: &ApiRequest) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{}", url.path().trim_end_matches('/'), request.path);
        url.set_path(&path);
        url.set_query(None);
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// Sends `request` and returns the JSON of a 2xx answer.
    async fn send(&self, request: &ApiRequest) -> anyhow::Result<Value> {
        let url = self.url(request);
        let mut builder = self.http.request(request.method.clone(), url.clone());
        if let Some(body) = &request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let mut http_request = builder.build().context("cannot build the request")?;
        match &self.auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| anyhow!("the admin token contains characters not allowed in a header"))?;
                value.set_sensitive(true);
                http_request.headers_mut().insert(AUTHORIZATION, value);
            }
            Auth::SigV4(signer) => {
                // Host is signed, so send exactly the value that was signed.
                let host = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_owned(),
                };
                http_request.headers_mut().insert(HOST, HeaderValue::from_str(&host).context("host header")?);
                signer.sign(&mut http_request)?;
            }
        }
        let response = self
            .http
            .execute(http_request)
            .await
            .with_context(|| format!("could not reach the admin API at {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the answer failed")?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if !status.is_success() {
            let message = json
                .as_ref()
                .and_then(|j| j["message"].as_str())
                .map(clean)
                .unwrap_or_else(|| "no admin API answered at this URL (is the admin token configured?)".to_owned());
            let hint = match (&self.auth, status.as_u16()) {
                (Auth::None, 401) => format!(" (set {TOKEN_VAR} or pass --token; --sigv4 for the AWS endpoint)"),
                _ => String::new(),
            };
            bail!("HTTP {}: {message}{hint}", status.as_u16());
        }
        json.ok_or_else(|| anyhow!("the admin API answered {status} without JSON"))
    }
}

/// The human-readable form of an answer.
fn render(command: &AllowlistCommand, body: &Value) -> anyhow::Result<String> {
    let mut out = String::new();
    match command {
        AllowlistCommand::List { .. } => {
            let records: Vec<AllowlistRecord> = serde_json::from_value(body["guilds"].clone()).context("answer")?;
            let state = body["state"].as_str().unwrap_or("matching");
            if records.is_empty() {
                writeln!(out, "no {state} guilds")?;
            } else {
                let rows = records
                    .iter()
                    .map(|r| {
                        vec![
                            r.guild_id.to_string(),
                            r.state.to_string(),
                            clean(r.guild_name.as_deref().unwrap_or("-")),
                            r.member_count.map_or_else(|| "-".to_owned(), |n| n.to_string()),
                            r.requested_by.map_or_else(|| "-".to_owned(), |u| u.to_string()),
                            utc(r.requested_at),
                            clean(r.reason.as_deref().unwrap_or("")),
                        ]
                    })
                    .collect();
                out.push_str(&table(
                    &["GUILD", "STATE", "NAME", "MEMBERS", "REQUESTED BY", "REQUESTED AT", "REASON"],
                    rows,
                ));
            }
            if let Some(cursor) = body["next_cursor"].as_str() {
                writeln!(out, "more: timmybot allowlist list --state {state} --cursor {}", clean(cursor))?;
            }
        }
        AllowlistCommand::Show { .. } => {
            let record: AllowlistRecord = serde_json::from_value(body["guild"].clone()).context("answer")?;
            let history: Vec<AllowlistEvent> = serde_json::from_value(body["history"].clone()).context("answer")?;
            out.push_str(&record_lines(&record));
            writeln!(out)?;
            let rows = history
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        utc(e.at),
                        clean(&e.actor.to_string()),
                        format!("{} -> {}", e.from.map_or("-", |s| s.as_str()), e.to),
                        if e.forced { "yes".to_owned() } else { String::new() },
                        clean(e.reason.as_deref().unwrap_or("")),
                    ]
                })
                .collect();
            out.push_str(&table(&["SEQ", "AT", "ACTOR", "CHANGE", "FORCED", "REASON"], rows));
        }
        AllowlistCommand::Approve { .. } | AllowlistCommand::Deny { .. } | AllowlistCommand::Revoke { .. } => {
            let record: AllowlistRecord = serde_json::from_value(body["guild"].clone()).context("answer")?;
            writeln!(out, "guild {} is now {}", record.guild_id, record.state)?;
            out.push_str(&record_lines(&record));
        }
        AllowlistCommand::Slots { .. } => {
            let approved = body["approved"].as_u64().context("answer has no approved count")?;
            let limit = body["limit"].as_u64().map_or_else(|| "none".to_owned(), |l| l.to_string());
            writeln!(out, "approved: {approved}")?;
            writeln!(out, "limit: {limit}")?;
        }
    }
    Ok(out)
}

fn record_lines(r: &AllowlistRecord) -> String {
    let mut lines: Vec<(&str, String)> = vec![("guild", r.guild_id.to_string()), ("state", r.state.to_string())];
    let mut push = |name, value: Option<String>| {
        if let Some(value) = value {
            lines.push((name, value));
        }
    };
    push("name", r.guild_name.as_deref().map(clean));
    push("members", r.member_count.map(|n| n.to_string()));
    push("requested by", r.requested_by.map(|u| u.to_string()));
    push("requested at", Some(utc(r.requested_at)));
    push("reason", r.reason.as_deref().map(clean));
    push("decided by", r.decided_by.as_ref().map(|a| clean(&a.to_string())));
    push("decided at", r.decided_at.map(utc));
    push("decision reason", r.decision_reason.as_deref().map(clean));
    push("version", Some(r.version.to_string()));
    lines.iter().fold(String::new(), |mut out, (name, value)| {
        let _ = writeln!(out, "{:<16} {value}", format!("{name}:"));
        out
    })
}

/// Columns padded to their widest cell; the last column is not padded.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.into_iter().map(|row| row.iter().map(|c| clean(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header = header.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Text from the API without control characters, so a guild name cannot
/// move the cursor or recolour the terminal.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_767_225_600), "2026-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400 + 3_661), "2000-02-29 01:01:01 UTC");
    }

    #[test]
    fn guild_ids_are_checked_before_they_reach_a_path() {
        let command = AllowlistCommand::Approve { guild: "../slots".into(), reason: None, force: false };
        assert!(ApiRequest::from_command(&command).is_err());
        let command = AllowlistCommand::Approve { guild: "42".into(), reason: Some("ok".into()), force: true };
        let request = ApiRequest::from_command(&command).unwrap();
        assert_eq!(request.path, "/guilds/42/approve");
        assert_eq!(request.body, Some(json!({"reason": "ok", "force": true})));
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_the_query() {
        let client = AdminClient::new("http://h:1/admin/allowlist/", Auth::Bearer(Secret::new("t"))).unwrap();
        let command = AllowlistCommand::List { state: "pending".into(), limit: Some(5), cursor: Some("a+b/c".into()) };
        let url = client.url(&ApiRequest::from_command(&command).unwrap());
        assert_eq!(url.as_str(), "http://h:1/admin/allowlist/guilds?state=pending&limit=5&cursor=a%2Bb%2Fc");
    }

    #[test]
    fn tables_align_and_strip_control_characters() {
        let out = table(&["A", "LONGER"], vec![vec!["xx\u{1b}[31m".into(), "y".into()]]);
        assert_eq!(out, "A       LONGER\nxx[31m  y\n");
    }
}
