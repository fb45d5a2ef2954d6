//! `JsonWebhook` against a tiny real HTTP server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use timmybot_core::Webhook;
use timmybot_discord_rest::JsonWebhook;
use tokio::net::TcpListener;
use url::Url;

/// Looks like a Slack/Discord webhook: the secret is in the path.
const SECRET_PATH: &str = "/hooks/T000/B000/very-secret-webhook-token";

#[derive(Default)]
struct Received {
    bodies: Mutex<Vec<(Option<String>, Value)>>,
}

/// A server whose webhook path answers `status`, after `delay`.
async fn server(status: StatusCode, delay: Duration) -> (Url, Arc<Received>) {
    let received = Arc::new(Received::default());
    let handler = move |State(received): State<Arc<Received>>,
                        headers: HeaderMap,
                        axum::Json(body): axum::Json<Value>| async move {
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        received.bodies.lock().unwrap().push((content_type, body));
        tokio::time::sleep(delay).await;
        status
    };
    let router = Router::new().route(SECRET_PATH, post(handler)).with_state(Arc::clone(&received));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (Url::parse(&format!("http://{addr}{SECRET_PATH}")).unwrap(), received)
}

fn event() -> Value {
    json!({ "type": "allowlist_request", "guild_id": "81384788765712384", "guild_name": "Test Guild" })
}

#[tokio::test]
async fn posts_the_event_as_json() {
    let (url, received) = server(StatusCode::NO_CONTENT, Duration::ZERO).await;
    JsonWebhook::new(url, Duration::from_secs(5)).unwrap().post(&event()).await.unwrap();
    let bodies = received.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0].0.as_deref(), Some("application/json"));
    assert_eq!(bodies[0].1, event());
}

#[tokio::test]
async fn a_server_error_is_an_error_naming_only_the_status() {
    let (url, received) = server(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let webhook = JsonWebhook::new(url.clone(), Duration::from_secs(5)).unwrap();
    let error = webhook.post(&event()).await.unwrap_err();
    assert_eq!(received.bodies.lock().unwrap().len(), 1);
    let text = error.to_string();
    assert!(text.contains("500"), "{text}");
    for leak in [SECRET_PATH, "very-secret-webhook-token", url.as_str()] {
        assert!(!text.contains(leak), "{text}");
        assert!(!format!("{error:?}").contains(leak));
        assert!(!format!("{webhook:?}").contains(leak));
    }
}

#[tokio::test]
async fn a_slow_endpoint_times_out_without_naming_the_url() {
    let (url, _received) = server(StatusCode::OK, Duration::from_secs(5)).await;
    let error = JsonWebhook::new(url, Duration::from_millis(300)).unwrap().post(&event()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("timed out"), "{text}");
    assert!(!text.contains("very-secret-webhook-token"), "{text}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_an_error_without_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = Url::parse(&format!("http://{addr}{SECRET_PATH}")).unwrap();
    let error = JsonWebhook::new(url, Duration::from_secs(2)).unwrap().post(&event()).await.unwrap_err();
    let text = error.to_string();
    assert!(!text.contains("very-secret-webhook-token"), "{text}");
    assert!(!text.contains(&addr.to_string()), "{text}");
}

#[test]
fn only_http_urls_are_accepted() {
    let url = Url::parse("file:///etc/passwd").unwrap();
    assert!(JsonWebhook::new(url, Duration::from_secs(1)).is_err());
}
