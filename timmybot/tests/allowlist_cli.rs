//! `timmybot allowlist …` as an operator runs it: the real binary against
//! a real axum server with `admin_router` over an in-memory store, and
//! `--sigv4` against a server that captures the request so the signature
//! can be recomputed independently here.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use timmybot::admin_http::admin_router;
use timmybot_allowlist::admin_api::AdminApi;
use timmybot_allowlist::{AccessRequest, Allowlist, AllowlistSettings};
use timmybot_core::{Actor, AllowlistState, GuildId, ManualClock, Secret, UserId};
use timmybot_embedded::SqliteStore;

const BIN: &str = env!("CARGO_BIN_EXE_timmybot");
const NOW: u64 = 1_767_225_600;
const GUILD: u64 = 810_000_000_000_000_001;
const REQUESTER: u64 = 810_000_000_000_000_002;
const TOKEN: &str = "local-admin-token-3f9a7c";

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "session-token-example-7d1e";
const REGION: &str = "eu-west-1";

fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap()
}

/// A running admin server over a store with one pending request.
struct Server {
    url: String,
    allowlist: Arc<Allowlist>,
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn admin_server(token: Option<&str>) -> Server {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = ManualClock::at(NOW);
    let allowlist = Arc::new(Allowlist::new(store, Arc::new(clock.clone()), AllowlistSettings::default()));
    allowlist
        .request_access(AccessRequest {
            guild_id: guild(),
            guild_name: Some("Jazz Club".into()),
            member_count: Some(42),
            requested_by: UserId::new(REQUESTER).unwrap(),
            channel_id: None,
            reason: Some("we like music".into()),
        })
        .await
        .unwrap();
    clock.advance(60);
    let router = admin_router(AdminApi::new(allowlist.clone()), token.map(Secret::new));
    let addr = serve(router).await;
    Server { url: format!("http://{addr}/admin/allowlist"), allowlist }
}

/// Runs the binary with only PATH and `env` set, so nothing from the
/// developer's shell (tokens, AWS profiles) leaks in.
async fn timmybot(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    // The server runs on this test's runtime; wait for the child off it.
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(out: &Output) -> String {
    assert!(out.status.success(), "stdout:\n{}\nstderr:\n{}", stdout(out), stderr(out));
    assert!(!stdout(out).contains(TOKEN) && !stderr(out).contains(TOKEN), "the token was printed");
    stdout(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lists_shows_approves_sets_slots_and_revokes() {
    let server = admin_server(Some(TOKEN)).await;
    let env = [("TIMMYBOT_ADMIN_URL", server.url.as_str()), ("TIMMYBOT_ADMIN_TOKEN", TOKEN)];
    let id = GUILD.to_string();

    let out = assert_ok(&timmybot(&["allowlist", "list"], &env).await);
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("GUILD"), "{out}");
    let row = lines.next().unwrap();
    for expected in [id.as_str(), "pending", "Jazz Club", "42", "2026-01-01 00:00:00 UTC", "we like music"] {
        assert!(row.contains(expected), "{expected} missing from {row}");
    }

    let out = assert_ok(&timmybot(&["allowlist", "list", "--json"], &env).await);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["guilds"][0]["guild_id"], id);
    assert_eq!(json["next_cursor"], Value::Null);

    let out = assert_ok(&timmybot(&["allowlist", "list", "--state", "approved"], &env).await);
    assert_eq!(out, "no approved guilds\n");

    let out = assert_ok(&timmybot(&["allowlist", "show", &id, "--history", "5"], &env).await);
    assert!(out.contains("state:           pending"), "{out}");
    assert!(out.contains("name:            Jazz Club"), "{out}");
    assert!(out.contains(&format!("discord:{REQUESTER}")) && out.contains("- -> pending"), "{out}");

    let out = assert_ok(&timmybot(&["allowlist", "approve", &id, "--reason", "welcome aboard"], &env).await);
    assert!(out.starts_with(&format!("guild {id} is now approved\n")), "{out}");
    assert!(out.contains("decided by:      admin-token"), "{out}");
    let (record, history) = server.allowlist.show(guild(), 10).await.unwrap();
    assert_eq!(record.state, AllowlistState::Approved);
    assert_eq!(history[0].actor, Actor::AdminToken);
    assert_eq!(history[0].reason.as_deref(), Some("welcome aboard"));

    // The token as a flag instead of the environment.
    let flag_env = [("TIMMYBOT_ADMIN_URL", server.url.as_str())];
    let out = assert_ok(&timmybot(&["allowlist", "slots", "--set", "1", "--token", TOKEN], &flag_env).await);
    assert_eq!(out, "approved: 1\nlimit: 1\n");
    let usage = server.allowlist.slots().await.unwrap();
    assert_eq!((usage.approved, usage.limit), (1, Some(1)));

    let out = assert_ok(&timmybot(&["allowlist", "revoke", &id, "--reason", "bye"], &env).await);
    assert!(out.starts_with(&format!("guild {id} is now revoked\n")), "{out}");
    assert_eq!(server.allowlist.show(guild(), 1).await.unwrap().0.state, AllowlistState::Revoked);

    let out = assert_ok(&timmybot(&["allowlist", "slots", "--unlimited"], &env).await);
    assert_eq!(out, "approved: 0\nlimit: none\n");

    // A refusal: the API's message on stderr, non-zero exit.
    let out = timmybot(&["allowlist", "deny", &id], &env).await;
    assert!(!out.status.success());
    assert_eq!(stderr(&out), "timmybot: HTTP 409: cannot go from revoked to denied\n");
    assert_eq!(stdout(&out), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_token_is_401_and_changes_nothing() {
    let server = admin_server(Some(TOKEN)).await;
    let id = GUILD.to_string();
    let url = server.url.as_str();
    for env in [vec![("TIMMYBOT_ADMIN_URL", url)], vec![("TIMMYBOT_ADMIN_URL", url), ("TIMMYBOT_ADMIN_TOKEN", "nope")]]
    {
        let out = timmybot(&["allowlist", "approve", &id, "--force"], &env).await;
        assert!(!out.status.success(), "{}", stdout(&out));
        assert!(stderr(&out).starts_with("timmybot: HTTP 401: missing or wrong credentials"), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
    }
    // A prefix of the real token is no better than any other guess.
    let prefix = &TOKEN[..TOKEN.len() - 1];
    let out = timmybot(&["allowlist", "slots", "--set", "0", "--token", prefix], &[("TIMMYBOT_ADMIN_URL", url)]).await;
    assert!(!out.status.success());
    assert!(!stderr(&out).contains(prefix), "the token was printed");

    let (record, history) = server.allowlist.show(guild(), 10).await.unwrap();
    assert_eq!(record.state, AllowlistState::Pending);
    assert_eq!(history.len(), 1);
    assert_eq!(server.allowlist.slots().await.unwrap().limit, None);

    // Over plain HTTP: 401 with a challenge, before the body is read.
    let http = reqwest::Client::new();
    let response = http.post(format!("{url}/guilds/{id}/approve")).body(vec![b' '; 64 * 1024]).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_limits_bodies_and_serves_only_under_its_mount() {
    let server = admin_server(Some(TOKEN)).await;
    let http = reqwest::Client::new();
    let approve = format!("{}/guilds/{GUILD}/approve", server.url);

    let response = http.post(&approve).bearer_auth(TOKEN).body(vec![b' '; 16 * 1024 + 1]).send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "too_large");
    assert_eq!(server.allowlist.show(guild(), 1).await.unwrap().0.state, AllowlistState::Pending);

    let response = http.get(format!("{}/nope", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "not_found");

    let response = http.delete(format!("{}/slots", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 405);

    // The mount point itself is the API root (no route there).
    let response = http.get(&server.url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_are_off_without_a_token() {
    let server = admin_server(None).await;
    let env = [("TIMMYBOT_ADMIN_URL", server.url.as_str()), ("TIMMYBOT_ADMIN_TOKEN", TOKEN)];
    let out = timmybot(&["allowlist", "approve", &GUILD.to_string()], &env).await;
    assert!(!out.status.success());
    assert!(stderr(&out).starts_with("timmybot: HTTP 404: "), "{}", stderr(&out));

    let response = reqwest::Client::new().get(format!("{}/slots", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(server.allowlist.show(guild(), 1).await.unwrap().0.state, AllowlistState::Pending);
}

/// What the capturing server saw.
#[derive(Debug, Clone)]
struct Captured {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// A server that records every request and answers `answer`.
async fn capturing_server(answer: Value) -> (String, Arc<Mutex<Vec<Captured>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let router = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let log = log.clone();
        let answer = answer.clone();
        async move {
            log.lock().unwrap().push(Captured { method, uri, headers, body });
            axum::Json(answer)
        }
    });
    let addr = serve(router).await;
    (format!("http://{addr}"), seen)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4's URI encoding: everything but unreserved characters, `/` kept
/// when encoding a path.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Recomputes the SigV4 signature of `request` from the spec (AWS4-HMAC-SHA256,
/// non-S3 service: the path is encoded twice) and returns what was wrong, if
/// anything.
fn verify_sigv4(request: &Captured, service: &str, region: &str) -> Result<(), String> {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let authorization = header("authorization").ok_or("no Authorization header")?;
    let fields = authorization.strip_prefix("AWS4-HMAC-SHA256 ").ok_or("not AWS4-HMAC-SHA256")?;
    let field = |name: &str| {
        fields
            .split(',')
            .map(str::trim)
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
            .ok_or(format!("no {name} in Authorization"))
    };
    let credential = field("Credential")?;
    let signed_headers = field("SignedHeaders")?;
    let signature = field("Signature")?;

    let amz_date = header("x-amz-date").ok_or("no x-amz-date")?;
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    if credential != format!("{ACCESS_KEY}/{scope}") {
        return Err(format!("credential scope {credential} is not {ACCESS_KEY}/{scope}"));
    }
    let payload_hash = sha256_hex(&request.body);
    if header("x-amz-content-sha256").as_deref() != Some(payload_hash.as_str()) {
        return Err("x-amz-content-sha256 is not the SHA-256 of the body received".into());
    }
    let signed: Vec<&str> = signed_headers.split(';').collect();
    for required in ["host", "x-amz-date", "x-amz-content-sha256"] {
        if !signed.contains(&required) {
            return Err(format!("{required} is not signed"));
        }
    }
    let mut sorted = signed.clone();
    sorted.sort_unstable();
    if sorted != signed {
        return Err("SignedHeaders is not sorted".into());
    }

    let canonical_uri = uri_encode(&uri_encode(request.uri.path(), true), true);
    let mut query: Vec<(String, String)> = url::form_urlencoded::parse(request.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    query.sort();
    let canonical_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut canonical_headers = String::new();
    for name in &signed {
        let values: Vec<String> = request
            .headers
            .get_all(*name)
            .iter()
            .map(|v| v.to_str().unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} was not received"));
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical_request = format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        request.method
    );
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let key = [date, region, service, "aws4_request"]
        .iter()
        .fold(format!("AWS4{SECRET_KEY}").into_bytes(), |key, part| hmac(&key, part.as_bytes()));
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if expected != signature {
        return Err(format!("signature mismatch over:\n{canonical_request}"));
    }
    Ok(())
}

fn aws_env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("TIMMYBOT_ADMIN_URL", url),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_REGION", REGION),
        ("AWS_CONFIG_FILE", "/nonexistent/timmybot-test/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/timmybot-test/credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_requests_are_signed_over_the_exact_body() {
    let decided = json!({"guild": {
        "guild_id": GUILD.to_string(), "version": 2, "state": "approved", "requested_at": NOW, "updated_at": NOW,
        "decided_by": {"kind": "iam", "id": "arn:aws:iam::111122223333:user/maintainer"}
    }});
    let (url, seen) = capturing_server(decided).await;
    let env = aws_env(&url);
    let id = GUILD.to_string();

    // A token in the environment must not be sent once --sigv4 is chosen.
    let mut with_token = env.clone();
    with_token.push(("TIMMYBOT_ADMIN_TOKEN", TOKEN));
    let out =
        timmybot(&["allowlist", "--sigv4", "approve", &id, "--reason", "bienvenue — ok", "--force"], &with_token).await;
    let printed = assert_ok(&out);
    assert!(printed.starts_with(&format!("guild {id} is now approved")), "{printed}");
    assert!(printed.contains("iam:arn:aws:iam::111122223333:user/maintainer"), "{printed}");
    for secret in [SECRET_KEY, SESSION_TOKEN] {
        assert!(!printed.contains(secret) && !stderr(&out).contains(secret), "a credential was printed");
    }

    let (list_url, list_seen) = capturing_server(json!({"state": "approved", "guilds": [], "next_cursor": null})).await;
    let list_env = aws_env(&list_url);
    let out = timmybot(
        &["allowlist", "list", "--sigv4", "--state", "approved", "--limit", "5", "--cursor", "a+b/c=="],
        &list_env,
    )
    .await;
    assert_eq!(assert_ok(&out), "no approved guilds\n");

    let approve = seen.lock().unwrap()[0].clone();
    assert_eq!(approve.method, Method::POST);
    assert_eq!(approve.uri.path(), format!("/guilds/{GUILD}/approve"));
    let body: Value = serde_json::from_slice(&approve.body).unwrap();
    assert_eq!(body, json!({"reason": "bienvenue — ok", "force": true}));
    assert_eq!(approve.headers["x-amz-security-token"], SESSION_TOKEN);
    let authorization = approve.headers["authorization"].to_str().unwrap();
    assert!(!authorization.contains(TOKEN) && !authorization.starts_with("Bearer"), "{authorization}");
    assert!(authorization.contains("x-amz-security-token"), "the session token is signed: {authorization}");
    verify_sigv4(&approve, "lambda", REGION).unwrap();

    let list = list_seen.lock().unwrap()[0].clone();
    assert_eq!(list.method, Method::GET);
    assert_eq!(list.uri.query(), Some("state=approved&limit=5&cursor=a%2Bb%2Fc%3D%3D"));
    verify_sigv4(&list, "lambda", REGION).unwrap();

    // The verifier is not a rubber stamp: any change to what was signed fails.
    let mut tampered = approve.clone();
    tampered.body = Bytes::from(r#"{"reason":"bienvenue — ok","force":false}"#);
    assert!(verify_sigv4(&tampered, "lambda", REGION).is_err());
    let mut tampered = list.clone();
    tampered.uri = format!("{}?state=approved&limit=6&cursor=a%2Bb%2Fc%3D%3D", list.uri.path()).parse().unwrap();
    assert!(verify_sigv4(&tampered, "lambda", REGION).unwrap_err().starts_with("signature mismatch"));
    assert!(verify_sigv4(&list, "lambda", "us-east-1").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_region_flag_overrides_the_environment() {
    let (url, seen) = capturing_server(json!({"approved": 0, "limit": null})).await;
    let env = aws_env(&url);
    let out = timmybot(&["allowlist", "slots", "--sigv4", "--region", "ap-southeast-2"], &env).await;
    assert_eq!(assert_ok(&out), "approved: 0\nlimit: none\n");
    let request = seen.lock().unwrap()[0].clone();
    verify_sigv4(&request, "lambda", "ap-southeast-2").unwrap();
}
