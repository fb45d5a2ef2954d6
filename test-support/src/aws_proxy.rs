//! A recording HTTP proxy in front of an AWS emulator, to count the calls
//! a test's code makes at the wire (e.g. ECS `UpdateService`) and to act
//! at the moment one is made (before it is forwarded).
//!
//! Point a client at [`RecordingProxy::url`] instead of the emulator (an
//! SDK config's endpoint, or `AWS_ENDPOINT_URL_ECS`). Calls are told apart
//! by their `X-Amz-Target` header (the JSON protocols: ECS, DynamoDB, SQS).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
pub use futures_util::future::BoxFuture;
use serde_json::Value;

/// One call that went through the proxy.
#[derive(Debug, Clone)]
pub struct RecordedAwsCall {
    /// The operation, the part of `X-Amz-Target` after the dot
    /// (`UpdateService`); empty without the header.
    pub operation: String,
    /// The request body as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
}

/// Runs before a call is forwarded; the call waits for it.
pub type BeforeForward = Arc<dyn Fn(RecordedAwsCall) -> BoxFuture<'static, ()> + Send + Sync>;

struct Shared {
    upstream: String,
    http: reqwest::Client,
    calls: Mutex<Vec<RecordedAwsCall>>,
    before: Option<BeforeForward>,
}

/// The running proxy; stops when dropped.
pub struct RecordingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    /// Starts a proxy on `listener` (bound before, so a test can name its
    /// address in the environment before any thread starts) forwarding to
    /// `upstream` (`http://host:port`). Call inside a tokio runtime.
    ///
    /// # Errors
    /// The listener cannot be used.
    pub fn start(
        listener: std::net::TcpListener,
        upstream: &str,
        before: Option<BeforeForward>,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            calls: Mutex::new(Vec::new()),
            before,
        });
        let app = axum::Router::new().fallback(forward).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, server })
    }

    /// The proxy's URL, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<RecordedAwsCall> {
        self.shared.calls.lock().expect("calls lock").clone()
    }

    /// The bodies of the calls to `operation` so far.
    pub fn calls_to(&self, operation: &str) -> Vec<Value> {
        self.calls().into_iter().filter(|c| c.operation == operation).map(|c| c.body).collect()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_owned();
    let call = RecordedAwsCall { operation, body: serde_json::from_slice(&body).unwrap_or(Value::Null) };
    shared.calls.lock().expect("calls lock").push(call.clone());
    if let Some(before) = &shared.before {
        before(call).await;
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = shared.http.request(method, format!("{}{path}", shared.upstream)).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = (status, body).into_response();
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
