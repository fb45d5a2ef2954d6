//! [`SecretStore`] on AWS Secrets Manager.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use timmybot_core::{Secret, SecretError, SecretStore};

/// Why a secret that exists has no usable value. Never holds the value.
#[derive(Debug, thiserror::Error)]
enum ValueError {
    #[error("secret has neither a string nor a binary value")]
    Missing,
    #[error("secret binary value is not UTF-8 text")]
    NotText,
}

/// Reads application secrets from Secrets Manager by name (or ARN).
///
/// Each [`SecretStore::get`] calls GetSecretValue for the version staged
/// `AWSCURRENT`, so a rotation is seen at the next read; callers that read
/// often should keep the value rather than call again.
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: Client,
}

impl SecretsManagerStore {
    /// A store reading through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn get(&self, name: &str) -> Result<Secret, SecretError> {
        let unavailable = |source: Box<dyn std::error::Error + Send + Sync>| SecretError::Unavailable {
            name: name.to_owned(),
            source,
        };
        let output = match self
            .client
            .get_secret_value()
            .secret_id(name)
            // Explicit, so a version moved to AWSCURRENT by a rotation or a
            // PutSecretValue is what we read (moto needs it too).
            .version_stage("AWSCURRENT")
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                return Err(SecretError::NotFound(name.to_owned()));
            }
            Err(e) => return Err(unavailable(Box::new(e))),
        };
        if let Some(text) = output.secret_string() {
            return Ok(Secret::new(text));
        }
        let binary = output.secret_binary().ok_or_else(|| unavailable(Box::new(ValueError::Missing)))?;
        String::from_utf8(binary.as_ref().to_vec())
            .map(Secret::new)
            .map_err(|_| unavailable(Box::new(ValueError::NotText)))
    }
}
