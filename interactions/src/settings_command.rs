//! `/settings`: reading its options into a change, and showing the
//! settings a guild has.

use timmybot_core::{ChannelId, GuildSettings, RoleId, SettingsChange};

use crate::CommandError;
use crate::commands::{self, SETTINGS, optional_bool, optional_integer, optional_string};
use crate::model::InteractionData;

/// The change the options of a `/settings` interaction ask for (empty when
/// none was given: then the settings are shown).
///
/// # Errors
/// [`CommandError`] for an option of the wrong type or out of its range.
pub fn change(data: &InteractionData) -> Result<SettingsChange, CommandError> {
    check_ranges(data)?;
    let role = |name| -> Result<Option<RoleId>, CommandError> {
        optional_string(data, name)?.map(|s| s.parse().map_err(|_| CommandError::InvalidOption(name))).transpose()
    };
    let channel = |name| -> Result<Option<ChannelId>, CommandError> {
        optional_string(data, name)?.map(|s| s.parse().map_err(|_| CommandError::InvalidOption(name))).transpose()
    };
    let int = |name| optional_integer(data, name);
    let minutes = |name| -> Result<Option<u32>, CommandError> { Ok(int(name)?.map(|m| (m * 60) as u32)) };
    let mut change = SettingsChange::default();
    if let Some(role) = role("dj_role")? {
        change.dj_role = Some(Some(role));
    } else if optional_bool(data, "clear_dj_role")? == Some(true) {
        change.dj_role = Some(None);
    }
    if let Some(channel) = channel("announce_channel")? {
        change.announce_channel = Some(Some(channel));
    } else if optional_bool(data, "clear_announce_channel")? == Some(true) {
        change.announce_channel = Some(None);
    }
    change.default_volume = int("default_volume")?.map(|v| v as u16);
    change.max_queue_len = int("max_queue")?.map(|v| v as u32);
    change.max_track_secs = minutes("max_track_minutes")?;
    change.idle_leave_secs = minutes("idle_minutes")?;
    change.alone_leave_secs = minutes("alone_minutes")?;
    change.always_on = optional_bool(data, "always_on")?;
    change.vote_skip_percent = int("vote_skip_percent")?.map(|v| v as u8);
    change.fair_queue = optional_bool(data, "fair_queue")?;
    Ok(change)
}

/// Integer options inside the ranges they were registered with: the client
/// enforces them, hand-made requests must meet them too.
fn check_ranges(data: &InteractionData) -> Result<(), CommandError> {
    let def = commands::find(SETTINGS).expect("settings is defined");
    for option in def.options {
        let (Some(min), Some(max)) = (option.min_value, option.max_value) else { continue };
        if let Some(value) = optional_integer(data, option.name)?
            && !(min..=max).contains(&value)
        {
            return Err(CommandError::OptionOutOfRange { name: option.name, min, max });
        }
    }
    Ok(())
}

/// The settings as members read them.
pub fn describe(settings: &GuildSettings) -> String {
    let minutes = |secs: u32| if secs == 0 { "never".to_owned() } else { format!("after {} min", secs / 60) };
    let dj = settings.dj_role.map_or_else(|| "none (everyone may)".to_owned(), |role| format!("<@&{role}>"));
    let announce =
        settings.announce_channel.map_or_else(|| "where /play was used".to_owned(), |channel| format!("<#{channel}>"));
    let on = |b: bool| if b { "on" } else { "off" };
    format!(
        "**Player settings**\n\
         DJ role: {dj}\n\
         Default volume: {}%\n\
         Queue limit: {} tracks\n\
         Longest track: {} min\n\
         Now-playing message: {announce}\n\
         Leave when idle: {}\n\
         Leave when alone: {}\n\
         24/7: {}\n\
         Vote skip: more than {}% of listeners\n\
         Fair queue: {}",
        settings.default_volume,
        settings.max_queue_len,
        settings.max_track_secs / 60,
        minutes(settings.idle_leave_secs),
        minutes(settings.alone_leave_secs),
        on(settings.always_on),
        settings.vote_skip_percent,
        on(settings.fair_queue),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OptionValue;
    use timmybot_core::GuildId;

    fn data(options: Vec<(&str, OptionValue)>) -> InteractionData {
        InteractionData::with_options(SETTINGS, options)
    }

    #[test]
    fn options_become_a_change_in_the_stored_units() {
        let change = change(&data(vec![
            ("dj_role", OptionValue::String("42".into())),
            ("idle_minutes", OptionValue::Integer(3)),
            ("always_on", OptionValue::Bool(true)),
            ("clear_announce_channel", OptionValue::Bool(true)),
            ("max_queue", OptionValue::Integer(50)),
        ]))
        .unwrap();
        assert_eq!(change.dj_role, Some(RoleId::new(42)));
        assert_eq!(change.idle_leave_secs, Some(180));
        assert_eq!(change.always_on, Some(true));
        assert_eq!(change.announce_channel, Some(None));
        assert_eq!(change.max_queue_len, Some(50));
        assert_eq!(change.fair_queue, None);
        assert!(super::change(&data(vec![])).unwrap().is_empty());
    }

    #[test]
    fn values_out_of_the_registered_range_are_refused_by_name() {
        let error = change(&data(vec![("default_volume", OptionValue::Integer(999))])).unwrap_err();
        assert!(matches!(error, CommandError::OptionOutOfRange { name: "default_volume", min: 0, max: 200 }));
        assert_eq!(error.user_message(), "`default_volume` must be between 0 and 200. Nothing was changed.");
        assert!(change(&data(vec![("dj_role", OptionValue::String("nope".into()))])).is_err());
    }

    #[test]
    fn the_description_names_every_setting() {
        let mut settings = GuildSettings::defaults(GuildId::new(1).unwrap());
        settings.dj_role = RoleId::new(9);
        settings.idle_leave_secs = 0;
        let text = describe(&settings);
        for needle in [
            "DJ role: <@&9>",
            "Default volume: 100%",
            "Queue limit: 500",
            "Leave when idle: never",
            "Leave when alone: after 2 min",
            "24/7: off",
            "more than 50%",
            "Fair queue: off",
            "Longest track: 180 min",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }
}
