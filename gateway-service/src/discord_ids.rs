//! Conversions between twilight ids and the domain's ids. The domain owns its
//! id types; only this adapter knows twilight's.

use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, ChannelMarker, GuildMarker, UserMarker};

use timmybot_core::{ApplicationId, ChannelId, GuildId, UserId};

pub(crate) fn guild(id: Id<GuildMarker>) -> GuildId {
    GuildId::new(id.get()).expect("twilight ids are non-zero")
}

pub(crate) fn user(id: Id<UserMarker>) -> UserId {
    UserId::new(id.get()).expect("twilight ids are non-zero")
}

pub(crate) fn channel(id: Id<ChannelMarker>) -> ChannelId {
    ChannelId::new(id.get()).expect("twilight ids are non-zero")
}

pub(crate) fn to_application(id: ApplicationId) -> Id<ApplicationMarker> {
    Id::new(id.get())
}
