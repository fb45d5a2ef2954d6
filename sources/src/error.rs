//! Why a lookup failed, each with the sentence a member is shown.

use std::time::Duration;

use timmybot_outbound::FetchError;

/// A lookup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The source has no such track, playlist or station.
    #[error("not found")]
    NotFound,
    /// The item exists but is private.
    #[error("private")]
    Private,
    /// The item is not available in the deployment's region.
    #[error("not available in this region")]
    RegionBlocked,
    /// The source is turned off on this deployment (the name says which).
    #[error("source {0} is disabled")]
    Disabled(&'static str),
    /// The source needs credentials the deployer has not configured.
    #[error("source {0} is not configured")]
    NotConfigured(&'static str),
    /// The source asked us to slow down.
    #[error("rate limited")]
    RateLimited {
        /// How long it asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The source answered something that is not what its API documents.
    #[error("unexpected answer: {0}")]
    BadResponse(String),
    /// The link is understood but its kind cannot be read here (an Apple
    /// Music playlist needs a developer token; a YouTube playlist has no
    /// public track list without an API key). The text is the sentence shown
    /// to the member, so it must say what to paste instead.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// The fetch itself failed (refused, timed out, too large, an error status).
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

impl LookupError {
    /// The sentence shown to the member; never names an address or a secret.
    pub fn user_message(&self) -> String {
        match self {
            Self::NotFound => "Nothing was found for that.".to_owned(),
            Self::Private => "That is private, so it cannot be played.".to_owned(),
            Self::RegionBlocked => "That is not available in this bot's region.".to_owned(),
            Self::Disabled(name) => format!("{name} is turned off on this bot."),
            Self::NotConfigured(name) => format!("{name} links are not set up on this bot."),
            Self::RateLimited { .. } => "That service is busy right now; try again in a minute.".to_owned(),
            Self::Unsupported(sentence) => (*sentence).to_owned(),
            Self::BadResponse(_) => "That service answered something unexpected.".to_owned(),
            Self::Fetch(e) => e.user_message().to_owned(),
        }
    }
}
