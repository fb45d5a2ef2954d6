//! The interactions Lambda: Discord's HTTP interactions endpoint behind a
//! Function URL.
//!
//! Wiring only: [`Config`] reads the environment once, `main` builds the
//! clients once, and [`function_handler`] hands each request's headers and
//! exact body bytes to [`timmybot_interactions::InteractionHandler`].

mod config;
mod function_handler;
mod wiring;

pub use config::{Config, ConfigError};
pub use function_handler::function_handler;
pub use wiring::build_handler;
