//! Refusals and fetch failures, each with the sentence a member is shown.

use std::error::Error as StdError;

use crate::address::AddressClass;

/// A destination the policy does not allow. `Display` names the reason class
/// for logs; [`Refusal::user_message`] is what a member sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A scheme other than http or https.
    #[error("scheme not allowed")]
    SchemeNotAllowed,
    /// A user name or password inside the link.
    #[error("credentials in link")]
    CredentialsInUrl,
    /// A link without a host.
    #[error("link has no host")]
    NoHost,
    /// The destination is, or resolves only to, an internal address.
    #[error("address not allowed ({0})")]
    AddressNotAllowed(AddressClass),
    /// More redirects than the policy follows.
    #[error("too many redirects (limit {limit})")]
    TooManyRedirects {
        /// The policy's limit.
        limit: usize,
    },
}

impl Refusal {
    /// The sentence shown to the member; never names the address or reason.
    pub fn user_message(&self) -> &'static str {
        match self {
            Self::SchemeNotAllowed => "Only http and https links are allowed.",
            Self::CredentialsInUrl => "Links with a user name or password are not allowed.",
            Self::NoHost => "That link has no host.",
            Self::AddressNotAllowed(_) => "That address is not allowed.",
            Self::TooManyRedirects { .. } => "That link redirects too many times.",
        }
    }

    /// Finds a refusal anywhere in an error's source chain: the client's
    /// resolver and redirect policy report refusals through reqwest (and
    /// whatever wraps reqwest, such as songbird's HTTP input).
    pub fn find_in<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Refusal> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(refusal) = e.downcast_ref::<Refusal>() {
                return Some(refusal);
            }
            current = e.source();
        }
        None
    }
}

/// A user-directed fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The policy refused the destination, a redirect hop or the redirect count.
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// The source did not connect or answer in time.
    #[error("source timed out")]
    Timeout(#[source] reqwest::Error),
    /// The body is larger than the limit.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The source answered with a non-success status.
    #[error("source answered http {0}")]
    Status(u16),
    /// The source could not be reached or the transfer broke off.
    #[error("source could not be reached")]
    Transport(#[source] reqwest::Error),
}

impl FetchError {
    /// The sentence shown to the member; never names the address or reason.
    pub fn user_message(&self) -> &'static str {
        match self {
            Self::Refused(refusal) => refusal.user_message(),
            Self::Timeout(_) => "That source took too long to answer.",
            Self::TooLarge { .. } => "That file is too large.",
            Self::Status(_) => "That source answered with an error.",
            Self::Transport(_) => "That source could not be reached.",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Status(status) => *status >= 500 || *status == 429,
            Self::Refused(_) | Self::TooLarge { .. } => false,
        }
    }
}

impl From<reqwest::Error> for FetchError {
    /// Sorts a reqwest error: a refusal from the resolver or the redirect
    /// policy stays a refusal. The link is dropped from the kept error so a
    /// log line does not repeat what the member typed.
    fn from(error: reqwest::Error) -> Self {
        if let Some(refusal) = Refusal::find_in(&error) {
            return Self::Refused(refusal.clone());
        }
        let error = error.without_url();
        if error.is_timeout() { Self::Timeout(error) } else { Self::Transport(error) }
    }
}
