//! `/link`, `/links`, `/unlink`: answered at once by the handler through
//! [`AccountLinks`] (the stores and, for `/link`, no provider call: the
//! member's browser talks to the provider and the callback finishes the
//! link). Replies are ephemeral: a member's accounts are their own.

use timmybot_core::{Button, ButtonStyle, LinkState, UserId, escape_markdown};
use timmybot_linking::{AccountLinks, LinkError, LinkPrompt, LinkView, revoke_hint, title, unlinked_message};

use crate::InteractionResponse;
use crate::commands::LinkAction;

/// Answers `action` for `user`. A failure the member can act on is an
/// answer, not an error.
pub async fn answer(links: &AccountLinks, user: UserId, action: LinkAction) -> InteractionResponse {
    let outcome = match action {
        LinkAction::Link(provider) => match links.begin(user, provider).await {
            Ok(LinkPrompt::Open(url)) => {
                tracing::info!(user_id = %user, %provider, "link started");
                return InteractionResponse::Message {
                    content: format!(
                        "Open {0} below and allow access to link your account. The link works once, for ten \
                         minutes, and only for you. timmybot reads your playlists and liked songs as track lists \
                         (never audio) and plays them from this bot's own sources; `/unlink {provider}` deletes \
                         them again.",
                        title(provider)
                    ),
                    ephemeral: true,
                    buttons: vec![Button {
                        custom_id: url.to_string(),
                        label: format!("Link {}", title(provider)),
                        style: ButtonStyle::Link,
                    }],
                };
            }
            Err(e) => Err(e),
        },
        LinkAction::Show => links.links(user).await.map(|views| describe(&views)),
        LinkAction::Unlink(provider) => links
            .unlink(user, provider)
            .await
            .map(|removed| format!("{} {}", unlinked_message(provider, removed), revoke_hint(provider))),
        LinkAction::Forget => links.forget(user).await.map(|_| {
            "Everything timmybot kept of you is deleted: your links, their tokens and all your playlists.".to_owned()
        }),
    };
    InteractionResponse::ephemeral(outcome.unwrap_or_else(|e: LinkError| e.user_message()))
}

/// `/links`: one line per link.
pub fn describe(views: &[LinkView]) -> String {
    if views.is_empty() {
        return "You have no linked accounts. `/link spotify` links one.".to_owned();
    }
    let lines: Vec<String> = views
        .iter()
        .map(|view| {
            let account = &view.account;
            let provider = account.provider;
            let name =
                account.account_name.as_deref().map(|n| format!(" as **{}**", escape_markdown(n))).unwrap_or_default();
            if account.state == LinkState::NeedsRelink {
                return format!("**{}**{name}: stopped working; `/link {provider}` links it again.", title(provider));
            }
            let mut line = format!(
                "**{}**{name}, linked <t:{}:D>: {} playlists imported.",
                title(provider),
                account.linked_at_ms / 1000,
                view.playlists
            );
            if let Some(ends) = account.grant_expires_ms {
                line.push_str(&format!(" The link ends <t:{}:R>; link again before then.", ends / 1000));
            }
            line
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::{LinkedAccount, Provider};

    fn view(state: LinkState, grant: Option<u64>) -> LinkView {
        LinkView {
            account: LinkedAccount {
                user: UserId::new(1).unwrap(),
                provider: Provider::Spotify,
                account_name: Some("*Alice*".into()),
                access_token: None,
                refresh_token: None,
                access_expires_ms: 0,
                grant_expires_ms: grant,
                linked_at_ms: 1_700_000_000_000,
                state,
                refresh_lease_until_ms: None,
                version: 1,
            },
            playlists: 3,
        }
    }

    #[test]
    fn links_say_since_when_until_when_and_what_they_gave() {
        assert_eq!(
            describe(&[view(LinkState::Active, Some(1_715_000_000_000))]),
            "**Spotify** as **\\*Alice\\***, linked <t:1700000000:D>: 3 playlists imported. The link ends \
             <t:1715000000:R>; link again before then."
        );
        assert_eq!(
            describe(&[view(LinkState::NeedsRelink, None)]),
            "**Spotify** as **\\*Alice\\***: stopped working; `/link spotify` links it again."
        );
        assert!(describe(&[]).starts_with("You have no linked accounts."));
    }
}
