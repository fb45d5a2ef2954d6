//! Property tests for the interactions door: whatever arrives over HTTP, the
//! handler answers with a status code and never panics; only a body signed
//! with our key gets past verification; options obey Discord's limits.
//!
//! Case counts are kept small so the whole file runs in a few seconds inside
//! `cargo nextest run --workspace`; the cargo-fuzz targets in `fuzz/` do the
//! long runs (see docs/security.md).

mod common;

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value, json};
use timmybot_core::VoiceCommand;
use timmybot_interactions::commands::{self, MAX_QUERY_LEN, PLAY, STOP};
use timmybot_interactions::model::{CommandOption, InteractionData, OptionValue};
use timmybot_interactions::verify::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use timmybot_interactions::{
    CommandError, HttpReply, Interaction, MAX_BODY_BYTES, PublicKey, RequestError, VerifyError,
};
use timmybot_test_support::signer::{InteractionSigner, SAMPLE_APPLICATION_ID};

use common::{Harness, NOW, header_map};

fn config(cases: u32) -> Config {
    Config { cases, ..Config::default() }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(future)
}

fn public_key() -> PublicKey {
    PublicKey::from_hex(&InteractionSigner::default().public_key_hex()).unwrap()
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Bodies: mostly small arbitrary bytes, sometimes JSON-looking text, and
/// sometimes just over the cap (one repeated byte, cheap to build).
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..512),
        3 => "[{}\\[\\]\":,0-9a-z \\\\]{0,256}".prop_map(String::into_bytes),
        1 => (any::<u8>(), 1..2048usize).prop_map(|(b, extra)| vec![b; MAX_BODY_BYTES + extra]),
    ]
}

/// Header names: the two that matter, spelled in various cases, plus noise.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(SIGNATURE_HEADER.to_owned()),
        Just(TIMESTAMP_HEADER.to_owned()),
        Just("X-Signature-Ed25519".to_owned()),
        Just("X-SIGNATURE-TIMESTAMP".to_owned()),
        Just("content-type".to_owned()),
        "[a-zA-Z0-9-]{1,24}",
    ]
}

/// Header values: hex of the right and wrong lengths, timestamps near and far
/// from the clock, and arbitrary bytes (including non-UTF-8 obs-text).
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9a-f]{128}".prop_map(String::into_bytes),
        "[0-9a-fA-F]{0,140}".prop_map(String::into_bytes),
        (-400i64..400).prop_map(|d| NOW.saturating_add_signed(d).to_string().into_bytes()),
        "[0-9]{0,30}".prop_map(String::into_bytes),
        "[-+ .0-9e]{0,24}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..160),
    ]
}

/// Header maps built from the pairs `http` accepts (the servers in front of
/// the handler never hand it anything else).
fn headers() -> impl Strategy<Value = HeaderMap> {
    proptest::collection::vec((header_name(), header_value()), 0..6).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_bytes(&value)) {
                map.append(name, value);
            }
        }
        map
    })
}

/// Ids as Discord sends them (decimal strings), and the things a hostile
/// sender puts there instead.
fn id_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        60 => "[1-9][0-9]{0,17}".prop_map(Value::String),
        1 => Just(json!(SAMPLE_APPLICATION_ID.to_string())),
        1 => prop_oneof![
            Just(json!("0")),
            "[0-9]{19,25}".prop_map(Value::String),
            any::<u64>().prop_map(|n| json!(n)),
            any::<i64>().prop_map(|n| json!(n)),
            Just(Value::Null),
            ".{0,8}".prop_map(Value::String),
        ],
    ]
}

/// Strings: short arbitrary text, whitespace, exactly around the query
/// limit, and huge.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => ".{0,24}",
        2 => "[ \t\n\u{a0}\u{3000}]{0,6}",
        1 => (MAX_QUERY_LEN - 2..MAX_QUERY_LEN + 3, any::<char>(), "[ \t]{0,2}")
            .prop_map(|(n, c, pad)| format!("{pad}{}{pad}", c.to_string().repeat(n))),
        1 => (1000..20_000usize).prop_map(|n| "a".repeat(n)),
    ]
}

/// Any JSON value, bounded in depth and breadth.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((".{0,8}", inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A value that is sometimes the right shape and sometimes anything.
fn or_any(good: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![24 => good.boxed(), 1 => any_json().boxed()]
}

/// A field that is usually present.
fn maybe<S: Strategy + 'static>(strategy: S) -> impl Strategy<Value = Option<S::Value>>
where
    S::Value: Clone,
{
    prop_oneof![29 => strategy.prop_map(Some).boxed(), 1 => Just(None).boxed()]
}

