//! `build_api` as the deployed Lambda runs it: the bot token is the
//! `discord-token` entry of the application secret (one Secrets Manager
//! secret, a JSON object), read on moto through the real SDK.
//!
//! Each test sets process-wide AWS variables before any runtime thread
//! exists; nextest runs every test in its own process.

use allowlist_admin_lambda::{APP_SECRET_VAR, Config, WiringError, build_api};
use timmybot_allowlist::AllowlistSettings;
use timmybot_test_support::emulators::{Emulators, unique_name};

/// Points the default chain at the emulators.
fn aws_environment(emulators: &Emulators) {
    // SAFETY: called first thing in a #[test], before any other thread.
    unsafe { emulators.export_for_default_chain() };
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

async fn put_secret(emulators: &Emulators, value: &str) -> String {
    let name = format!("timmybot/{}", unique_name("app"));
    aws_sdk_secretsmanager::Client::new(&emulators.sdk_config())
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret");
    name
}

fn config(app_secret: Option<String>) -> Config {
    Config {
        table_guilds: unique_name("guilds"),
        table_guild_queues: String::new(),
        settings: AllowlistSettings::default(),
        app_secret,
        webhook_url: None,
    }
}

#[test]
fn the_token_entry_is_read_and_an_absent_one_turns_discord_notices_off() {
    let emulators = Emulators::from_env();
    aws_environment(&emulators);
    runtime().block_on(async {
        let with_token =
            put_secret(&emulators, r#"{"discord-token": "Bot MTIz.abc", "token-encryption-key": "k"}"#).await;
        assert!(build_api(config(Some(with_token))).await.is_ok());
        let without = put_secret(&emulators, r#"{"token-encryption-key": "k"}"#).await;
        assert!(build_api(config(Some(without))).await.is_ok(), "no entry: decisions tell nobody on Discord");
        assert!(build_api(config(None)).await.is_ok());
    });
}

#[test]
fn an_unreadable_app_secret_fails_the_cold_start_naming_it_and_not_its_value() {
    let emulators = Emulators::from_env();
    aws_environment(&emulators);
    runtime().block_on(async {
        // The bare token pasted instead of the JSON document.
        let pasted = put_secret(&emulators, "MTIz.bare-token-value").await;
        let Err(error) = build_api(config(Some(pasted.clone()))).await else { panic!("not a JSON object") };
        assert!(matches!(error, WiringError::DiscordToken(_)), "{error:?}");
        let mut chain = format!("{error} {error:?}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(&format!(" | {cause}"));
            source = cause.source();
        }
        assert!(chain.contains(APP_SECRET_VAR) && chain.contains(&pasted), "{chain}");
        assert!(!chain.contains("bare-token-value"), "{chain}");

        let Err(error) = build_api(config(Some("timmybot/never-created".into()))).await else {
            panic!("a missing secret fails the cold start")
        };
        assert!(matches!(error, WiringError::DiscordToken(_)), "{error:?}");
    });
}
