//! OAuth as the linking flows speak it, sans-IO: the caller sends the
//! requests (through the outbound client) and hands the answers here.
//!
//! - [`pkce`]: the `state` a link carries and PKCE's verifier and S256
//!   challenge (RFC 7636), for Spotify's authorization code flow.
//! - [`device`]: the device authorization grant (RFC 8628), Google's
//!   "go to this address, enter this code", with its polling rules.
//! - [`token`]: token responses and errors, classified so that
//!   `invalid_grant` (the member must link again) and `invalid_client` (the
//!   deployment's credentials are wrong: an alarm, no member touched) are
//!   told apart from throttling and passing failures.
//!
//! Tokens and codes are never in a `Debug` output or an error here.

pub mod device;
pub mod pkce;
pub mod token;

pub use device::{DeviceAuthorization, DevicePoll, DevicePoller, parse_device_authorization, parse_device_poll};
pub use pkce::{Pkce, new_state};
pub use token::{OAuthError, TokenGrant, parse_token_response};
