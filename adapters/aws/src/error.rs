//! Errors of the setup helpers; the port operations use the core's errors.

use std::error::Error as StdError;

/// Creating a table or a queue failed.
///
/// Only `create_tables` and `create_queue` return it: they run from tests
/// and local development, never on a request path.
#[derive(Debug, thiserror::Error)]
#[error("could not set up {resource}")]
pub struct SetupError {
    resource: String,
    #[source]
    source: Box<dyn StdError + Send + Sync>,
}

impl SetupError {
    pub(crate) fn new(resource: impl Into<String>, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self { resource: resource.into(), source: source.into() }
    }

    /// The table or queue that could not be set up.
    pub fn resource(&self) -> &str {
        &self.resource
    }
}
