//! The safe client against real HTTP servers on loopback: every refusal
//! happens before a connection reaches a server that must not be reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use timmybot_outbound::{AddressClass, AllowList, FetchError, OutboundPolicy, Refusal, SafeHttpClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// What the test server answers, given the request path.
#[derive(Clone)]
enum Answer {
    /// 200 with this many bytes; `announce` sends a Content-Length.
    Body { len: usize, announce: bool },
    /// 302 to this location.
    Redirect(String),
    /// Accept, read the request, never answer.
    Silence,
    /// These bytes as they are.
    Raw(String),
}

/// A raw HTTP/1.1 server on 127.0.0.1 that counts accepted connections.
struct TestServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl TestServer {
    async fn start(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, answer.clone()));
            }
        });
        Self { addr, accepted }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, answer: Arc<impl Fn(&str) -> Answer>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let reply = match answer(&path) {
        Answer::Body { len, announce } => {
            let length = if announce { format!("Content-Length: {len}\r\n") } else { String::new() };
            let mut reply = format!("HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n").into_bytes();
            reply.extend(std::iter::repeat_n(b'a', len));
            reply
        }
        Answer::Redirect(location) => {
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Answer::Silence => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        Answer::Raw(bytes) => bytes.into_bytes(),
    };
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
}

fn ok_body(_: &str) -> Answer {
    Answer::Body { len: 2, announce: true }
}

fn loopback_allowed() -> OutboundPolicy {
    OutboundPolicy { allow: AllowList::parse(["127.0.0.1/32"]).unwrap(), ..OutboundPolicy::default() }
}

/// Fetches with the client, bounded so a refusal that waited for a network
/// timeout fails the test instead of passing slowly.
async fn fetch(client: &SafeHttpClient, url: &str) -> Result<bytes::Bytes, FetchError> {
    let url = Url::parse(url).unwrap();
    tokio::time::timeout(Duration::from_secs(3), client.get_limited(&url)).await.expect("answered within 3 s")
}

fn assert_refused(result: Result<bytes::Bytes, FetchError>, expected: Refusal, message: &str) {
    match result {
        Err(FetchError::Refused(refusal)) => {
            assert_eq!(refusal, expected);
            assert_eq!(FetchError::Refused(refusal).user_message(), message);
        }
        other => panic!("expected refusal {expected:?}, got {other:?}"),
    }
}

const NOT_ALLOWED: &str = "That address is not allowed.";

