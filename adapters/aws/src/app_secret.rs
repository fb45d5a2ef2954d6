//! [`SecretStore`] over ONE Secrets Manager secret holding every
//! application secret as a JSON object of named entries.
//!
//! The deployment keeps all its secrets in one secret (one $0.40 a month
//! instead of one per value) whose `SecretString` is
//! `{"discord-token": "...", "discord-public-key": "...", ...}`: the same
//! entry names as the local secrets file, so code asks a [`SecretStore`]
//! for `discord-token` whichever of the two it runs on.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use timmybot_core::{Secret, SecretError, SecretStore};
use tokio::sync::OnceCell;

use crate::SecretsManagerStore;

/// The document's entry with the Discord bot token.
pub const DISCORD_TOKEN_ENTRY: &str = "discord-token";
/// The entry with the application's hex Ed25519 public key.
pub const DISCORD_PUBLIC_KEY_ENTRY: &str = "discord-public-key";
/// The entry with the key that encrypts stored OAuth tokens.
pub const TOKEN_ENCRYPTION_KEY_ENTRY: &str = "token-encryption-key";
/// The entry with the deployer's Spotify app's client id.
pub const SPOTIFY_CLIENT_ID_ENTRY: &str = "spotify-client-id";
/// The entry with the deployer's Spotify app's client secret.
pub const SPOTIFY_CLIENT_SECRET_ENTRY: &str = "spotify-client-secret";

/// Why the document cannot be used. Names the secret and at most an entry
/// name (a key of the object, chosen by the deployer); never a value, and
/// never serde_json's message, which quotes the text it choked on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppSecretError {
    /// The secret's value is not JSON, or JSON but not an object.
    #[error("secret {secret} is not a JSON object of named entries (expected {{\"discord-token\": \"...\", ...}})")]
    NotAnObject {
        /// The secret's id (name or ARN), as configured.
        secret: String,
    },
    /// One entry's value is not a string (a number, an object, ...).
    #[error("entry {entry} of secret {secret} is not a string")]
    EntryNotText {
        /// The secret's id.
        secret: String,
        /// The entry.
        entry: String,
    },
    /// The secret itself does not exist.
    #[error("secret {secret} not found")]
    SecretNotFound {
        /// The secret's id.
        secret: String,
    },
}

/// The entries of one JSON-document secret, read from Secrets Manager at
/// the first [`SecretStore::get`] and kept for the life of the process (a
/// Lambda's cold start, a task's run): one GetSecretValue per process
/// however many entries are read.
///
/// A missing entry is [`SecretError::NotFound`] naming the entry, as from
/// the local secrets file, so a caller can treat an optional entry the
/// same way on both. A document that cannot be read is
/// [`SecretError::Unavailable`] (naming the entry asked for) with an
/// [`AppSecretError`] or the SDK's error as its source; a failed read is not
/// cached, so the next call tries again.
#[derive(Debug)]
pub struct AppSecretStore {
    secrets: SecretsManagerStore,
    secret_id: String,
    entries: OnceCell<BTreeMap<String, Secret>>,
}

impl AppSecretStore {
    /// The entries of the secret `secret_id` (its name or ARN), read through
    /// `client`.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self { secrets: SecretsManagerStore::new(client), secret_id: secret_id.into(), entries: OnceCell::new() }
    }

    /// The secret's id, as configured (an id, not a value: safe to log).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    async fn load(&self) -> Result<BTreeMap<String, Secret>, LoadError> {
        let document = match self.secrets.get(&self.secret_id).await {
            Ok(document) => document,
            Err(SecretError::NotFound(_)) => {
                return Err(LoadError::Document(AppSecretError::SecretNotFound { secret: self.secret_id.clone() }));
            }
            Err(e) => return Err(LoadError::Read(e)),
        };
        parse_document(&self.secret_id, document.expose()).map_err(LoadError::Document)
    }
}

/// What [`AppSecretStore::load`] failed with: the document, or the read.
enum LoadError {
    Document(AppSecretError),
    Read(SecretError),
}

/// The entries of `text`, which must be a JSON object of strings.
fn parse_document(secret: &str, text: &str) -> Result<BTreeMap<String, Secret>, AppSecretError> {
    let not_an_object = || AppSecretError::NotAnObject { secret: secret.to_owned() };
    // The parse error is dropped on purpose: its message quotes the input.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| not_an_object())?;
    let serde_json::Value::Object(object) = value else { return Err(not_an_object()) };
    object
        .into_iter()
        .map(|(entry, value)| match value {
            serde_json::Value::String(text) => Ok((entry, Secret::new(text))),
            _ => Err(AppSecretError::EntryNotText { secret: secret.to_owned(), entry }),
        })
        .collect()
}

#[async_trait]
impl SecretStore for AppSecretStore {
    async fn get(&self, name: &str) -> Result<Secret, SecretError> {
        let loaded = self.entries.get_or_try_init(|| self.load()).await;
        let entries = match loaded {
            Ok(entries) => entries,
            Err(LoadError::Document(e)) => {
                return Err(SecretError::Unavailable { name: name.to_owned(), source: Box::new(e) });
            }
            // Already names the document's secret and keeps the SDK error.
            Err(LoadError::Read(SecretError::Unavailable { source, .. })) => {
                return Err(SecretError::Unavailable { name: name.to_owned(), source });
            }
            Err(LoadError::Read(e)) => {
                return Err(SecretError::Unavailable { name: name.to_owned(), source: Box::new(e) });
            }
        };
        entries.get(name).cloned().ok_or_else(|| SecretError::NotFound(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_of_strings_parses() {
        let entries = parse_document("s", r#"{"discord-token": "Bot abc", "empty": ""}"#).unwrap();
        assert_eq!(entries["discord-token"].expose(), "Bot abc");
        assert_eq!(entries["empty"].expose(), "");
    }

    #[test]
    fn other_json_is_refused_without_quoting_it() {
        for text in ["not json hunter2", "\"hunter2\"", "[\"hunter2\"]", "42", "{\"a\": \"hunter2\""] {
            let error = parse_document("timmybot/app", text).unwrap_err();
            assert!(matches!(error, AppSecretError::NotAnObject { .. }), "{text}");
            let shown = format!("{error} {error:?}");
            assert!(shown.contains("timmybot/app") && !shown.contains("hunter2"), "{shown}");
        }
        let error = parse_document("timmybot/app", r#"{"discord-token": {"v": "hunter2"}}"#).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("entry discord-token") && !shown.contains("hunter2"), "{shown}");
    }
}
