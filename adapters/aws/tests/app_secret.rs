//! [`AppSecretStore`]: the entries of one JSON-document secret, read
//! through the real SDK from moto's Secrets Manager (started by
//! `scripts/emulators.sh`).

use timmybot_aws::{AppSecretError, AppSecretStore};
use timmybot_core::{SecretError, SecretStore};
use timmybot_test_support::emulators::{Emulators, unique_name};

const TOKEN: &str = "Bot MTIz.token-value-7f3a";
const PUBLIC_KEY: &str = "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61";

fn client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&Emulators::from_env().sdk_config())
}

/// Creates a secret holding `value` the way the deployer's
/// `put-secret-value` leaves it; returns its ARN.
async fn create(value: &str) -> String {
    let created = client()
        .create_secret()
        .name(format!("timmybot/{}", unique_name("app")))
        .secret_string(value)
        .send()
        .await
        .expect("secret created on moto");
    created.arn().expect("moto returns the ARN").to_owned()
}

async fn put(arn: &str, value: &str) {
    client().put_secret_value().secret_id(arn).secret_string(value).send().await.expect("secret updated");
}

/// Display and Debug of the error and of its whole source chain.
fn shown(error: &SecretError) -> String {
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" | {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn present_entries_are_read_and_the_document_once_per_process() {
    let document = serde_json::json!({
        "discord-token": TOKEN,
        "discord-public-key": format!("{PUBLIC_KEY}\n"),
        "spotify-client-id": "",
    });
    let arn = create(&document.to_string()).await;
    let store = AppSecretStore::new(client(), &arn);
    assert_eq!(store.secret_id(), arn);
    assert!(store.get("discord-token").await.unwrap().expose() == TOKEN, "token read back differs");
    // Values are returned as stored; trimming is the reader's business.
    assert!(store.get("discord-public-key").await.unwrap().expose() == format!("{PUBLIC_KEY}\n"));
    assert!(store.get("spotify-client-id").await.unwrap().expose().is_empty());

    // Cached for the cold start: a new version is not read again...
    put(&arn, r#"{"discord-token": "Bot rotated"}"#).await;
    assert!(store.get("discord-token").await.unwrap().expose() == TOKEN, "the document is read once");
    // ... while a new process (a new store) sees it.
    let fresh = AppSecretStore::new(client(), &arn);
    assert!(fresh.get("discord-token").await.unwrap().expose() == "Bot rotated");
    assert!(matches!(fresh.get("discord-public-key").await, Err(SecretError::NotFound(_))));
}

#[tokio::test]
async fn a_missing_entry_is_not_found_naming_the_entry() {
    let arn = create(&serde_json::json!({"discord-token": TOKEN}).to_string()).await;
    let store = AppSecretStore::new(client(), &arn);
    let error = store.get("stripe-api-key").await.unwrap_err();
    assert!(matches!(&error, SecretError::NotFound(entry) if entry == "stripe-api-key"), "{error:?}");
    let text = shown(&error);
    assert!(text.contains("stripe-api-key"), "{text}");
    assert!(!text.contains(TOKEN) && !text.contains("token-value"), "no value in the error: {text}");
    // The other entries are still there.
    assert!(store.get("discord-token").await.unwrap().expose() == TOKEN);
}

#[tokio::test]
async fn a_secret_that_is_not_a_json_object_is_refused_without_echoing_it() {
    // A deployer who pasted the bare token, a JSON string, a list, or JSON
    // cut short; and an entry that is not a string.
    let cases = [
        "MTIz.raw-token-value-9c1e".to_owned(),
        "\"MTIz.raw-token-value-9c1e\"".to_owned(),
        "[\"MTIz.raw-token-value-9c1e\"]".to_owned(),
        "{\"discord-token\": \"MTIz.raw-token-value-9c1e\"".to_owned(),
        "{\"discord-token\": {\"value\": \"MTIz.raw-token-value-9c1e\"}}".to_owned(),
    ];
    for value in cases {
        let arn = create(&value).await;
        let store = AppSecretStore::new(client(), &arn);
        let error = store.get("discord-token").await.unwrap_err();
        let SecretError::Unavailable { name, source } = &error else { panic!("expected Unavailable: {error:?}") };
        assert_eq!(name, "discord-token");
        let document_error = source.downcast_ref::<AppSecretError>().expect("the cause says what is wrong");
        assert!(
            matches!(document_error, AppSecretError::NotAnObject { secret } | AppSecretError::EntryNotText { secret, .. } if secret == &arn),
            "{document_error:?}"
        );
        let text = shown(&error);
        assert!(text.contains(&arn), "names the secret: {text}");
        assert!(!text.contains("raw-token-value"), "echoes the value: {text}");
    }
}

#[tokio::test]
async fn a_missing_secret_is_unavailable_naming_the_secret_and_retried() {
    let name = format!("timmybot/{}", unique_name("not-yet"));
    let store = AppSecretStore::new(client(), &name);
    let error = store.get("discord-token").await.unwrap_err();
    // Not NotFound: that would read as "this entry is absent, run without it".
    assert!(matches!(&error, SecretError::Unavailable { name, .. } if name == "discord-token"), "{error:?}");
    assert!(shown(&error).contains(&name), "{}", shown(&error));

    // A failed read is not cached: once the secret exists, it is read.
    client()
        .create_secret()
        .name(&name)
        .secret_string(serde_json::json!({"discord-token": TOKEN}).to_string())
        .send()
        .await
        .unwrap();
    assert!(store.get("discord-token").await.unwrap().expose() == TOKEN);
}
