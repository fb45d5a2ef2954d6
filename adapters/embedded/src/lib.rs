//! Embedded adapters: everything the bot needs on one machine, no cloud.
//!
//! - [`SqliteStore`] implements the store ports (`PlayerStore` in
//!   `player_sqlite.rs`, `SettingsStore` in `settings_sqlite.rs`,
//!   `AllowlistStore` in `allowlist_sqlite.rs`, `TrackCache` in
//!   `track_cache_sqlite.rs`, `GatewayPresence` in `presence_sqlite.rs`,
//!   `CommandLedger` in `ledger_sqlite.rs`, `GatewaySessionStore` in
//!   `gateway_session_sqlite.rs`) over one SQLite file.
//! - [`FileSecretStore`] implements `SecretStore` over a 0600 file.
//! - [`InProcessBus`] implements `CommandBus` with in-memory queues that keep
//!   SQS FIFO's semantics.
//!
//! The same contract suites from `timmybot-test-support` run over these and
//! over the AWS adapters.
#![warn(missing_docs)]

mod accounts_sqlite;
mod allowlist_sqlite;
pub mod bus_in_process;
mod gateway_session_sqlite;
mod ledger_sqlite;
mod link_state_sqlite;
mod player_sqlite;
mod playlists_sqlite;
mod presence_sqlite;
pub mod secrets_file;
mod settings_sqlite;
mod sqlite_store;
mod track_cache_sqlite;

pub use bus_in_process::InProcessBus;
pub use secrets_file::{FileSecretStore, SecretsFileError};
pub use sqlite_store::SqliteStore;