#[tokio::test]
async fn the_loopback_control_server_is_reachable_when_allowed() {
    // Guards the refusal tests: the same server answers when the policy opts in.
    let server = TestServer::start(ok_body).await;
    let client = SafeHttpClient::new(loopback_allowed());
    assert_eq!(fetch(&client, server.url("/").as_str()).await.unwrap().as_ref(), b"aa");
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn default_policy_refuses_a_loopback_ip_literal_without_connecting() {
    let server = TestServer::start(ok_body).await;
    let client = SafeHttpClient::new(OutboundPolicy::default());
    let result = fetch(&client, &format!("http://127.0.0.1:{}/", server.addr.port())).await;
    assert_refused(result, Refusal::AddressNotAllowed(AddressClass::Loopback), NOT_ALLOWED);
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn default_policy_refuses_a_name_resolving_to_loopback_without_connecting() {
    let server = TestServer::start(ok_body).await;
    let client = SafeHttpClient::new(OutboundPolicy::default());
    let result = fetch(&client, &format!("http://localhost:{}/", server.addr.port())).await;
    assert_refused(result, Refusal::AddressNotAllowed(AddressClass::Loopback), NOT_ALLOWED);
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn the_resolver_refuses_even_when_the_raw_reqwest_client_is_used() {
    // songbird gets `reqwest()`; a named host must still be refused there.
    let server = TestServer::start(ok_body).await;
    let client = SafeHttpClient::new(OutboundPolicy::default());
    let error = client.reqwest().get(format!("http://localhost:{}/", server.addr.port())).send().await.unwrap_err();
    assert_eq!(Refusal::find_in(&error), Some(&Refusal::AddressNotAllowed(AddressClass::Loopback)));
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn default_policy_refuses_an_ipv4_mapped_loopback_without_connecting() {
    let server = TestServer::start(ok_body).await;
    let client = SafeHttpClient::new(OutboundPolicy::default());
    let result = fetch(&client, &format!("http://[::ffff:127.0.0.1]:{}/", server.addr.port())).await;
    assert_refused(result, Refusal::AddressNotAllowed(AddressClass::Loopback), NOT_ALLOWED);
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn default_policy_refuses_metadata_endpoints_before_connecting() {
    let client = SafeHttpClient::new(OutboundPolicy::default());
    for url in ["http://169.254.169.254/latest/meta-data/", "http://169.254.170.2/v2/credentials"] {
        assert_refused(fetch(&client, url).await, Refusal::AddressNotAllowed(AddressClass::Metadata), NOT_ALLOWED);
    }
}

#[tokio::test]
async fn even_a_loopback_allowing_policy_refuses_metadata_endpoints() {
    let policy = OutboundPolicy { allow: AllowList::parse(["169.254.0.0/16"]).unwrap(), ..OutboundPolicy::default() };
    let client = SafeHttpClient::new(policy);
    let result = fetch(&client, "http://169.254.169.254/latest/meta-data/").await;
    assert_refused(result, Refusal::AddressNotAllowed(AddressClass::Metadata), NOT_ALLOWED);
}

#[tokio::test]
async fn non_http_schemes_and_credentials_are_refused() {
    let client = SafeHttpClient::new(loopback_allowed());
    let scheme = "Only http and https links are allowed.";
    assert_refused(fetch(&client, "file:///etc/passwd").await, Refusal::SchemeNotAllowed, scheme);
    assert_refused(fetch(&client, "ftp://x/").await, Refusal::SchemeNotAllowed, scheme);
    assert_refused(
        fetch(&client, "http://user:pw@127.0.0.1/").await,
        Refusal::CredentialsInUrl,
        "Links with a user name or password are not allowed.",
    );
}

#[tokio::test]
async fn a_redirect_to_the_metadata_endpoint_is_refused_at_the_hop() {
    let server = TestServer::start(|_| Answer::Redirect("http://169.254.169.254/latest/meta-data/".into())).await;
    let client = SafeHttpClient::new(loopback_allowed());
    let result = fetch(&client, server.url("/").as_str()).await;
    assert_refused(result, Refusal::AddressNotAllowed(AddressClass::Metadata), NOT_ALLOWED);
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn a_redirect_to_a_loopback_address_outside_the_allow_list_is_refused_at_the_hop() {
    let target = TestServer::start(ok_body).await;
    let port = target.addr.port();
    let server = TestServer::start(move |_| Answer::Redirect(format!("http://127.0.0.2:{port}/"))).await;
    let client = SafeHttpClient::new(loopback_allowed());
    let result = fetch(&client, server.url("/").as_str()).await;
    assert_refused(result, Refusal::AddressNotAllowed(AddressClass::Loopback), NOT_ALLOWED);
    assert_eq!((server.accepted(), target.accepted()), (1, 0));
}

#[tokio::test]
async fn an_allowed_host_name_is_reachable_but_its_address_is_not() {
    // Host entries allow a name, not the addresses behind it: the redirect
    // from the allowed name to the bare loopback address is refused.
    let server = TestServer::start(|path| {
        if path == "/to-literal" { Answer::Redirect(String::from("/literal")) } else { ok_body(path) }
    })
    .await;
    let port = server.addr.port();
    let redirector = TestServer::start(move |_| Answer::Redirect(format!("http://127.0.0.1:{port}/"))).await;
    let policy = OutboundPolicy { allow: AllowList::parse(["localhost"]).unwrap(), ..OutboundPolicy::default() };
    let client = SafeHttpClient::new(policy);
    assert_eq!(fetch(&client, &format!("http://localhost:{port}/to-literal")).await.unwrap().as_ref(), b"aa");
    assert_eq!(server.accepted(), 2);
    let result = fetch(&client, &format!("http://localhost:{}/", redirector.addr.port())).await;
    assert_refused(result, Refusal::AddressNotAllowed(AddressClass::Loopback), NOT_ALLOWED);
    assert_eq!((redirector.accepted(), server.accepted()), (1, 2));
}

/// `/hop/n` redirects to `/hop/n+1` until `last`, which answers 200.
fn chain(last: usize) -> impl Fn(&str) -> Answer + Send + Sync + 'static {
    move |path| {
        let n: usize = path.trim_start_matches("/hop/").parse().unwrap_or(0);
        if n >= last { ok_body(path) } else { Answer::Redirect(format!("/hop/{}", n + 1)) }
    }
}

#[tokio::test]
async fn five_redirects_are_followed() {
    let server = TestServer::start(chain(5)).await;
    let client = SafeHttpClient::new(loopback_allowed());
    assert_eq!(fetch(&client, server.url("/hop/0").as_str()).await.unwrap().as_ref(), b"aa");
    assert_eq!(server.accepted(), 6);
}

#[tokio::test]
async fn a_sixth_redirect_exceeds_the_limit() {
    let server = TestServer::start(chain(6)).await;
    let client = SafeHttpClient::new(loopback_allowed());
    let result = fetch(&client, server.url("/hop/0").as_str()).await;
    assert_refused(result, Refusal::TooManyRedirects { limit: 5 }, "That link redirects too many times.");
    assert_eq!(server.accepted(), 6, "the sixth redirect target is never requested");
}

fn small_body_policy() -> OutboundPolicy {
    OutboundPolicy { max_body_bytes: 1024, ..loopback_allowed() }
}

#[tokio::test]
async fn a_body_over_the_limit_is_cut_while_reading() {
    let server = TestServer::start(|_| Answer::Body { len: 64 * 1024, announce: false }).await;
    let client = SafeHttpClient::new(small_body_policy());
    match fetch(&client, server.url("/").as_str()).await {
        Err(error @ FetchError::TooLarge { limit: 1024 }) => {
            assert_eq!(error.user_message(), "That file is too large.")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn a_body_announced_over_the_limit_is_refused_before_reading() {
    let server = TestServer::start(|_| Answer::Body { len: 1025, announce: true }).await;
    let client = SafeHttpClient::new(small_body_policy());
    assert!(matches!(fetch(&client, server.url("/").as_str()).await, Err(FetchError::TooLarge { limit: 1024 })));
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_read_whole() {
    let server = TestServer::start(|_| Answer::Body { len: 1024, announce: false }).await;
    let client = SafeHttpClient::new(small_body_policy());
    assert_eq!(fetch(&client, server.url("/").as_str()).await.unwrap().len(), 1024);
}

#[tokio::test]
async fn a_silent_server_hits_the_read_timeout() {
    let server = TestServer::start(|_| Answer::Silence).await;
    let policy = OutboundPolicy { read_timeout: Duration::from_millis(300), ..loopback_allowed() };
    let client = SafeHttpClient::new(policy);
    let started = std::time::Instant::now();
    match fetch(&client, server.url("/").as_str()).await {
        Err(error @ FetchError::Timeout(_)) => {
            assert_eq!(error.user_message(), "That source took too long to answer.");
            assert!(error.is_retryable());
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(server.accepted(), 1);
}

#[test]
fn user_messages_never_name_the_address_or_the_class() {
    let refusal = Refusal::AddressNotAllowed(AddressClass::Metadata);
    assert!(refusal.to_string().contains("metadata"), "logs name the class");
    for message in [refusal.user_message(), FetchError::Refused(refusal.clone()).user_message()] {
        assert!(!message.contains("169.254") && !message.contains("metadata"), "{message}");
    }
}

#[tokio::test]
async fn fetch_reads_error_answers_whole_and_keeps_their_headers() {
    let server = TestServer::start(|_| {
        Answer::Raw(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow"
                .into(),
        )
    })
    .await;
    let client = SafeHttpClient::new(loopback_allowed());
    let fetched = client.fetch(client.request(reqwest::Method::GET, server.url("/"))).await.unwrap();
    assert_eq!(fetched.status, 429);
    assert_eq!(fetched.header("retry-after"), Some("7"));
    assert_eq!(&fetched.body[..], b"slow");
    // The same answer through get_limited is an error status.
    assert!(matches!(client.get_limited(&server.url("/")).await, Err(FetchError::Status(429))));
    // And fetch checks the first hop like every other call.
    let internal = url::Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();
    let refused = client.fetch(client.request(reqwest::Method::GET, internal)).await;
    assert!(matches!(refused, Err(FetchError::Refused(Refusal::AddressNotAllowed(_)))), "{refused:?}");
}
