//! `timmybot healthcheck`: the container's health check. ECS runs it inside
//! the task (the image has no curl), so it asks the platform's own
//! `GET /health` on loopback and exits non-zero unless every shard is
//! connected.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long the check waits; ECS's own check timeout is longer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The health URL of a platform listening on `listen`. A wildcard address
/// (`0.0.0.0`, `::`) is asked on loopback.
pub fn health_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/health", SocketAddr::new(ip, listen.port()))
}

/// Asks `url`; healthy means HTTP 200.
///
/// # Errors
/// The platform is unreachable, too slow, or answers anything but 200.
pub async fn check(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(TIMEOUT).redirect(reqwest::redirect::Policy::none()).build()?;
    let response = client.get(url).send().await.map_err(|e| anyhow::anyhow!("{url} is unreachable: {e}"))?;
    match response.status() {
        reqwest::StatusCode::OK => Ok(()),
        status => Err(anyhow::anyhow!("{url} answered {status}: not every gateway shard is connected")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_are_asked_on_loopback() {
        assert_eq!(health_url("0.0.0.0:8080".parse().unwrap()), "http://127.0.0.1:8080/health");
        assert_eq!(health_url("[::]:9000".parse().unwrap()), "http://[::1]:9000/health");
        assert_eq!(health_url("10.0.0.5:8080".parse().unwrap()), "http://10.0.0.5:8080/health");
    }

    #[tokio::test]
    async fn only_200_is_healthy() {
        use axum::http::StatusCode;
        let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = healthy.clone();
        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(move || {
                let flag = flag.clone();
                async move {
                    if flag.load(std::sync::atomic::Ordering::SeqCst) {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = health_url(addr);
        let error = check(&url).await.unwrap_err().to_string();
        assert!(error.contains("503"), "{error}");
        healthy.store(true, std::sync::atomic::Ordering::SeqCst);
        check(&url).await.unwrap();

        // Nothing listening: unhealthy, not a hang.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        assert!(check(&health_url(closed)).await.is_err());
    }
}
