//! The allowlist domain: which guilds may use a managed deployment.
//!
//! - [`rules`]: the state machine as pure functions (no I/O).
//! - [`Allowlist`]: the workflow over the ports (store, Discord, webhook).
//! - [`admin_api`]: the maintainers' JSON API, served by the
//!   `allowlist-admin` Lambda and by `timmybot serve` under
//!   `/admin/allowlist`; transport and authentication are the adapters'.
//! - [`messages`]: everything the allowlist says to people.
//!
//! See `docs/allowlist.md` for the workflow as owners and maintainers see it.
#![warn(missing_docs)]

pub mod admin_api;
mod error;
pub mod messages;
pub mod rules;
mod service;
mod settings;

pub use error::AllowlistError;
pub use rules::{AccessRequest, Decision};
pub use service::{Access, Allowlist, ButtonOutcome, MAX_HISTORY};
pub use settings::{
    ALLOWLIST_VARS, AllowlistMode, AllowlistSettings, COOLDOWN_DAYS_VAR, DEFAULT_COOLDOWN, MAINTAINER_IDS_VAR,
    MAINTAINERS_CHANNEL_VAR, MODE_VAR, ParseModeError, SettingsError,
};
