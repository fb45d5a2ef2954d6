//! A guild's player settings (`/settings`, Manage Server), with their
//! defaults and bounds.

use serde::{Deserialize, Serialize};

use crate::player::{MAX_QUEUE_LEN, MAX_VOLUME};
use crate::{ChannelId, GuildId, RoleId};

/// Discord's MANAGE_GUILD permission bit ("Manage Server").
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Discord's ADMINISTRATOR permission bit, which implies every other.
pub const ADMINISTRATOR: u64 = 1 << 3;

/// The longest track a guild may allow, in seconds (24 hours).
pub const MAX_TRACK_SECS_LIMIT: u32 = 24 * 60 * 60;
/// The longest idle or alone wait a guild may set, in seconds (24 hours).
pub const MAX_LEAVE_SECS: u32 = 24 * 60 * 60;

/// One guild's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildSettings {
    /// The guild (the partition key).
    pub guild_id: GuildId,
    /// Incremented on every save; a save names the version it read.
    pub version: u64,
    /// Members with this role may skip, stop, clear, and move or remove
    /// others' tracks. `None` (the default): everyone may.
    #[serde(default)]
    pub dj_role: Option<RoleId>,
    /// Volume a new player starts at, in percent (default 100, 0–200).
    pub default_volume: u16,
    /// The most tracks that may wait (default 500, 1–1000).
    pub max_queue_len: u32,
    /// The longest track accepted, in seconds (default 3 hours, 1 s to 24 h;
    /// the deployment's own limit applies too).
    pub max_track_secs: u32,
    /// Where the now-playing controller is posted (default: the channel of
    /// the command that started playing).
    #[serde(default)]
    pub announce_channel: Option<ChannelId>,
    /// Leave after this long with nothing playing, in seconds (default 5
    /// minutes; 0 = never).
    pub idle_leave_secs: u32,
    /// Leave after this long with nobody listening, in seconds (default 2
    /// minutes; 0 = never). The queue is kept.
    pub alone_leave_secs: u32,
    /// 24/7: stay in the channel whatever happens (default off).
    pub always_on: bool,
    /// Share of the listeners whose votes skip a track, in percent
    /// (default 50: a majority; 1–100).
    pub vote_skip_percent: u8,
    /// Round-robin new tracks between requesters (default off).
    pub fair_queue: bool,
}

impl GuildSettings {
    /// The defaults, for a guild that never changed anything (version 0).
    pub fn defaults(guild_id: GuildId) -> Self {
        Self {
            guild_id,
            version: 0,
            dj_role: None,
            default_volume: 100,
            max_queue_len: 500,
            max_track_secs: 3 * 60 * 60,
            announce_channel: None,
            idle_leave_secs: 5 * 60,
            alone_leave_secs: 2 * 60,
            always_on: false,
            vote_skip_percent: 50,
            fair_queue: false,
        }
    }

    /// Whether a member with `roles` and permission bits `permissions` may
    /// do what a DJ may: everyone when no DJ role is set; else members with
    /// the role, Manage Server or Administrator.
    pub fn is_dj(&self, roles: &[RoleId], permissions: u64) -> bool {
        match self.dj_role {
            None => true,
            Some(role) => roles.contains(&role) || permissions & (MANAGE_GUILD | ADMINISTRATOR) != 0,
        }
    }

    /// Applies `change`, field by field, after checking every bound.
    ///
    /// # Errors
    /// [`SettingsError`] for the first value out of bounds; nothing changes then.
    pub fn apply(&mut self, change: &SettingsChange) -> Result<(), SettingsError> {
        let mut next = self.clone();
        if let Some(role) = change.dj_role {
            next.dj_role = role;
        }
        if let Some(volume) = change.default_volume {
            next.default_volume = check("default_volume", volume, 0, MAX_VOLUME)?;
        }
        if let Some(len) = change.max_queue_len {
            next.max_queue_len = check("max_queue_len", len, 1, MAX_QUEUE_LEN as u32)?;
        }
        if let Some(secs) = change.max_track_secs {
            next.max_track_secs = check("max_track_secs", secs, 1, MAX_TRACK_SECS_LIMIT)?;
        }
        if let Some(channel) = change.announce_channel {
            next.announce_channel = channel;
        }
        if let Some(secs) = change.idle_leave_secs {
            next.idle_leave_secs = check("idle_leave_secs", secs, 0, MAX_LEAVE_SECS)?;
        }
        if let Some(secs) = change.alone_leave_secs {
            next.alone_leave_secs = check("alone_leave_secs", secs, 0, MAX_LEAVE_SECS)?;
        }
        if let Some(on) = change.always_on {
            next.always_on = on;
        }
        if let Some(percent) = change.vote_skip_percent {
            next.vote_skip_percent = check("vote_skip_percent", percent, 1, 100)?;
        }
        if let Some(on) = change.fair_queue {
            next.fair_queue = on;
        }
        *self = next;
        Ok(())
    }
}