fn option_json() -> impl Strategy<Value = Value> {
    let name =
        prop_oneof![6 => Just(json!("query")), 1 => Just(json!("volume")), 1 => ".{0,6}".prop_map(Value::String)];
    let value = prop_oneof![15 => text().prop_map(Value::String), 1 => any_json()];
    let leaf = (or_any(name), or_any(prop_oneof![Just(json!(3)), Just(json!(4)), Just(json!(1))]), value).prop_map(
        |(name, kind, value)| {
            let mut o = Map::new();
            o.insert("name".into(), name);
            o.insert("type".into(), kind);
            o.insert("value".into(), value);
            Value::Object(o)
        },
    );
    // Options nest (subcommands), so nest them a little.
    let leaf = leaf.boxed();
    let nested = leaf.clone().prop_recursive(3, 12, 4, |inner| {
        (".{0,6}", proptest::collection::vec(inner, 0..4))
            .prop_map(|(name, options)| json!({"name": name, "type": 1, "options": options}))
    });
    prop_oneof![4 => leaf, 1 => nested]
}

fn data_json() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        6 => Just(json!("play")),
        2 => Just(json!("stop")),
        1 => Just(json!("help")),
        1 => ".{0,12}".prop_map(Value::String),
        1 => Just(Value::Null),
    ];
    let options = prop_oneof![
        8 => proptest::collection::vec(option_json(), 0..4).prop_map(Value::Array),
        1 => Just(Value::Null),
        1 => any_json(),
    ];
    (or_any(name), options, proptest::option::of(id_value())).prop_map(|(name, options, id)| {
        let mut data = Map::new();
        data.insert("name".into(), name);
        data.insert("options".into(), options);
        if let Some(id) = id {
            data.insert("id".into(), id);
        }
        Value::Object(data)
    })
}

/// Objects shaped like interactions: every field Discord sends may be
/// present with a plausible value, absent, or replaced by anything.
fn interaction_json() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        6 => Just(json!(2)),
        2 => (1u8..=5).prop_map(|t| json!(t)),
        1 => any::<u8>().prop_map(|t| json!(t)),
        1 => any_json(),
    ];
    let app = prop_oneof![9 => Just(json!(SAMPLE_APPLICATION_ID.to_string())), 1 => id_value()];
    let user = || id_value().prop_map(|id| json!({"id": id, "username": "m"}));
    let member = or_any(user().prop_map(|user| json!({"user": user, "roles": []})));
    let fields = (
        maybe(kind),
        maybe(or_any(id_value())),
        maybe(or_any(app)),
        maybe(or_any(text().prop_map(Value::String))),
        maybe(or_any(id_value())),
        proptest::option::of(or_any(id_value())),
        maybe(member),
        proptest::option::of(or_any(user())),
        maybe(or_any(data_json())),
        proptest::collection::vec((".{1,8}", any_json()), 0..3),
    );
    fields.prop_map(|(kind, id, app, token, guild, channel, member, user, data, extra)| {
        let mut o = Map::new();
        let named = [
            ("type", kind),
            ("id", id),
            ("application_id", app),
            ("token", token),
            ("guild_id", guild),
            ("channel_id", channel),
            ("member", member),
            ("user", user),
            ("data", data),
        ];
        for (key, value) in named {
            if let Some(value) = value {
                o.insert(key.into(), value);
            }
        }
        for (key, value) in extra {
            o.entry(key).or_insert(value);
        }
        Value::Object(o)
    })
}

