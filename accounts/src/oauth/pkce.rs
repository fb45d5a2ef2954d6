//! The `state` of a link and PKCE (RFC 7636, S256 only).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use sha2::{Digest, Sha256};

/// A new OAuth `state`: 32 random bytes, URL-safe (43 characters). It is
/// the key of the pending link, so it must not be guessable.
pub fn new_state() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A PKCE code verifier and its S256 challenge. `Debug` hides the verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl Pkce {
    /// The only method sent: S256 (`plain` protects nothing).
    pub const METHOD: &'static str = "S256";

    /// A fresh verifier (32 random bytes, 43 characters, as RFC 7636
    /// recommends) and its challenge.
    pub fn generate() -> Self {
        Self::from_verifier(&new_state())
    }

    /// The challenge of a stored `verifier`.
    pub fn from_verifier(verifier: &str) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self { verifier: verifier.to_owned(), challenge }
    }

    /// The verifier: kept with the pending link, sent with the code.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The challenge: sent in the authorization link.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce").field("challenge", &self.challenge).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(pkce.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(!format!("{pkce:?}").contains("dBjftJeZ4CVP"), "Debug hides the verifier");
    }

    #[test]
    fn verifiers_and_states_are_fresh_unreserved_and_43_characters() {
        let (a, b) = (Pkce::generate(), Pkce::generate());
        assert_ne!(a.verifier(), b.verifier());
        for text in [a.verifier(), &new_state()] {
            assert_eq!(text.len(), 43, "{text}");
            assert!(text.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{text}");
        }
        assert_eq!(Pkce::from_verifier(a.verifier()), a);
    }
}
