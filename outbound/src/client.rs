//! The HTTP client every user-directed fetch goes through.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

use crate::address::{AddressClass, classify_ip};
use crate::{AllowList, FetchError, OutboundPolicy, Refusal, check_ip};

/// An HTTP client that reaches only destinations the policy allows.
///
/// Cheap to clone. The checks sit where reqwest cannot go around them:
/// - a resolver that hands reqwest only addresses passing [`check_ip`], so
///   the address checked is the address connected to (no rebinding window);
/// - a redirect policy that refuses other schemes, IP-literal hosts failing
///   [`check_ip`] and more than `max_redirects` hops (named hosts of a hop
///   go through the resolver);
/// - no proxy, so an environment proxy cannot connect on the bot's behalf.
///
/// reqwest does not resolve IP-literal hosts, so the first hop must pass
/// [`SafeHttpClient::check_url`] before a request is sent through
/// [`SafeHttpClient::reqwest`]; [`SafeHttpClient::get_limited`] does so itself.
#[derive(Clone)]
pub struct SafeHttpClient {
    policy: Arc<OutboundPolicy>,
    client: reqwest::Client,
}

impl SafeHttpClient {
    /// Builds the client for `policy`.
    ///
    /// # Panics
    /// When the TLS backend cannot be initialised, like `reqwest::Client::new`;
    /// use [`SafeHttpClient::try_new`] to handle that.
    pub fn new(policy: OutboundPolicy) -> Self {
        Self::try_new(policy).expect("the http client could not be built (TLS backend)")
    }

    /// Builds the client for `policy`.
    ///
    /// # Errors
    /// When reqwest cannot build its client (the TLS backend failed).
    pub fn try_new(policy: OutboundPolicy) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let resolver = CheckedResolver { allow: Arc::new(policy.allow.clone()) };
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .redirect(redirect_policy(policy.allow.clone(), policy.max_redirects))
            .connect_timeout(policy.connect_timeout)
            .read_timeout(policy.read_timeout)
            .user_agent(concat!("timmybot/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { policy, client })
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// The underlying reqwest client, for APIs that take one (songbird's
    /// `HttpRequest`). Check the first URL with [`SafeHttpClient::check_url`].
    pub fn reqwest(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Checks the first hop of a fetch: http(s) only, no credentials, and an
    /// IP-literal host must pass [`check_ip`]. Named hosts are checked when
    /// they resolve.
    ///
    /// # Errors
    /// The [`Refusal`] naming what is wrong.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        check_url_with(url, &self.policy.allow)
    }

    /// GETs `url` and returns its body, reading at most
    /// [`OutboundPolicy::max_body_bytes`]. Meant for metadata, not audio.
    ///
    /// # Errors
    /// [`FetchError::Refused`] for a refused destination or hop,
    /// [`FetchError::TooLarge`] when the body exceeds the limit (announced or
    /// read), [`FetchError::Status`] for a non-success answer,
    /// [`FetchError::Timeout`] or [`FetchError::Transport`] otherwise.
    pub async fn get_limited(&self, url: &Url) -> Result<Bytes, FetchError> {
        // Before reqwest sees it: it refuses other schemes with its own error.
        self.check_url(url)?;
        let fetched = self.fetch(self.client.get(url.clone())).await?;
        if !(200..300).contains(&fetched.status) {
            return Err(FetchError::Status(fetched.status));
        }
        Ok(fetched.body)
    }

    /// Starts a request of `method` to `url` on this client; send it with
    /// [`SafeHttpClient::fetch`], which checks the first hop.
    pub fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends `request` (built with [`SafeHttpClient::request`]) and reads its
    /// body, at most [`OutboundPolicy::max_body_bytes`], whatever the status:
    /// an API client reads its error bodies and `Retry-After` too.
    ///
    /// # Errors
    /// [`FetchError::Refused`] for a refused destination or hop,
    /// [`FetchError::TooLarge`] when the body exceeds the limit (announced or
    /// read), [`FetchError::Timeout`] or [`FetchError::Transport`] otherwise.
    pub async fn fetch(&self, request: reqwest::RequestBuilder) -> Result<Fetched, FetchError> {
        let request = request.build()?;
        self.check_url(request.url())?;
        let limit = self.policy.max_body_bytes;
        let mut response = self.client.execute(request).await?;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { status, headers, body: body.freeze() })
    }
}

/// A response read whole by [`SafeHttpClient::fetch`].
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body, at most the policy's `max_body_bytes`.
    pub body: Bytes,
}

impl Fetched {
    /// A header's value as text, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl SafeHttpClient {
    /// Asks the server (HEAD) how large the track at `url` is and refuses one
    /// announced over `max_track_bytes`, before any audio is fetched.
    ///
    /// A server that announces no size, or does not answer HEAD, passes: the
    /// GET that follows is bounded by the read timeout and played as a stream.
    ///
    /// # Errors
    /// [`FetchError::TooLarge`], or [`FetchError::Refused`] when the URL or a
    /// redirect is refused.
    pub async fn check_track_size(&self, url: &Url) -> Result<(), FetchError> {
        self.check_url(url)?;
        let limit = self.policy.max_track_bytes;
        let response = match self.client.head(url.clone()).send().await {
            Ok(response) => response,
            Err(e) => {
                return match FetchError::from(e) {
                    refused @ FetchError::Refused(_) => Err(refused),
                    _ => Ok(()),
                };
            }
        };
        // HEAD has no body, so reqwest reports no length: read the header.
        let announced = response
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match announced {
            Some(len) if response.status().is_success() && len > limit => Err(FetchError::TooLarge { limit }),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Debug for SafeHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeHttpClient").field("policy", &self.policy).finish_non_exhaustive()
    }
}

fn check_url_with(url: &Url, allow: &AllowList) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::SchemeNotAllowed);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::CredentialsInUrl);
    }
    match url.host() {
        None => Err(Refusal::NoHost),
        Some(Host::Ipv4(ip)) => check_ip(ip.into(), allow),
        Some(Host::Ipv6(ip)) => check_ip(ip.into(), allow),
        Some(Host::Domain(_)) => Ok(()),
    }
}

fn redirect_policy(allow: AllowList, max_redirects: usize) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` holds the first URL and every hop followed so far.
        if attempt.previous().len() > max_redirects {
            return attempt.error(Refusal::TooManyRedirects { limit: max_redirects });
        }
        match check_url_with(attempt.url(), &allow) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// Resolves with tokio and keeps only the addresses the policy allows.
struct CheckedResolver {
    allow: Arc<AllowList>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let host_allowed = allow.permits_host(&host);
            let mut first_refusal = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| {
                    let verdict = if host_allowed && classify_ip(addr.ip()) != Some(AddressClass::Metadata) {
                        Ok(())
                    } else {
                        check_ip(addr.ip(), &allow)
                    };
                    verdict.map_err(|refusal| first_refusal.get_or_insert(refusal).clone()).is_ok()
                })
                .collect();
            if allowed.is_empty() {
                return Err(match first_refusal {
                    Some(refusal) => refusal.into(),
                    None => io::Error::new(io::ErrorKind::NotFound, "name resolved to no address").into(),
                });
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