/// A well-formed `/play` (or `/stop`) whose body is then nested `depth`
/// levels deep at `place`, up to and past the size cap.
fn deeply_nested_body() -> impl Strategy<Value = Vec<u8>> {
    let depth = prop_oneof![1usize..130, 130usize..2_000, 2_000usize..40_000];
    (0usize..4, depth, any::<bool>()).prop_map(|(place, depth, arrays)| {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
        let nest = |inner: &str| format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
        let head = format!(r#""type":2,"id":"11","application_id":"{SAMPLE_APPLICATION_ID}","token":"t","guild_id":"12","member":{{"user":{{"id":"13"}}}}"#);
        let text = match place {
            0 => format!(r#"{{{head},"extra":{}}}"#, nest("1")),
            1 => format!(r#"{{{head},"data":{{"name":"play","options":[{{"name":"query","type":3,"value":{}}}]}}}}"#, nest("\"x\"")),
            2 => {
                // Subcommand options nested inside each other: a recursive type.
                let option = r#"{"name":"query","type":1,"options":["#;
                let inner = format!("{}{}", option.repeat(depth), "]}".repeat(depth));
                format!(r#"{{{head},"data":{{"name":"play","options":[{inner}]}}}}"#)
            }
            _ => nest(&format!("{{{head}}}")),
        };
        text.into_bytes()
    })
}

/// One change to a body that leaves it different from the original.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    Append(Vec<u8>),
    Truncate { keep: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Remove { at }),
        proptest::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Append),
        any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
    ]
}

fn mutate(body: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut out = body.to_vec();
    let len = out.len();
    match mutation {
        Mutation::Flip { at, mask } if len > 0 => out[at % len] ^= mask,
        Mutation::Insert { at, byte } => out.insert(at % (len + 1), *byte),
        Mutation::Remove { at } if len > 0 => {
            out.remove(at % len);
        }
        Mutation::Truncate { keep } if len > 0 => out.truncate(keep % len),
        // Empty body: anything that cannot shrink it grows it instead.
        Mutation::Append(bytes) => out.extend_from_slice(bytes),
        _ => out.push(b' '),
    }
    out
}

// ---------------------------------------------------------------------------
// Checks shared by the properties
// ---------------------------------------------------------------------------

/// A reply is one of the statuses the handler may give, with a JSON body; a
/// 200 carries an interaction response Discord accepts.
fn assert_well_formed(reply: &HttpReply) -> Result<(), TestCaseError> {
    prop_assert!(matches!(reply.status, 200 | 400 | 401 | 413), "status {}", reply.status);
    prop_assert_eq!(reply.content_type, "application/json");
    let body: Value = serde_json::from_slice(&reply.body).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if reply.status != 200 {
        prop_assert!(body["error"].is_string(), "{}", body);
        return Ok(());
    }
    match body["type"].as_u64() {
        Some(1) => prop_assert_eq!(body.as_object().map(Map::len), Some(1), "{}", body),
        // Player commands defer ephemerally: only the member sees the outcome.
        Some(5) => prop_assert_eq!(&body, &json!({"type": 5, "data": {"flags": 64}})),
        Some(8) => {
            let choices = body["data"]["choices"].as_array();
            prop_assert!(choices.is_some_and(|c| c.len() <= 25), "{}", body);
        }
        Some(4) => {
            let content = body["data"]["content"].as_str().unwrap_or_default();
            prop_assert!(!content.is_empty(), "{}", body);
            // Not checked: content within Discord's 2000 characters. An
            // unknown command's name is echoed unbounded (only reachable with
            // a body Discord signed, and Discord sends registered names).
            prop_assert_eq!(&body["data"]["allowed_mentions"], &json!({"parse": []}));
        }
        _ => prop_assert!(false, "unexpected response {}", body),
    }
    Ok(())
}

/// Every command that reached the bus obeys the option limits.
fn assert_published_commands_are_valid(h: &Harness) -> Result<(), TestCaseError> {
    for message in h.published() {
        if let VoiceCommand::Play { query, .. } = &message.command {
            prop_assert!(!query.is_empty());
            prop_assert!(query.chars().count() <= MAX_QUERY_LEN);
            prop_assert_eq!(query.trim(), query.as_str());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn handle_http_never_panics_and_never_trusts_unsigned_bytes(headers in headers(), body in body()) {
        let h = Harness::new();
        let reply = block_on(h.handler.handle_http(&headers, &body));
        assert_well_formed(&reply)?;
        // Random headers cannot carry our key's signature.
        let expected = if body.len() > MAX_BODY_BYTES { 413 } else { 401 };
        prop_assert_eq!(reply.status, expected);
        prop_assert!(h.published().is_empty());
    }

    #[test]
    fn from_body_never_panics_on_arbitrary_bytes(body in body()) {
        match Interaction::from_body(&body) {
            Ok(_) | Err(RequestError::Malformed(_)) => prop_assert!(body.len() <= MAX_BODY_BYTES),
            Err(RequestError::TooLarge { limit }) => prop_assert!(body.len() > limit),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn verify_request_never_panics_and_refuses_what_our_key_did_not_sign(
        headers in headers(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        now in prop_oneof![Just(NOW), any::<u64>()],
    ) {
        prop_assert!(verify::verify_request(&public_key(), &headers, &body, now).is_err());
    }

    #[test]
    fn valid_signature_over_a_mutated_body_never_verifies(
        interaction in interaction_json(),
        mutation in mutation(),
        skew in -300i64..=300,
    ) {
        let signer = InteractionSigner::default();
        let body = interaction.to_string().into_bytes();
        let signed_at = NOW.saturating_add_signed(skew);
        let headers = header_map(signer.signed_headers(&body, signed_at));
        // The unmutated body verifies, so the refusal below is the mutation's.
        prop_assert_eq!(verify::verify_request(&public_key(), &headers, &body, NOW), Ok(()));

        let mutated = mutate(&body, &mutation);
        prop_assume!(mutated != body);
        prop_assert_eq!(
            verify::verify_request(&public_key(), &headers, &mutated, NOW),
            Err(VerifyError::BadSignature)
        );
        let h = Harness::new();
        let reply = block_on(h.handler.handle_http(&headers, &mutated));
        prop_assert_eq!(reply.status, if mutated.len() > MAX_BODY_BYTES { 413 } else { 401 });
        prop_assert!(h.published().is_empty());
    }

    #[test]
    fn signed_interaction_shaped_json_gets_a_status_or_a_well_formed_response(interaction in interaction_json()) {
        let h = Harness::new();
        let body = interaction.to_string().into_bytes();
        let reply = block_on(h.post_signed_at(&body, NOW));
        assert_well_formed(&reply)?;
        prop_assert_ne!(reply.status, 401);
        if body.len() > MAX_BODY_BYTES {
            prop_assert_eq!(reply.status, 413);
        }
        assert_published_commands_are_valid(&h)?;
        // Unsigned, the same body never gets further than the signature.
        let unsigned = block_on(h.handler.handle_http(&HeaderMap::new(), &body));
        prop_assert!(matches!(unsigned.status, 401 | 413));
    }
}

proptest! {
    // Bodies here are up to the 64 KiB cap; fewer cases keep the file fast.
    #![proptest_config(config(48))]

    #[test]
    fn deep_nesting_up_to_the_size_cap_is_refused_or_answered_never_a_crash(body in deeply_nested_body()) {
        let h = Harness::new();
        let reply = block_on(h.post_signed_at(&body, NOW));
        assert_well_formed(&reply)?;
        if body.len() > MAX_BODY_BYTES {
            prop_assert_eq!(reply.status, 413);
        }
        assert_published_commands_are_valid(&h)?;
    }
}

fn option_value() -> impl Strategy<Value = Option<OptionValue>> {
    proptest::option::of(prop_oneof![
        4 => text().prop_map(OptionValue::String),
        1 => any::<bool>().prop_map(OptionValue::Bool),
        1 => any::<i64>().prop_map(OptionValue::Integer),
        1 => any::<f64>().prop_map(OptionValue::Number),
    ])
}

fn command_option() -> impl Strategy<Value = CommandOption> {
    let name = prop_oneof![Just("query".to_owned()), ".{0,8}"];
    (name, any::<u8>(), option_value()).prop_map(|(name, kind, value)| CommandOption {
        name,
        kind,
        value,
        options: vec![],
        focused: false,
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn voice_command_never_panics_and_never_accepts_an_empty_or_overlong_query(
        name in prop_oneof![Just(PLAY.to_owned()), Just(STOP.to_owned()), Just("help".to_owned()), ".{0,8}"],
        options in proptest::collection::vec(command_option(), 0..4),
    ) {
        let data = InteractionData { name: Some(name.clone()), options, custom_id: None, resolved: None };
        match commands::voice_command(&name, &data) {
            Ok(Some(VoiceCommand::Play { query, .. })) => {
                prop_assert_eq!(name.as_str(), PLAY);
                prop_assert!(!query.is_empty());
                prop_assert!(query.chars().count() <= MAX_QUERY_LEN, "{} characters", query.chars().count());
                prop_assert_eq!(query.trim(), query.as_str());
            }
            Ok(Some(VoiceCommand::Stop)) => prop_assert_eq!(name.as_str(), STOP),
            Ok(Some(other)) => prop_assert!(false, "unexpected command {other:?}"),
            Ok(None) => prop_assert!(name != PLAY && name != STOP),
            Err(error) => prop_assert_eq!(name.as_str(), PLAY, "{}", error),
        }
    }

    #[test]
    fn voice_command_parses_arbitrary_json_data_without_panicking(data in data_json()) {
        // The same path the handler takes: JSON into our types, then options.
        if let Ok(data) = serde_json::from_value::<InteractionData>(data) {
            let name = data.name.clone().unwrap_or_default();
            if let Ok(Some(VoiceCommand::Play { query, .. })) = commands::voice_command(&name, &data) {
                prop_assert!(!query.is_empty() && query.chars().count() <= MAX_QUERY_LEN);
            }
        }
    }

    #[test]
    fn validate_query_accepts_exactly_the_trimmed_non_empty_queries_up_to_512_characters(raw in text()) {
        let trimmed = raw.trim();
        match commands::validate_query(&raw) {
            Ok(query) => {
                prop_assert_eq!(query.as_str(), trimmed);
                prop_assert!(!query.is_empty() && query.chars().count() <= MAX_QUERY_LEN);
            }
            Err(CommandError::EmptyQuery) => prop_assert!(trimmed.is_empty()),
            Err(CommandError::QueryTooLong { max }) => {
                prop_assert_eq!(max, MAX_QUERY_LEN);
                prop_assert!(trimmed.chars().count() > MAX_QUERY_LEN);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}
