//! Fakes of the music APIs and stream servers the sources talk to, each on
//! loopback and speaking that service's real wire shapes (modelled on its
//! public docs), so the real clients are tested over real HTTP.
//!
//! Every fake records the requests it saw ([`Seen`]), so a test can assert
//! the User-Agent, the app name or a click were sent.
//!
//! - [`streams`]: an Icecast/Shoutcast-like radio server (WAV tones with ICY
//!   titles) and a host for playlists and HLS segments.

pub mod apple;
pub mod audius;
pub mod deezer;
pub mod google_oauth;
pub mod radio_browser;
pub mod spotify;
pub mod spotify_accounts;
pub mod streams;
pub mod youtube_oembed;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Where the fakes listen unless told otherwise.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// One request a fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The method, upper case.
    pub method: String,
    /// The path and query, as sent.
    pub path_and_query: String,
    /// The User-Agent header, when sent.
    pub user_agent: Option<String>,
}

/// The requests a fake saw, shared between its handlers and the test.
#[derive(Debug, Clone, Default)]
pub struct SeenLog(Arc<Mutex<Vec<Seen>>>);

impl SeenLog {
    /// Records a request.
    pub fn push(&self, method: &http::Method, uri: &http::Uri, headers: &http::HeaderMap) {
        let seen = Seen {
            method: method.as_str().to_owned(),
            path_and_query: uri.path_and_query().map_or_else(|| uri.path().to_owned(), ToString::to_string),
            user_agent: headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        };
        self.0.lock().expect("seen log").push(seen);
    }

    /// Everything seen so far, oldest first.
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().expect("seen log").clone()
    }

    /// The requests whose path starts with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.path_and_query.starts_with(prefix)).collect()
    }
}

/// An axum router served on a loopback port until dropped.
#[derive(Debug)]
pub struct Served {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Served {
    /// Serves `router` on `127.0.0.1:<free port>`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(name: &'static str, router: axum::Router) -> anyhow::Result<Self> {
        Self::start_on(LOOPBACK, name, router).await
    }

    /// Serves `router` on `ip:<free port>` (any address of `127.0.0.0/8`
    /// is loopback on Linux: the sandbox puts its fakes on `127.0.0.2` so
    /// opening them to the bot leaves `127.0.0.1` refused).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: IpAddr, name: &'static str, router: axum::Router) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((ip, 0)).await.with_context(|| format!("bind fake {name}"))?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, name, "fake api server stopped");
            }
        });
        Ok(Self { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<ip>:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}
