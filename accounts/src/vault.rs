//! Sealing and opening tokens.

use aes_gcm::Nonce;
use aes_gcm::aead::{Aead, Payload};
use rand::TryRngCore;
use rand::rngs::OsRng;
use timmybot_core::{Secret, UserId};

use crate::error::OpenError;
use crate::key_ring::KeyRing;
use crate::sealed_token::{NONCE_LEN, SealedToken};
use timmybot_core::Provider;

/// Seals tokens for storage and opens them again, with the keys of a
/// [`KeyRing`].
///
/// Every value gets a fresh random 96-bit nonce, and the associated data
/// `timmybot-token:v1:<user id>:<provider>` binds it to its owner: a record
/// opens only for the user and provider it was sealed for.
#[derive(Debug, Clone)]
pub struct TokenVault {
    ring: KeyRing,
}

impl TokenVault {
    /// A vault over these keys.
    pub fn new(ring: KeyRing) -> Self {
        Self { ring }
    }

    /// The keys in use.
    pub fn key_ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Seals `plaintext` for `user`'s account at `provider`, with the current
    /// key.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails: no nonce can
    /// be trusted then, and a repeated nonce would expose tokens.
    pub fn seal(&self, user: UserId, provider: Provider, plaintext: &Secret) -> SealedToken {
        let key = self.ring.current();
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.try_fill_bytes(&mut nonce).expect("the operating system's random number generator failed");
        let aad = associated_data(user, provider);
        let payload = Payload { msg: plaintext.expose().as_bytes(), aad: aad.as_bytes() };
        // AES-GCM refuses only messages over 64 GiB; a token is never one.
        let ciphertext = key.cipher().encrypt(Nonce::from_slice(&nonce), payload).expect("a token fits in AES-GCM");
        SealedToken::new(key.version(), nonce, ciphertext)
    }

    /// Opens a token sealed for `user`'s account at `provider`.
    ///
    /// # Errors
    ///
    /// - [`OpenError::UnknownKeyVersion`]: the ring has no key of the token's
    ///   version.
    /// - [`OpenError::Rejected`]: the record was altered, or was sealed for
    ///   another user or provider.
    pub fn open(&self, user: UserId, provider: Provider, sealed: &SealedToken) -> Result<Secret, OpenError> {
        let version = sealed.key_version();
        let key = self.ring.get(version).ok_or(OpenError::UnknownKeyVersion { version })?;
        let aad = associated_data(user, provider);
        let payload = Payload { msg: sealed.ciphertext(), aad: aad.as_bytes() };
        let plaintext =
            key.cipher().decrypt(Nonce::from_slice(sealed.nonce()), payload).map_err(|_| OpenError::Rejected)?;
        // Only a `Secret`'s UTF-8 is ever sealed, and the tag has just
        // vouched for these bytes; anything else is not our record.
        String::from_utf8(plaintext).map(Secret::new).map_err(|_| OpenError::Rejected)
    }

    /// Whether `sealed` was sealed with an older key and should be sealed
    /// again (after opening) so the older key can be retired.
    pub fn needs_reseal(&self, sealed: &SealedToken) -> bool {
        sealed.key_version() != self.ring.current().version()
    }
}

