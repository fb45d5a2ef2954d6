//! The one HTTP client for fetches made on a user's behalf.
//!
//! `/play <url>` makes the bot fetch whatever a guild member typed. On AWS the
//! task can reach the ECS and EC2 metadata endpoints, which hand out the task
//! role's credentials; a self-hoster's machine sits on a LAN. Every
//! user-directed fetch goes through [`SafeHttpClient`], which refuses
//! destinations in internal ranges ([`check_ip`]) on the exact addresses it
//! connects to (a resolver that filters, so there is no DNS-rebinding
//! window), on every redirect hop, and for IP-literal hosts before the first
//! request. Self-hosters (and tests) opt in to internal destinations through
//! an [`AllowList`]; the default denies.
#![warn(missing_docs)]

mod address;
mod client;
mod error;
mod policy;

pub use address::{AddressClass, AllowList, AllowListError, check_ip, classify_ip};
pub use client::{Fetched, SafeHttpClient};
pub use error::{FetchError, Refusal};
pub use policy::OutboundPolicy;