fn check<T: PartialOrd + Copy + Into<u64>>(field: &'static str, value: T, min: T, max: T) -> Result<T, SettingsError> {
    if value < min || value > max {
        return Err(SettingsError::OutOfRange { field, min: min.into(), max: max.into() });
    }
    Ok(value)
}

/// A change of some settings; `None` leaves a setting as it is. For the
/// optional ones (`dj_role`, `announce_channel`), `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// The DJ role.
    pub dj_role: Option<Option<RoleId>>,
    /// The default volume.
    pub default_volume: Option<u16>,
    /// The queue limit.
    pub max_queue_len: Option<u32>,
    /// The track length limit, in seconds.
    pub max_track_secs: Option<u32>,
    /// The announce channel.
    pub announce_channel: Option<Option<ChannelId>>,
    /// The idle wait, in seconds.
    pub idle_leave_secs: Option<u32>,
    /// The alone wait, in seconds.
    pub alone_leave_secs: Option<u32>,
    /// 24/7 mode.
    pub always_on: Option<bool>,
    /// The vote share.
    pub vote_skip_percent: Option<u8>,
    /// The fair queue.
    pub fair_queue: Option<bool>,
}

impl SettingsChange {
    /// Whether it changes nothing (`/settings` alone shows them).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A settings value out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The value is outside `min..=max`.
    #[error("{field} must be between {min} and {max}")]
    OutOfRange {
        /// The setting's name.
        field: &'static str,
        /// The smallest value allowed.
        min: u64,
        /// The largest.
        max: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_field_by_field_and_clear_optional_ones() {
        let guild = GuildId::new(1).unwrap();
        let mut settings = GuildSettings::defaults(guild);
        settings
            .apply(&SettingsChange {
                dj_role: Some(RoleId::new(9)),
                fair_queue: Some(true),
                idle_leave_secs: Some(0),
                ..SettingsChange::default()
            })
            .unwrap();
        assert_eq!(settings.dj_role, RoleId::new(9));
        assert!(settings.fair_queue);
        assert_eq!(settings.idle_leave_secs, 0);
        assert_eq!(settings.default_volume, 100, "untouched");
        settings.apply(&SettingsChange { dj_role: Some(None), ..SettingsChange::default() }).unwrap();
        assert_eq!(settings.dj_role, None);
    }

    #[test]
    fn without_a_dj_role_everyone_is_a_dj_and_with_one_its_holders_and_managers_are() {
        let mut settings = GuildSettings::defaults(GuildId::new(1).unwrap());
        assert!(settings.is_dj(&[], 0));
        settings.dj_role = RoleId::new(5);
        assert!(!settings.is_dj(&[RoleId::new(6).unwrap()], 0));
        assert!(settings.is_dj(&[RoleId::new(6).unwrap(), RoleId::new(5).unwrap()], 0));
        assert!(settings.is_dj(&[], MANAGE_GUILD));
        assert!(settings.is_dj(&[], ADMINISTRATOR));
    }

    #[test]
    fn a_value_out_of_bounds_changes_nothing_and_names_the_option() {
        let mut settings = GuildSettings::defaults(GuildId::new(1).unwrap());
        let before = settings.clone();
        let change = SettingsChange { fair_queue: Some(true), default_volume: Some(999), ..SettingsChange::default() };
        let error = settings.apply(&change).unwrap_err();
        assert_eq!(error, SettingsError::OutOfRange { field: "default_volume", min: 0, max: 200 });
        assert_eq!(error.to_string(), "default_volume must be between 0 and 200");
        assert_eq!(settings, before);
        for change in [
            SettingsChange { max_queue_len: Some(0), ..SettingsChange::default() },
            SettingsChange { max_queue_len: Some(1001), ..SettingsChange::default() },
            SettingsChange { vote_skip_percent: Some(0), ..SettingsChange::default() },
            SettingsChange { vote_skip_percent: Some(101), ..SettingsChange::default() },
            SettingsChange { max_track_secs: Some(0), ..SettingsChange::default() },
        ] {
            assert!(settings.apply(&change).is_err(), "{change:?}");
        }
    }
}
