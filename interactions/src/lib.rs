//! Discord interactions, as library code with no runtime attached.
//!
//! [`InteractionHandler`] verifies a request's Ed25519 signature
//! ([`verify`]), reads the interaction ([`model`]), answers PING, `/help`,
//! `/settings`, members' playlists (`/playlist save|show|delete|list`,
//! `/myplaylists`, [`playlist_command`]) and the data-only views (`/queue`,
//! `/nowplaying`, `/history`, position autocomplete) itself from the stores, and puts the
//! player's commands (and the controller's buttons) on the command bus with
//! a deferred, ephemeral reply. The Lambda (`lambdas/interactions`) and the single binary's local
//! server are thin adapters over [`InteractionHandler::handle_http`]; the
//! gateway service calls [`InteractionHandler::handle_interaction`] for
//! interactions it receives on INTERACTION_CREATE.
//!
//! [`commands`] is the one place slash commands are defined, for both
//! registration and parsing.
#![warn(missing_docs)]

pub mod commands;
mod error;
mod handler;
mod http_reply;
mod link_command;
pub mod model;
mod playlist_command;
mod response;
pub mod scale_to_zero;
pub mod settings_command;
pub mod verify;

pub use error::{CommandError, KeyError, RequestError, VerifyError};
pub use handler::InteractionHandler;
pub use http_reply::HttpReply;
pub use model::{Interaction, MAX_BODY_BYTES};
pub use response::{EPHEMERAL, InteractionResponse};
pub use scale_to_zero::{
    START_OVERDUE_ALARM, START_OVERDUE_REPLY, STARTING_REPLY, ScaleToZero, StartCheck, StartCheckOutcome,
};
pub use verify::PublicKey;
