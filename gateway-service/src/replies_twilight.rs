//! [`DiscordReplies`] over twilight-http: edits `@original` of an interaction.

use async_trait::async_trait;
use timmybot_core::{ApplicationId, DiscordReplies, OutgoingMessage, ReplyError, Secret};
use twilight_model::channel::message::AllowedMentions;
use twilight_model::channel::message::component::{ActionRow, Button, ButtonStyle, Component};

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
    async fn edit_original(
        &self,
        application: ApplicationId,
        token: &Secret,
        message: &OutgoingMessage,
    ) -> Result<(), ReplyError> {
        // The content limit is checked by twilight; ours are short sentences.
        let client = self.http.interaction(discord_ids::to_application(application));
        // Titles come from third parties: nothing in a reply may ping.
        let no_mentions = AllowedMentions::default();
        let components = components(message);
        let request = client
            .update_response(token.expose())
            .content(Some(&message.content))
            .allowed_mentions(Some(&no_mentions))
            .components(Some(&components));
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

/// The message's buttons as twilight components, five to a row.
fn components(message: &OutgoingMessage) -> Vec<Component> {
    message
        .buttons
        .chunks(5)
        .take(timmybot_core::MAX_BUTTONS / 5)
        .map(|row| {
            Component::ActionRow(ActionRow {
                id: None,
                components: row
                    .iter()
                    .map(|b| {
                        let link = b.style == timmybot_core::ButtonStyle::Link;
                        Component::Button(Button {
                            id: None,
                            custom_id: (!link).then(|| b.custom_id.clone()),
                            disabled: false,
                            emoji: None,
                            label: Some(b.label.clone()),
                            style: match b.style {
                                timmybot_core::ButtonStyle::Primary => ButtonStyle::Primary,
                                timmybot_core::ButtonStyle::Secondary => ButtonStyle::Secondary,
                                timmybot_core::ButtonStyle::Success => ButtonStyle::Success,
                                timmybot_core::ButtonStyle::Danger => ButtonStyle::Danger,
                                timmybot_core::ButtonStyle::Link => ButtonStyle::Link,
                            },
                            url: link.then(|| b.custom_id.clone()),
                            sku_id: None,
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

fn describe(error: &twilight_http::Error) -> String {
    match error.kind() {
        twilight_http::error::ErrorType::Response { status, .. } => format!("discord answered {status}"),
        twilight_http::error::ErrorType::RequestTimedOut => "request timed out".to_owned(),
        _ => "request failed".to_owned(),
    }
}
