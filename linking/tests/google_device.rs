//! Google's device flow against the fake Google OAuth server over real
//! HTTP: the member's code shown, polls at the interval until approval,
//! `slow_down` obeyed, denial and expiry apart, and a wrong client secret
//! refused as the deployment's fault.

use std::time::Duration;

use timmybot_accounts::oauth::{DevicePoll, OAuthError};
use timmybot_core::Secret;
use timmybot_linking::{GoogleCredentials, GoogleDeviceFlow};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_test_support::fake_apis::google_oauth::{DeviceDecision, FakeGoogleOAuth};

const CLIENT_ID: &str = "fake-client.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "GOCSPX-fake-secret";

fn flow_for(google: &FakeGoogleOAuth, secret: &str) -> GoogleDeviceFlow {
    let policy = OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() };
    let credentials = GoogleCredentials { client_id: CLIENT_ID.into(), client_secret: Secret::new(secret) };
    GoogleDeviceFlow::new(SafeHttpClient::new(policy), credentials)
        .with_base_url(url::Url::parse(&format!("{}/", google.base_url())).unwrap())
}

#[tokio::test]
async fn the_member_approves_after_two_pending_polls_and_the_tokens_arrive() {
    let google = FakeGoogleOAuth::start(CLIENT_ID, CLIENT_SECRET, Duration::from_millis(200)).await.unwrap();
    let flow = flow_for(&google, CLIENT_SECRET);
    let authorization = flow.start().await.unwrap();
    assert_eq!(authorization.user_code, "USER-0001");
    assert_eq!(authorization.verification_url, "https://www.google.com/device");
    // The fake's interval is under a second, so its answer says 0 and the
    // client reads RFC 8628's 5 s default: this test polls by hand.
    let device = google.device_codes()[0].clone();
    assert_eq!(flow.poll(&authorization).await.unwrap(), DevicePoll::Pending);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(flow.poll(&authorization).await.unwrap(), DevicePoll::Pending);
    google.decide(&device, DeviceDecision::Approved);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let DevicePoll::Granted(grant) = flow.poll(&authorization).await.unwrap() else { panic!("granted") };
    assert_eq!(grant.access_token, "ya29.fake-access-1");
    assert_eq!(grant.refresh_token.as_deref(), Some("1//fake-refresh-1"));
    assert_eq!(google.polls(), 3);
    assert_eq!(google.slow_downs(), 0);
    // The device code is good for one grant.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(flow.poll(&authorization).await.unwrap(), DevicePoll::Expired);
}

#[tokio::test]
async fn polling_too_fast_is_told_to_slow_down_and_the_waiter_obeys() {
    let google = FakeGoogleOAuth::start(CLIENT_ID, CLIENT_SECRET, Duration::from_secs(1)).await.unwrap();
    let flow = flow_for(&google, CLIENT_SECRET);
    let mut authorization = flow.start().await.unwrap();
    assert_eq!(authorization.interval, Duration::from_secs(1), "the interval Google asked for");
    assert_eq!(flow.poll(&authorization).await.unwrap(), DevicePoll::Pending);
    assert_eq!(flow.poll(&authorization).await.unwrap(), DevicePoll::SlowDown, "a second poll at once");
    assert_eq!(google.slow_downs(), 1);

    // The waiter sleeps what the poller says; here a tenth of it, so the
    // test is quick while the polls stay further apart than the fake's 1 s.
    authorization.interval = Duration::from_secs(12);
    authorization.expires_in = Duration::from_secs(60);
    let device = google.device_codes()[0].clone();
    let approve_after = google.polls() + 2;
    let slept = std::sync::Mutex::new(Vec::new());
    let decision = flow
        .wait_for_decision(&authorization, |delay| {
            slept.lock().unwrap().push(delay);
            if google.polls() + 1 >= approve_after {
                google.decide(&device, DeviceDecision::Approved);
            }
            tokio::time::sleep(delay / 10)
        })
        .await
        .unwrap();
    assert!(decision.is_ok(), "{decision:?}");
    assert_eq!(*slept.lock().unwrap(), [Duration::from_secs(12), Duration::from_secs(12)]);
    assert_eq!(google.slow_downs(), 1, "the waiter never polled too fast");
}

#[tokio::test]
async fn denial_expiry_and_a_wrong_secret_end_the_flow_apart() {
    let google = FakeGoogleOAuth::start(CLIENT_ID, CLIENT_SECRET, Duration::ZERO).await.unwrap();
    let flow = flow_for(&google, CLIENT_SECRET);
    let denied = flow.start().await.unwrap();
    let expired = flow.start().await.unwrap();
    let codes = google.device_codes();
    google.decide(&codes[0], DeviceDecision::Denied);
    google.decide(&codes[1], DeviceDecision::Expired);
    let instant = |_: Duration| std::future::ready(());
    let mut denied = denied;
    denied.interval = Duration::from_millis(1);
    assert_eq!(flow.wait_for_decision(&denied, instant).await.unwrap().unwrap_err(), DevicePoll::Denied);
    assert_eq!(flow.poll(&expired).await.unwrap(), DevicePoll::Expired);

    let wrong = flow_for(&google, "not-the-secret");
    let error = wrong.poll(&expired).await.unwrap_err();
    assert_eq!(error, OAuthError::InvalidClient);
    assert!(!format!("{error:?}{error}").contains("not-the-secret"));
    let mut out_of_time = flow.start().await.unwrap();
    out_of_time.expires_in = Duration::from_secs(1);
    out_of_time.interval = Duration::from_secs(2);
    assert_eq!(flow.wait_for_decision(&out_of_time, instant).await.unwrap().unwrap_err(), DevicePoll::Expired);
}
