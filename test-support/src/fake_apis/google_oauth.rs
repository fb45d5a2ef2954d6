//! A fake of Google's OAuth 2.0 for limited-input devices (RFC 8628 as
//! Google runs it): `POST /device/code` hands out a device code, a user
//! code and `verification_url`; `POST /token` with the device grant answers
//! `authorization_pending` (HTTP 428), `slow_down` (403, also to a client
//! polling faster than the interval), `access_denied`, `expired_token`, or
//! the tokens once the test approves; a refresh-token grant issues a new
//! access token. Errors are `{"error", "error_description"}`; a wrong
//! client id or secret is `invalid_client` (401).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::Served;

/// What the member does with a device code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceDecision {
    /// Nothing yet: polls are `authorization_pending`.
    Waiting,
    /// Approved: the next poll gets the tokens.
    Approved,
    /// Refused: polls are `access_denied`.
    Denied,
    /// The code expired: polls are `expired_token`.
    Expired,
}

#[derive(Debug)]
struct Device {
    decision: DeviceDecision,
    last_poll: Option<Instant>,
}

#[derive(Debug)]
struct Inner {
    client_id: String,
    client_secret: String,
    interval: Duration,
    devices: Mutex<HashMap<String, Device>>,
    refresh_tokens: Mutex<Vec<String>>,
    polls: AtomicUsize,
    slow_downs: AtomicUsize,
    issued: AtomicUsize,
}

/// Google's device-flow endpoints on loopback.
#[derive(Debug)]
pub struct FakeGoogleOAuth {
    inner: Arc<Inner>,
    served: Served,
}

impl FakeGoogleOAuth {
    /// Starts a fake for the client `client_id` / `client_secret`, asking
    /// devices to poll every `interval`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(client_id: &str, client_secret: &str, interval: Duration) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            interval,
            devices: Mutex::default(),
            refresh_tokens: Mutex::default(),
            polls: AtomicUsize::new(0),
            slow_downs: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/device/code", post(device_code))
            .route("/token", post(token))
            .with_state(inner.clone());
        let served = Served::start("google-oauth", router).await?;
        Ok(Self { inner, served })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// Sets what the member did at the address with the code of the device
    /// `device_code` (handed out as `AH-device-<n>`, user code `USER-<n>`).
    pub fn decide(&self, device_code: &str, decision: DeviceDecision) {
        if let Some(device) = self.inner.devices.lock().expect("devices").get_mut(device_code) {
            device.decision = decision;
        }
    }

    /// The device codes handed out, oldest first.
    pub fn device_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self.inner.devices.lock().expect("devices").keys().cloned().collect();
        codes.sort();
        codes
    }

    /// How many token polls with the device grant arrived.
    pub fn polls(&self) -> usize {
        self.inner.polls.load(Ordering::SeqCst)
    }

    /// How many of them were answered `slow_down` for polling too fast.
    pub fn slow_downs(&self) -> usize {
        self.inner.slow_downs.load(Ordering::SeqCst)
    }

    /// How many access tokens were issued.
    pub fn issued(&self) -> usize {
        self.inner.issued.load(Ordering::SeqCst)
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({"error": error, "error_description": format!("fake google: {error}")}))).into_response()
}

async fn device_code(State(inner): State<Arc<Inner>>, Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("client_id") != Some(&inner.client_id) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("scope").is_none_or(|s| s.is_empty()) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let mut devices = inner.devices.lock().expect("devices");
    let n = devices.len() + 1;
    let device_code = format!("AH-device-{n:04}");
    devices.insert(device_code.clone(), Device { decision: DeviceDecision::Waiting, last_poll: None });
    axum::Json(json!({
        "device_code": device_code,
        "user_code": format!("USER-{n:04}"),
        "verification_url": "https://www.google.com/device",
        "expires_in": 1800,
        "interval": inner.interval.as_secs(),
    }))
    .into_response()
}

async fn token(State(inner): State<Arc<Inner>>, Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("client_id") != Some(&inner.client_id) || form.get("client_secret") != Some(&inner.client_secret) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => poll(&inner, form.get("device_code")),
        Some("refresh_token") => {
            let known = form.get("refresh_token").is_some_and(|t| inner.refresh_tokens.lock().expect("r").contains(t));
            if !known {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            let n = inner.issued.fetch_add(1, Ordering::SeqCst) + 1;
            axum::Json(json!({"access_token": format!("ya29.fake-access-{n}"), "expires_in": 3599,
                "scope": "https://www.googleapis.com/auth/youtube.readonly", "token_type": "Bearer"}))
            .into_response()
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

fn poll(inner: &Inner, device_code: Option<&String>) -> Response {
    inner.polls.fetch_add(1, Ordering::SeqCst);
    let mut devices = inner.devices.lock().expect("devices");
    let Some(device) = device_code.and_then(|c| devices.get_mut(c)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let now = Instant::now();
    let too_fast = device.last_poll.is_some_and(|last| now.duration_since(last) < inner.interval);
    device.last_poll = Some(now);
    if too_fast {
        inner.slow_downs.fetch_add(1, Ordering::SeqCst);
        return oauth_error(StatusCode::FORBIDDEN, "slow_down");
    }
    match device.decision {
        DeviceDecision::Waiting => oauth_error(StatusCode::PRECONDITION_REQUIRED, "authorization_pending"),
        DeviceDecision::Denied => oauth_error(StatusCode::FORBIDDEN, "access_denied"),
        DeviceDecision::Expired => oauth_error(StatusCode::BAD_REQUEST, "expired_token"),
        DeviceDecision::Approved => {
            // A device code is good for one grant.
            device.decision = DeviceDecision::Expired;
            let n = inner.issued.fetch_add(1, Ordering::SeqCst) + 1;
            let refresh = format!("1//fake-refresh-{n}");
            inner.refresh_tokens.lock().expect("refresh").push(refresh.clone());
            axum::Json(json!({"access_token": format!("ya29.fake-access-{n}"), "expires_in": 3599,
                "refresh_token": refresh, "scope": "https://www.googleapis.com/auth/youtube.readonly",
                "token_type": "Bearer"}))
            .into_response()
        }
    }
}
