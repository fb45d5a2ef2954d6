//! [`DiscordReplies`] over twilight-http: edits `@original` of an interaction.

use async_trait::async_trait;
use timmybot_core::{ApplicationId, DiscordReplies, ReplyError, Secret};

use crate::discord_ids;

/// Edits interaction replies through Discord's REST API.
#[derive(Debug, Clone)]
pub struct TwilightReplies {
    http: std::sync::Arc<twilight_http::Client>,
}

impl TwilightReplies {
    /// Replies sent through `http`.
    pub fn new(http: std::sync::Arc<twilight_http::Client>) -> Self {
        Self { http }
    }
}

#[async_trait]
impl DiscordReplies for TwilightReplies {
    async fn edit_original(&self, application: ApplicationId, token: &Secret, content: &str) -> Result<(), ReplyError> {
        // The content limit is checked by twilight; ours are short sentences.
        let client = self.http.interaction(discord_ids::to_application(application));
        let request = client.update_response(token.expose()).content(Some(content));
        // twilight's error Display includes the request path, which contains
        // the interaction token: report only the status, never the path.
        request.await.map(|_| ()).map_err(|e| ReplyError {
            message: describe(&e),
            unknown_interaction: matches!(
                e.kind(),
                twilight_http::error::ErrorType::Response { status, .. } if status.get() == 404
            ),
        })
    }
}

fn describe(error: &twilight_http::Error) -> String {
    match error.kind() {
        twilight_http::error::ErrorType::Response { status, .. } => format!("discord answered {status}"),
        twilight_http::error::ErrorType::RequestTimedOut => "request timed out".to_owned(),
        _ => "request failed".to_owned(),
    }
}
