//! The AWS side every Lambda shares: one SDK configuration for all its
//! clients, and the application secret.

use timmybot_aws::{AppSecretStore, interactive_timeouts, load_sdk_config};
use timmybot_core::{Secret, SecretError, SecretStore};

/// The variable naming the application secret (its name or ARN): ONE
/// Secrets Manager secret whose value is a JSON object of named entries
/// (`discord-token`, `discord-public-key`, `token-encryption-key`, …, the
/// entry names of the local secrets file). Every component reads its
/// application secrets from it.
pub const APP_SECRET_VAR: &str = "TIMMYBOT_APP_SECRET";

/// The SDK configuration for a Lambda's clients, loaded once per cold
/// start from the default credential chain (the function's role; the
/// standard `AWS_ENDPOINT_URL_*` variables point it elsewhere in tests).
///
/// Calls give up after [`interactive_timeouts`]: someone is waiting for
/// every answer a Lambda gives (Discord within 3 s, a maintainer).
pub async fn sdk_config() -> aws_config::SdkConfig {
    load_sdk_config(interactive_timeouts()).await
}

/// The application secret `secret_id` (the value of [`APP_SECRET_VAR`]),
/// read at the first entry asked for and kept for the cold start.
pub fn app_secret(sdk: &aws_config::SdkConfig, secret_id: &str) -> AppSecretStore {
    AppSecretStore::new(aws_sdk_secretsmanager::Client::new(sdk), secret_id)
}

/// An entry of the application secret could not be had. Names the entry
/// and [`APP_SECRET_VAR`], never a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppSecretEntryError {
    /// The document has no such entry.
    #[error(
        "the application secret named by {APP_SECRET_VAR} has no {entry:?} entry: add it \
         (`aws secretsmanager put-secret-value`, docs/deploy.md)"
    )]
    Missing {
        /// The entry.
        entry: String,
    },
    /// The secret could not be read, or is not a JSON object of strings.
    #[error("the application secret named by {APP_SECRET_VAR} could not be read for its {entry:?} entry")]
    Unreadable {
        /// The entry asked for.
        entry: String,
        /// What the store said (names the secret, never a value).
        #[source]
        source: SecretError,
    },
}

/// The entry `entry` of `secrets`; `None` when the document has no such
/// entry or it is blank (a feature the deployer has not set up).
///
/// # Errors
/// [`AppSecretEntryError::Unreadable`] when the secret cannot be read.
pub async fn optional_entry(secrets: &dyn SecretStore, entry: &str) -> Result<Option<Secret>, AppSecretEntryError> {
    match secrets.get(entry).await {
        Ok(value) if value.expose().trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(SecretError::NotFound(_)) => Ok(None),
        Err(source) => Err(AppSecretEntryError::Unreadable { entry: entry.to_owned(), source }),
    }
}

/// The entry `entry` of `secrets`, which must be there and not blank.
///
/// # Errors
/// [`AppSecretEntryError::Missing`] naming the entry, or
/// [`AppSecretEntryError::Unreadable`].
pub async fn required_entry(secrets: &dyn SecretStore, entry: &str) -> Result<Secret, AppSecretEntryError> {
    optional_entry(secrets, entry).await?.ok_or_else(|| AppSecretEntryError::Missing { entry: entry.to_owned() })
}
