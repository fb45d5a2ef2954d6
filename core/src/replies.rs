//! The Discord replies port: how the gateway service tells a member what
//! happened to their command.

use async_trait::async_trait;

use crate::{ApplicationId, OutgoingMessage, Secret};

/// A reply could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("discord reply failed: {message}")]
pub struct ReplyError {
    /// What failed, without tokens.
    pub message: String,
    /// Discord does not know the interaction (yet): a command can finish
    /// before Discord has registered the deferred response, so this one is
    /// worth retrying for a moment.
    pub unknown_interaction: bool,
}

/// Answers interactions after their first response. Every message goes out
/// with no allowed mentions.
#[async_trait]
pub trait DiscordReplies: Send + Sync + 'static {
    /// Replaces the content and buttons of the deferred reply (`@original`)
    /// of the interaction identified by `token`.
    ///
    /// Player commands are deferred ephemerally (only the member sees the
    /// reply, refusals included); what everyone sees is the controller.
    async fn edit_original(
        &self,
        application: ApplicationId,
        token: &Secret,
        message: &OutgoingMessage,
    ) -> Result<(), ReplyError>;
}
