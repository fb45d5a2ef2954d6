//! Test doubles that speak the real wire protocols, and shared test suites.
//!
//! - [`fake_discord`]: Discord's REST API and gateway WebSocket on loopback.
//! - [`fake_apis`]: the music APIs and stream servers the sources talk to.
//! - [`fake_voice`]: Discord's voice WebSocket (TLS) and UDP/RTP server that
//!   decrypts and decodes what it receives, so a test can ask what it heard.
//! - [`test_ca`]: a throwaway certificate authority for the voice TLS.
//! - [`audio`]: tone generation (single tones and sequences) and analysis
//!   (dominant frequency, frequency timeline, level in dBFS).
//! - [`signer`]: signs interactions like Discord does (Ed25519).
//! - [`contract`]: one behaviour suite per port, run over every adapter.
//! - [`emulators`]: connects tests to the local AWS emulators;
//!   [`aws_proxy`] records the calls made to them at the wire.
//! - [`runtime`]: the end-to-end tests' runtime, with logs.

pub mod audio;
pub mod aws_fixtures;
pub mod aws_proxy;
pub mod contract;
pub mod emulators;
pub mod fake_apis;
pub mod fake_discord;
pub mod fake_voice;
pub mod logs;
pub mod runtime;
pub mod signer;
pub mod test_ca;
