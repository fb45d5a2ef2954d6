//! What the allowlist says to people, in one place: the maintainers'
//! notice with its buttons, the requester's decision message, and the
//! answers members see.

use timmybot_core::{Actor, AllowlistRecord, AllowlistState, Button, ButtonStyle, GuildId, OutgoingMessage};

/// Prefix of the allowlist's button ids: `allowlist:{approve|deny}:{guild}`.
const BUTTON_PREFIX: &str = "allowlist:";

/// What a maintainers' button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonAction {
    /// The Approve button.
    Approve,
    /// The Deny button.
    Deny,
}

/// The custom id of a maintainers' button.
pub fn button_id(action: ButtonAction, guild: GuildId) -> String {
    let verb = match action {
        ButtonAction::Approve => "approve",
        ButtonAction::Deny => "deny",
    };
    format!("{BUTTON_PREFIX}{verb}:{guild}")
}

/// Reads a button id made by [`button_id`]; `None` for anything else.
pub fn parse_button_id(custom_id: &str) -> Option<(ButtonAction, GuildId)> {
    let rest = custom_id.strip_prefix(BUTTON_PREFIX)?;
    let (verb, guild) = rest.split_once(':')?;
    let action = match verb {
        "approve" => ButtonAction::Approve,
        "deny" => ButtonAction::Deny,
        _ => return None,
    };
    Some((action, guild.parse().ok()?))
}

/// Whether a component id belongs to the allowlist.
pub fn is_allowlist_button(custom_id: &str) -> bool {
    custom_id.starts_with(BUTTON_PREFIX)
}

/// The answer to every command but `/request-access` and `/help` in a
/// guild that is not approved.
pub fn how_to_request(state: Option<AllowlistState>) -> String {
    let ask = "A member with the Manage Server permission can ask for access with `/request-access` (add a reason \
               to help the maintainers decide).";
    match state {
        Some(AllowlistState::Pending) => {
            "This server has asked for access; the bot's maintainers have not decided yet.".to_owned()
        }
        Some(AllowlistState::Denied) => format!("This server's request for access was declined. {ask}"),
        Some(AllowlistState::Revoked) => {
            "This server's access to the bot was revoked. Contact the bot's maintainers.".to_owned()
        }
        _ => format!("This server is not approved to use this bot yet. {ask}"),
    }
}

/// The notice with Approve / Deny buttons for the maintainers' channel.
pub fn maintainer_notice(record: &AllowlistRecord) -> OutgoingMessage {
    let mut content = format!("**Access request** from {}\n", describe_guild(record));
    if let Some(user) = record.requested_by {
        content.push_str(&format!("Requested by <@{user}> <t:{}:R>\n", record.requested_at));
    }
    content.push_str(&format!("Reason: {}", record.reason.as_deref().map_or("(none given)".to_owned(), escape)));
    OutgoingMessage {
        content,
        buttons: vec![
            Button {
                custom_id: button_id(ButtonAction::Approve, record.guild_id),
                label: "Approve".into(),
                style: ButtonStyle::Success,
            },
            Button {
                custom_id: button_id(ButtonAction::Deny, record.guild_id),
                label: "Deny".into(),
                style: ButtonStyle::Danger,
            },
        ],
    }
}

/// The maintainers' notice once decided: the outcome, no buttons.
pub fn decided_notice(record: &AllowlistRecord) -> OutgoingMessage {
    let by = record.decided_by.as_ref().map_or_else(|| "someone".to_owned(), mention);
    let mut content = format!("**{}** by {by}: {}", title(record.state), describe_guild(record));
    if let Some(reason) = &record.decision_reason {
        content.push_str(&format!("\nReason: {}", escape(reason)));
    }
    OutgoingMessage::text(content)
}

/// What the requester is told when their request is decided.
pub fn requester_message(record: &AllowlistRecord, cooldown_secs: u64) -> OutgoingMessage {
    let name = record.guild_name.as_deref().map_or_else(|| format!("your server ({})", record.guild_id), escape);
    let reason = record.decision_reason.as_deref().map(|r| format!(" Reason: {}", escape(r))).unwrap_or_default();
    let content = match record.state {
        AllowlistState::Approved => format!("Good news: **{name}** is approved to use the bot. Try `/play`!{reason}"),
        AllowlistState::Denied => {
            let again = record.decided_at.unwrap_or(record.updated_at).saturating_add(cooldown_secs);
            format!("Your request for **{name}** was declined.{reason} You may ask again <t:{again}:R>.")
        }
        AllowlistState::Revoked => format!("Access for **{name}** was revoked by the bot's maintainers.{reason}"),
        AllowlistState::Pending => format!("Your request for **{name}** is waiting for the maintainers."),
    };
    OutgoingMessage::text(content)
}

/// The requester's fallback when their DMs are closed: the same message,
/// addressed to them in the channel they asked from.
pub fn requester_channel_message(record: &AllowlistRecord, cooldown_secs: u64) -> OutgoingMessage {
    let mut message = requester_message(record, cooldown_secs);
    if let Some(user) = record.requested_by {
        message.content = format!("<@{user}> {}", message.content);
    }
    message
}

/// A short title for a state.
pub fn title(state: AllowlistState) -> &'static str {
    match state {
        AllowlistState::Pending => "Pending",
        AllowlistState::Approved => "Approved",
        AllowlistState::Denied => "Denied",
        AllowlistState::Revoked => "Revoked",
    }
}

fn describe_guild(record: &AllowlistRecord) -> String {
    let name = record.guild_name.as_deref().map_or_else(|| "(unknown name)".to_owned(), escape);
    let members = record.member_count.map(|n| format!(", {n} members")).unwrap_or_default();
    format!("**{name}** (`{}`{members})", record.guild_id)
}

fn mention(actor: &Actor) -> String {
    match actor {
        Actor::DiscordUser(user) => format!("<@{user}>"),
        other => format!("`{}`", escape(&other.to_string())),
    }
}

/// Escapes Discord markdown so a guild name or reason cannot restyle the
/// message or fake a mention (one rule for every text from outside:
/// [`timmybot_core::escape_markdown`]).
pub use timmybot_core::escape_markdown as escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_ids_round_trip_and_strangers_are_ignored() {
        let guild = GuildId::new(123).unwrap();
        for action in [ButtonAction::Approve, ButtonAction::Deny] {
            assert_eq!(parse_button_id(&button_id(action, guild)), Some((action, guild)));
        }
        for id in ["", "allowlist:", "allowlist:approve:", "allowlist:approve:0", "allowlist:nuke:123", "queue:skip"] {
            assert_eq!(parse_button_id(id), None, "{id}");
        }
        assert!(button_id(ButtonAction::Deny, GuildId::new(u64::MAX).unwrap()).len() <= 100);
    }

    #[test]
    fn names_cannot_smuggle_markdown_or_mentions() {
        assert_eq!(escape("**x** @everyone <@1>"), "\\*\\*x\\*\\* \\@everyone \\<\\@1\\>");
    }
}
