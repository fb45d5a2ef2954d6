//! A sealed token and its stored form.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::MalformedTokenError;
use crate::key_ring::parse_version;

/// Bytes in an AES-GCM nonce (96 bits).
pub const NONCE_LEN: usize = 12;

/// Bytes in an AES-GCM authentication tag, at the end of the ciphertext.
const TAG_LEN: usize = 16;

/// A token sealed by [`TokenVault::seal`](crate::TokenVault::seal): the key
/// version, the nonce, and the ciphertext with its tag.
///
/// Store it with [`to_stored`](Self::to_stored). `Debug` shows the key
/// version and the ciphertext's length, not its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken {
    key_version: u32,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedToken {
    pub(crate) fn new(key_version: u32, nonce: [u8; NONCE_LEN], ciphertext: Vec<u8>) -> Self {
        Self { key_version, nonce, ciphertext }
    }

    /// The version of the key that sealed it.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The nonce, random for every sealed value.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The ciphertext followed by the 16-byte tag.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The compact stored form: `v<key version>.<nonce>.<ciphertext and
    /// tag>`, both in unpadded URL-safe base64 (`v2.AbC….XyZ…`).
    pub fn to_stored(&self) -> String {
        format!(
            "v{}.{}.{}",
            self.key_version,
            URL_SAFE_NO_PAD.encode(self.nonce),
            URL_SAFE_NO_PAD.encode(&self.ciphertext)
        )
    }

    /// Parses the form [`to_stored`](Self::to_stored) writes.
    ///
    /// Only the shape is checked here; whether the record is genuine is
    /// decided by [`TokenVault::open`](crate::TokenVault::open).
    ///
    /// # Errors
    ///
    /// [`MalformedTokenError`] when it is not three dot-separated parts, the
    /// version is not `v<number>`, a part is not base64, the nonce is not 12
    /// bytes, or the ciphertext is shorter than a tag.
    pub fn from_stored(stored: &str) -> Result<Self, MalformedTokenError> {
        let mut parts = stored.split('.');
        let (Some(version), Some(nonce), Some(ciphertext), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MalformedTokenError::new("expected three dot-separated parts"));
        };
        let key_version =
            version.strip_prefix('v').and_then(parse_version).ok_or(MalformedTokenError::new("invalid key version"))?;
        let nonce = URL_SAFE_NO_PAD.decode(nonce).map_err(|_| MalformedTokenError::new("nonce is not base64"))?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| MalformedTokenError::new("nonce is not 12 bytes"))?;
        let ciphertext =
            URL_SAFE_NO_PAD.decode(ciphertext).map_err(|_| MalformedTokenError::new("ciphertext is not base64"))?;
        if ciphertext.len() < TAG_LEN {
            return Err(MalformedTokenError::new("ciphertext is shorter than a tag"));
        }
        Ok(Self { key_version, nonce, ciphertext })
    }
}

impl fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedToken")
            .field("key_version", &self.key_version)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> SealedToken {
        SealedToken::new(3, [7; NONCE_LEN], (0..40).collect())
    }

    #[test]
    fn stored_form_round_trips() {
        let stored = token().to_stored();
        assert!(stored.starts_with("v3."), "{stored}");
        assert_eq!(SealedToken::from_stored(&stored), Ok(token()));
    }

    #[test]
    fn stored_form_uses_no_padding_or_url_unsafe_characters() {
        let stored = SealedToken::new(1, [0xff; NONCE_LEN], vec![0xfb; 17]).to_stored();
        assert!(stored.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)), "{stored}");
    }

    #[test]
    fn from_stored_rejects_malformed_forms() {
        let nonce = URL_SAFE_NO_PAD.encode([1u8; NONCE_LEN]);
        let ct = URL_SAFE_NO_PAD.encode([2u8; TAG_LEN]);
        let cases = [
            (String::new(), "expected three dot-separated parts"),
            (format!("v1.{nonce}"), "expected three dot-separated parts"),
            (format!("v1.{nonce}.{ct}.x"), "expected three dot-separated parts"),
            (format!("1.{nonce}.{ct}"), "invalid key version"),
            (format!("v01.{nonce}.{ct}"), "invalid key version"),
            (format!("v.{nonce}.{ct}"), "invalid key version"),
            (format!("v1.{nonce}*.{ct}"), "nonce is not base64"),
            (format!("v1.{}.{ct}", URL_SAFE_NO_PAD.encode([1u8; 16])), "nonce is not 12 bytes"),
            (format!("v1.{nonce}.{ct}="), "ciphertext is not base64"),
            (format!("v1.{nonce}.{}", URL_SAFE_NO_PAD.encode([2u8; 15])), "ciphertext is shorter than a tag"),
        ];
        for (stored, reason) in cases {
            let err = SealedToken::from_stored(&stored).unwrap_err();
            assert_eq!(err.to_string(), format!("stored token is malformed: {reason}"), "{stored:?}");
        }
    }

    #[test]
    fn sealed_token_debug_shows_no_bytes() {
        assert_eq!(format!("{:?}", token()), "SealedToken { key_version: 3, ciphertext_len: 40, .. }");
    }
}