/// What binds a sealed value to its owner. The `v1` is this format's
/// version, not a key version: it changes only if the binding does.
fn associated_data(user: UserId, provider: Provider) -> String {
    format!("timmybot-token:v1:{user}:{provider}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OpenError;
    use crate::key_ring::TokenKey;

    fn user(raw: u64) -> UserId {
        UserId::new(raw).unwrap()
    }

    fn vault() -> TokenVault {
        TokenVault::new(KeyRing::new(TokenKey::new(1, &[0x11; 32]), []).unwrap())
    }

    fn refresh_token() -> Secret {
        Secret::new("1//refresh-token-for-alice")
    }

    #[test]
    fn seal_then_open_returns_the_token() {
        let vault = vault();
        let sealed = vault.seal(user(1), Provider::Google, &refresh_token());
        assert_eq!(sealed.key_version(), 1);
        assert_eq!(vault.open(user(1), Provider::Google, &sealed), Ok(refresh_token()));
    }

    #[test]
    fn seal_round_trips_an_empty_token() {
        let vault = vault();
        let sealed = vault.seal(user(1), Provider::Plex, &Secret::new(""));
        assert_eq!(sealed.ciphertext().len(), 16);
        assert_eq!(vault.open(user(1), Provider::Plex, &sealed), Ok(Secret::new("")));
    }

    #[test]
    fn two_seals_of_one_token_differ() {
        let vault = vault();
        let a = vault.seal(user(1), Provider::Spotify, &refresh_token());
        let b = vault.seal(user(1), Provider::Spotify, &refresh_token());
        assert_eq!(a.nonce().len(), 12);
        assert_ne!(a.nonce(), b.nonce());
        assert_ne!(a.ciphertext(), b.ciphertext());
        assert_ne!(a.to_stored(), b.to_stored());
    }

    #[test]
    fn open_rejects_another_user() {
        let vault = vault();
        let sealed = vault.seal(user(1), Provider::Google, &refresh_token());
        assert_eq!(vault.open(user(2), Provider::Google, &sealed), Err(OpenError::Rejected));
    }

    #[test]
    fn open_rejects_another_provider() {
        let vault = vault();
        let sealed = vault.seal(user(1), Provider::Google, &refresh_token());
        for other in [Provider::Spotify, Provider::Plex] {
            assert_eq!(vault.open(user(1), other, &sealed), Err(OpenError::Rejected));
        }
    }

    #[test]
    fn open_rejects_any_flipped_byte() {
        let vault = vault();
        let sealed = vault.seal(user(1), Provider::Google, &refresh_token());
        for i in 0..sealed.ciphertext().len() {
            let mut ciphertext = sealed.ciphertext().to_vec();
            ciphertext[i] ^= 0x01;
            let altered = SealedToken::new(1, *sealed.nonce(), ciphertext);
            assert_eq!(vault.open(user(1), Provider::Google, &altered), Err(OpenError::Rejected), "byte {i}");
        }
        for i in 0..NONCE_LEN {
            let mut nonce = *sealed.nonce();
            nonce[i] ^= 0x80;
            let altered = SealedToken::new(1, nonce, sealed.ciphertext().to_vec());
            assert_eq!(vault.open(user(1), Provider::Google, &altered), Err(OpenError::Rejected), "nonce byte {i}");
        }
    }

    #[test]
    fn open_rejects_a_record_relabelled_with_another_key_version() {
        let ring = KeyRing::new(TokenKey::new(2, &[0x22; 32]), [TokenKey::new(1, &[0x11; 32])]).unwrap();
        let vault = TokenVault::new(ring);
        let sealed = vault.seal(user(1), Provider::Google, &refresh_token());
        let relabelled = SealedToken::new(1, *sealed.nonce(), sealed.ciphertext().to_vec());
        assert_eq!(vault.open(user(1), Provider::Google, &relabelled), Err(OpenError::Rejected));
    }

    #[test]
    fn open_reports_unknown_key_version() {
        let sealed = vault().seal(user(1), Provider::Google, &refresh_token());
        let other = TokenVault::new(KeyRing::new(TokenKey::new(2, &[0x22; 32]), []).unwrap());
        assert_eq!(other.open(user(1), Provider::Google, &sealed), Err(OpenError::UnknownKeyVersion { version: 1 }));
    }

    #[test]
    fn needs_reseal_only_for_older_keys() {
        let old = vault().seal(user(1), Provider::Google, &refresh_token());
        let ring = KeyRing::new(TokenKey::new(2, &[0x22; 32]), [TokenKey::new(1, &[0x11; 32])]).unwrap();
        let vault = TokenVault::new(ring);
        assert!(vault.needs_reseal(&old));
        assert!(!vault.needs_reseal(&vault.seal(user(1), Provider::Google, &refresh_token())));
    }

    #[test]
    fn associated_data_names_user_and_provider() {
        assert_eq!(associated_data(user(42), Provider::Spotify), "timmybot-token:v1:42:spotify");
    }
}
