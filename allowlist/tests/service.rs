//! The allowlist workflow over a real store (SQLite in memory): slots,
//! buttons, the access gate and the admin API's answers.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use timmybot_allowlist::admin_api::{AdminApi, AdminRequest};
use timmybot_allowlist::{
    Access, AccessRequest, Allowlist, AllowlistError, AllowlistMode, AllowlistSettings, ButtonOutcome, Decision,
    messages,
};
use timmybot_core::{Actor, AllowlistState, AllowlistStore, GuildId, ManualClock, UserId};
use timmybot_embedded::SqliteStore;

const MAINTAINER: u64 = 900;

fn workflow() -> (Arc<Allowlist>, SqliteStore, ManualClock) {
    let store = SqliteStore::in_memory().unwrap();
    let clock = ManualClock::at(1_700_000_000);
    let settings =
        AllowlistSettings { maintainers: vec![UserId::new(MAINTAINER).unwrap()], ..AllowlistSettings::default() };
    let allowlist = Allowlist::new(Arc::new(store.clone()), Arc::new(clock.clone()), settings);
    (Arc::new(allowlist), store, clock)
}

fn guild(n: u64) -> GuildId {
    GuildId::new(n).unwrap()
}

fn ask(n: u64) -> AccessRequest {
    AccessRequest {
        guild_id: guild(n),
        guild_name: Some(format!("guild {n}")),
        member_count: Some(10),
        requested_by: UserId::new(5).unwrap(),
        channel_id: None,
        reason: None,
    }
}

fn approve() -> Decision {
    Decision::Approve { force: false }
}

#[tokio::test]
async fn only_approved_guilds_pass_the_gate_and_open_mode_passes_all() {
    let (allowlist, store, clock) = workflow();
    assert_eq!(allowlist.access(guild(1)).await.unwrap(), Access::NotApproved(None));
    allowlist.request_access(ask(1)).await.unwrap();
    assert_eq!(allowlist.access(guild(1)).await.unwrap(), Access::NotApproved(Some(AllowlistState::Pending)));
    allowlist.decide(guild(1), approve(), Actor::AdminToken, None).await.unwrap();
    assert_eq!(allowlist.access(guild(1)).await.unwrap(), Access::Allowed);

    let open = Allowlist::new(Arc::new(store), Arc::new(clock), AllowlistSettings::open());
    assert_eq!(open.settings().mode, AllowlistMode::Open);
    assert_eq!(open.access(guild(2)).await.unwrap(), Access::Allowed);
}

#[tokio::test]
async fn approving_past_the_slot_limit_fails_clearly_unless_forced() {
    let (allowlist, store, _) = workflow();
    allowlist.set_slot_limit(Some(1), &Actor::AdminToken).await.unwrap();
    for n in [1, 2, 3] {
        allowlist.request_access(ask(n)).await.unwrap();
    }
    allowlist.decide(guild(1), approve(), Actor::AdminToken, None).await.unwrap();
    let err = allowlist.decide(guild(2), approve(), Actor::AdminToken, None).await.unwrap_err();
    assert_eq!(err, AllowlistError::SlotsFull { approved: 1, limit: 1 });
    assert!(err.to_string().contains("1 of 1") && err.to_string().contains("force"), "{err}");
    assert_eq!(store.get(guild(2)).await.unwrap().unwrap().state, AllowlistState::Pending, "nothing written");

    let forced = allowlist.decide(guild(2), Decision::Approve { force: true }, Actor::AdminToken, None).await.unwrap();
    assert_eq!(forced.state, AllowlistState::Approved);
    assert!(allowlist.show(guild(2), 10).await.unwrap().1[0].forced);
    assert_eq!(allowlist.slots().await.unwrap().approved, 2);

    // Revoking frees a slot, but two are taken of one: still full for guild 3.
    allowlist.decide(guild(1), Decision::Revoke, Actor::AdminToken, None).await.unwrap();
    assert!(matches!(
        allowlist.decide(guild(3), approve(), Actor::AdminToken, None).await,
        Err(AllowlistError::SlotsFull { approved: 1, limit: 1 })
    ));
    allowlist.set_slot_limit(None, &Actor::AdminToken).await.unwrap();
    allowlist.decide(guild(3), approve(), Actor::AdminToken, None).await.unwrap();
}

#[tokio::test]
async fn only_maintainers_buttons_count() {
    let (allowlist, store, _) = workflow();
    allowlist.request_access(ask(1)).await.unwrap();
    let approve_id = messages::button_id(messages::ButtonAction::Approve, guild(1));

    let refused = allowlist.press_button(&approve_id, UserId::new(5).unwrap()).await;
    assert!(matches!(refused, ButtonOutcome::Refused(ref text) if text.contains("maintainers")), "{refused:?}");
    assert_eq!(store.get(guild(1)).await.unwrap().unwrap().state, AllowlistState::Pending);

    let pressed = allowlist.press_button(&approve_id, UserId::new(MAINTAINER).unwrap()).await;
    let ButtonOutcome::UpdateNotice(notice) = pressed else { panic!("{pressed:?}") };
    assert!(notice.content.starts_with("**Approved** by <@900>"), "{}", notice.content);
    assert!(notice.buttons.is_empty());

    // A second press (another maintainer a moment later) changes nothing.
    let again = allowlist.press_button(&approve_id, UserId::new(MAINTAINER).unwrap()).await;
    assert!(matches!(again, ButtonOutcome::Refused(ref text) if text.contains("already approved")), "{again:?}");
    let deny_id = messages::button_id(messages::ButtonAction::Deny, guild(1));
    let late_deny = allowlist.press_button(&deny_id, UserId::new(MAINTAINER).unwrap()).await;
    assert!(matches!(late_deny, ButtonOutcome::Refused(_)), "{late_deny:?}");
    assert_eq!(store.get(guild(1)).await.unwrap().unwrap().state, AllowlistState::Approved);
}

