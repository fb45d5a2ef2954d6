//! Discord request verification: an Ed25519 signature over
//! `timestamp + raw body`, with the timestamp checked against our clock.
//!
//! Discord signs every interaction it POSTs with the application's key and
//! probes the endpoint with bad signatures when the URL is saved, so anything
//! that does not verify must be a plain 401 with nothing else done.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use http::HeaderMap;

use crate::{KeyError, VerifyError};

/// Header carrying the hex Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
/// Header carrying the Unix timestamp (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// How far (either direction) a request's timestamp may be from our clock.
///
/// Five minutes, the window Discord's own examples and most webhook signers
/// use: wide enough for clock drift, narrow enough to limit replays.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The application's Ed25519 public key, parsed once at startup.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses the hex public key shown on the application's page in the
    /// Discord developer portal.
    ///
    /// # Errors
    /// [`KeyError`] when the value is not 32 bytes of hex or not a usable
    /// Ed25519 key.
    pub fn from_hex(hex_key: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| KeyError::NotHex)?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::WrongLength(bytes.len()))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Invalid)?;
        // A small-order key would accept signatures anyone can forge.
        if key.is_weak() {
            return Err(KeyError::Invalid);
        }
        Ok(Self(key))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public, so printing it helps spot a key mix-up in logs.
        write!(f, "PublicKey({})", hex::encode(self.0.as_bytes()))
    }
}

/// Checks that `body` was signed by Discord with `key` within
/// [`MAX_CLOCK_SKEW_SECS`] of `now_unix`.
///
/// The signature is checked over the timestamp header exactly as sent,
/// followed by the exact body bytes: re-encoding either would break it.
///
/// # Errors
/// [`VerifyError`] for a missing or malformed header, a stale timestamp, or a
/// signature that does not match.
pub fn verify_request(key: &PublicKey, headers: &HeaderMap, body: &[u8], now_unix: u64) -> Result<(), VerifyError> {
    let signature = header(headers, SIGNATURE_HEADER)?;
    let timestamp = header(headers, TIMESTAMP_HEADER)?;

    let signed_at = parse_timestamp(timestamp).ok_or(VerifyError::MalformedHeader(TIMESTAMP_HEADER))?;
    if signed_at.abs_diff(now_unix) > MAX_CLOCK_SKEW_SECS {
        return Err(VerifyError::Stale);
    }

    let mut raw = [0u8; 64];
    hex::decode_to_slice(signature, &mut raw).map_err(|_| VerifyError::MalformedHeader(SIGNATURE_HEADER))?;
    let signature = Signature::from_bytes(&raw);

    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    // Strict verification also refuses malleable (non-canonical) signatures.
    key.0.verify_strict(&message, &signature).map_err(|_| VerifyError::BadSignature)
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, VerifyError> {
    let value = headers.get(name).ok_or(VerifyError::MissingHeader(name))?;
    value.to_str().map_err(|_| VerifyError::MalformedHeader(name))
}

/// Unix seconds as decimal digits only; signs, spaces and fractions are
/// refused so the signed text has one meaning.
fn parse_timestamp(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use http::HeaderValue;

    const NOW: u64 = 1_700_000_000;

    fn signing_key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn public_key() -> PublicKey {
        PublicKey::from_hex(&hex::encode(signing_key().verifying_key().as_bytes())).unwrap()
    }

    fn signed(body: &[u8], timestamp: &str) -> HeaderMap {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        let signature = hex::encode(signing_key().sign(&message).to_bytes());
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature).unwrap());
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        headers
    }

    #[test]
    fn valid_signature_within_the_window_verifies() {
        let headers = signed(b"{\"type\":1}", &NOW.to_string());
        assert_eq!(verify_request(&public_key(), &headers, b"{\"type\":1}", NOW), Ok(()));
        assert_eq!(verify_request(&public_key(), &headers, b"{\"type\":1}", NOW + MAX_CLOCK_SKEW_SECS), Ok(()));
    }

    #[test]
    fn missing_headers_are_reported_by_name() {
        let mut headers = signed(b"x", &NOW.to_string());
        headers.remove(TIMESTAMP_HEADER);
        assert_eq!(
            verify_request(&public_key(), &headers, b"x", NOW),
            Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify_request(&public_key(), &HeaderMap::new(), b"x", NOW),
            Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn signature_that_is_not_64_bytes_of_hex_is_malformed() {
        for bad in ["zz", "abcd", &"0".repeat(130), &"g".repeat(128)] {
            let mut headers = signed(b"x", &NOW.to_string());
            headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(bad).unwrap());
            assert_eq!(
                verify_request(&public_key(), &headers, b"x", NOW),
                Err(VerifyError::MalformedHeader(SIGNATURE_HEADER)),
                "{bad}"
            );
        }
    }

    #[test]
    fn timestamp_that_is_not_plain_digits_is_malformed() {
        for bad in ["", "-1", "+1700000000", "1700000000.5", " 1700000000", "abc"] {
            let mut headers = signed(b"x", &NOW.to_string());
            headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(bad).unwrap());
            assert_eq!(
                verify_request(&public_key(), &headers, b"x", NOW),
                Err(VerifyError::MalformedHeader(TIMESTAMP_HEADER)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn timestamps_beyond_five_minutes_either_way_are_stale() {
        for at in [NOW - MAX_CLOCK_SKEW_SECS - 1, NOW + MAX_CLOCK_SKEW_SECS + 1] {
            let headers = signed(b"x", &at.to_string());
            assert_eq!(verify_request(&public_key(), &headers, b"x", NOW), Err(VerifyError::Stale));
        }
    }

    #[test]
    fn tampered_body_or_timestamp_fails_the_signature() {
        let headers = signed(b"{\"type\":1}", &NOW.to_string());
        assert_eq!(verify_request(&public_key(), &headers, b"{\"type\":2}", NOW), Err(VerifyError::BadSignature));
        let mut moved = headers.clone();
        moved.insert(TIMESTAMP_HEADER, HeaderValue::from_str(&(NOW + 1).to_string()).unwrap());
        assert_eq!(verify_request(&public_key(), &moved, b"{\"type\":1}", NOW), Err(VerifyError::BadSignature));
    }

    #[test]
    fn signature_from_another_key_fails() {
        let other = SigningKey::from_bytes(&[8; 32]);
        let key = PublicKey::from_hex(&hex::encode(other.verifying_key().as_bytes())).unwrap();
        let headers = signed(b"x", &NOW.to_string());
        assert_eq!(verify_request(&key, &headers, b"x", NOW), Err(VerifyError::BadSignature));
    }

    #[test]
    fn public_key_parse_errors_say_what_is_wrong() {
        assert_eq!(PublicKey::from_hex("not hex"), Err(KeyError::NotHex));
        assert_eq!(PublicKey::from_hex("abcd"), Err(KeyError::WrongLength(2)));
        // The identity point is a valid encoding but a weak (small-order) key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_hex(&hex::encode(identity)), Err(KeyError::Invalid));
    }
}