#[tokio::test]
async fn concurrent_approve_and_deny_through_the_workflow_one_wins() {
    let (allowlist, store, _) = workflow();
    allowlist.request_access(ask(1)).await.unwrap();
    let (a, b) = tokio::join!(
        allowlist.decide(guild(1), approve(), Actor::AdminToken, None),
        allowlist.decide(guild(1), Decision::Deny, Actor::Iam("arn:aws:iam::1:user/m".into()), None),
    );
    let winners = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(winners, 1, "{a:?} {b:?}");
    let loser = a.err().or(b.err()).unwrap();
    assert!(matches!(loser, AllowlistError::ConcurrentChange | AllowlistError::InvalidTransition { .. }), "{loser:?}");
    assert_eq!(store.history(guild(1), 10).await.unwrap().len(), 2, "one request and one decision");
}

async fn call(api: &AdminApi, method: Method, path: &str, query: Option<&str>, body: &[u8]) -> (u16, Value) {
    let response = api.handle(AdminRequest { method: &method, path, query, body, caller: Actor::AdminToken }).await;
    (response.status, response.body)
}

#[tokio::test]
async fn the_admin_api_answers_with_clear_statuses() {
    let (allowlist, _, _) = workflow();
    let api = AdminApi::new(allowlist.clone());
    for n in 1..=3 {
        allowlist.request_access(ask(n)).await.unwrap();
    }

    let (status, body) = call(&api, Method::GET, "/guilds", Some("state=pending&limit=2"), b"").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["guilds"].as_array().unwrap().len(), 2);
    let cursor = body["next_cursor"].as_str().expect("a next page").to_owned();
    let query = format!("state=pending&limit=2&cursor={cursor}");
    let (_, page2) = call(&api, Method::GET, "/guilds", Some(&query), b"").await;
    assert_eq!(page2["guilds"].as_array().unwrap().len(), 1);

    let (status, body) = call(&api, Method::POST, "/guilds/1/approve", None, br#"{"reason": "ok"}"#).await;
    assert_eq!((status, body["guild"]["state"].as_str()), (200, Some("approved")), "{body}");
    let (status, body) = call(&api, Method::POST, "/guilds/1/deny", None, b"").await;
    assert_eq!((status, body["error"].as_str()), (409, Some("invalid_transition")), "{body}");
    let (status, body) = call(&api, Method::POST, "/guilds/99/approve", None, b"").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_guild")), "{body}");

    for (method, path, query, body) in [
        (Method::GET, "/guilds", Some("state=maybe"), &b""[..]),
        (Method::GET, "/guilds", Some("limit=1000"), b""),
        (Method::GET, "/guilds", Some("cursor=%%%garbage"), b""),
        (Method::GET, "/guilds/abc", None, b""),
        (Method::POST, "/guilds/2/approve", None, b"{not json"),
        (Method::POST, "/guilds/2/approve", None, br#"{"reason": 5}"#),
        (Method::POST, "/guilds/2/deny", None, br#"{"force": true}"#),
        (Method::PUT, "/slots", None, b""),
    ] {
        let (status, reply) = call(&api, method.clone(), path, query, body).await;
        assert_eq!(status, 400, "{method} {path} {query:?}: {reply}");
    }
    let (status, _) = call(&api, Method::DELETE, "/guilds/2", None, b"").await;
    assert_eq!(status, 405);
    let (status, _) = call(&api, Method::GET, "/nothing", None, b"").await;
    assert_eq!(status, 404);
    let (status, _) = call(&api, Method::POST, "/guilds/2/approve", None, &vec![b' '; 20_000]).await;
    assert_eq!(status, 413);
    assert_eq!(allowlist.show(guild(2), 5).await.unwrap().0.state, AllowlistState::Pending, "refusals wrote nothing");

    let (status, body) = call(&api, Method::PUT, "/slots", None, br#"{"limit": 5}"#).await;
    assert_eq!((status, body), (200, json!({"approved": 1, "limit": 5})));
}

/// Requests and decisions reach the operator's webhook as JSON, over real
/// HTTP through the `JsonWebhook` adapter.
#[tokio::test]
async fn requests_and_decisions_are_posted_to_the_webhook() {
    use std::sync::Mutex;

    use axum::Json;
    use axum::extract::State;

    type Received = Arc<Mutex<Vec<Value>>>;
    async fn receive(State(received): State<Received>, Json(event): Json<Value>) {
        received.lock().unwrap().push(event);
    }
    let received: Received = Arc::default();
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let store = SqliteStore::in_memory().unwrap();
    let webhook =
        timmybot_discord_rest::JsonWebhook::new(url.parse().unwrap(), std::time::Duration::from_secs(2)).unwrap();
    let allowlist = Allowlist::new(Arc::new(store), Arc::new(ManualClock::at(1)), AllowlistSettings::default())
        .with_webhook(Arc::new(webhook));
    allowlist.request_access(ask(7)).await.unwrap();
    allowlist.decide(guild(7), Decision::Deny, Actor::AdminToken, Some("no")).await.unwrap();

    let events = received.lock().unwrap().clone();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["type"], "allowlist.requested");
    assert_eq!(
        (events[0]["guild"]["guild_id"].as_str(), events[0]["guild"]["state"].as_str()),
        (Some("7"), Some("pending"))
    );
    assert_eq!(events[1]["type"], "allowlist.decided");
    assert_eq!(events[1]["guild"]["state"], "denied");
    assert_eq!(events[1]["guild"]["decision_reason"], "no");
}
