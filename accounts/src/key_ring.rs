//! The versioned AES-256-GCM keys that seal tokens.

use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use timmybot_core::Secret;

use crate::error::KeyRingError;

/// One AES-256-GCM key and its version number.
///
/// The version is stored with every value the key seals, so the ring can
/// find the key again after newer keys are added. `Debug` shows the version
/// only; the key bytes never leave this type.
#[derive(Clone)]
pub struct TokenKey {
    version: u32,
    cipher: Aes256Gcm,
}

impl TokenKey {
    /// A key from its 32 raw bytes.
    pub fn new(version: u32, bytes: &[u8; 32]) -> Self {
        Self { version, cipher: Aes256Gcm::new(bytes.into()) }
    }

    /// The key's version.
    pub fn version(&self) -> u32 {
        self.version
    }

    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey").field("version", &self.version).finish_non_exhaustive()
    }
}

/// The current key, which seals, and older keys, which only open.
///
/// Rotation: put a new key first (`v2:…,v1:…`); new values are sealed with
/// v2 and v1 records still open. Remove v1 only once no record sealed with it
/// is left (re-seal them with [`TokenVault::seal`](crate::TokenVault::seal)
/// as they are read). Versions are unique within a ring.
#[derive(Clone)]
pub struct KeyRing {
    current: TokenKey,
    older: Vec<TokenKey>,
}

impl KeyRing {
    /// A ring from its current key and older keys.
    ///
    /// # Errors
    ///
    /// [`KeyRingError::DuplicateVersion`] when two keys share a version.
    pub fn new(current: TokenKey, older: impl IntoIterator<Item = TokenKey>) -> Result<Self, KeyRingError> {
        let older: Vec<TokenKey> = older.into_iter().collect();
        let mut seen = vec![current.version];
        for key in &older {
            if seen.contains(&key.version) {
                return Err(KeyRingError::DuplicateVersion { version: key.version });
            }
            seen.push(key.version);
        }
        Ok(Self { current, older })
    }

    /// Parses the key ring from the application secret's text.
    ///
    /// The form is comma-separated entries `v<version>:<key>`, the current
    /// key first:
    ///
    /// ```text
    /// v2:<base64 of 32 bytes>,v1:<base64 of 32 bytes>
    /// ```
    ///
    /// - `<version>` is a decimal `u32` without leading zeros (`v1`, `v12`).
    /// - `<key>` is 32 random bytes in standard base64 with padding (44
    ///   characters), as `openssl rand -base64 32` prints.
    /// - Whitespace around entries (a trailing newline) is ignored.
    /// - An entry of exactly 64 letters and digits, without `v<version>:`,
    ///   is the key the CDK stack generates into the application secret
    ///   (Secrets Manager can generate characters, not bytes): it is
    ///   version 1, its key the SHA-256 of [`GENERATED_KEY_CONTEXT`] and the
    ///   text (64 characters of 62 kinds carry about 381 bits). Rotating
    ///   from it: `v2:<base64 of 32 bytes>,<the generated text>`.
    ///
    /// # Errors
    ///
    /// A [`KeyRingError`] naming the entry (counted from 1) and what is wrong
    /// with it: missing, malformed, a bad version, bad base64, not 32 bytes,
    /// or a repeated version. The error never includes key text.
    pub fn from_secret(secret: &Secret) -> Result<Self, KeyRingError> {
        let text = secret.expose().trim();
        if text.is_empty() {
            return Err(KeyRingError::Empty);
        }
        let mut keys = Vec::new();
        for (index, entry) in text.split(',').enumerate() {
            keys.push(parse_entry(index + 1, entry.trim())?);
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or(KeyRingError::Empty)?;
        Self::new(current, keys)
    }

    /// The key that seals new values.
    pub fn current(&self) -> &TokenKey {
        &self.current
    }

    /// The key of that version, current or older.
    pub fn get(&self, version: u32) -> Option<&TokenKey> {
        std::iter::once(&self.current).chain(&self.older).find(|key| key.version == version)
    }

    /// Every version in the ring, the current one first.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(&self.current).chain(&self.older).map(TokenKey::version)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current.version)
            .field("versions", &self.versions().collect::<Vec<_>>())
            .finish()
    }
}

/// The version of the stack's generated key (an entry without `v<n>:`).
pub const GENERATED_KEY_VERSION: u32 = 1;

/// What the generated key's text is hashed with, so the same text used
/// elsewhere gives another key.
pub const GENERATED_KEY_CONTEXT: &str = "timmybot-token-key:v1:";

/// The stack's generated key: exactly 64 ASCII letters and digits.
fn is_generated_key(entry: &str) -> bool {
    entry.len() == 64 && entry.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn parse_entry(position: usize, entry: &str) -> Result<TokenKey, KeyRingError> {
    if is_generated_key(entry) {
        let digest = Sha256::new().chain_update(GENERATED_KEY_CONTEXT).chain_update(entry).finalize();
        return Ok(TokenKey::new(GENERATED_KEY_VERSION, &digest.into()));
    }
    let (version, key) = entry.split_once(':').ok_or(KeyRingError::MalformedEntry { position })?;
    let version = version.strip_prefix('v').and_then(parse_version).ok_or(KeyRingError::InvalidVersion { position })?;
    // The decoder's error quotes the offending byte of the key: drop it.
    let bytes = STANDARD.decode(key).map_err(|_| KeyRingError::InvalidBase64 { position, version })?;
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyRingError::WrongLength {
        position,
        version,
        length: bytes.len(),
    })?;
    Ok(TokenKey::new(version, &bytes))
}

/// A decimal `u32` with no sign and no leading zeros, so each version has
/// exactly one spelling.
pub(crate) fn parse_version(digits: &str) -> Option<u32> {
    let canonical =
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    if canonical { digits.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: u32, byte: u8) -> String {
        format!("v{version}:{}", STANDARD.encode([byte; 32]))
    }

    fn parse(text: &str) -> Result<KeyRing, KeyRingError> {
        KeyRing::from_secret(&Secret::new(text))
    }

    const GENERATED: &str = "Zx8kQ2mN4pR6tV8xB0dF2hJ4lN6pR8tVZx8kQ2mN4pR6tV8xB0dF2hJ4lN6pR8tV";

    #[test]
    fn the_stacks_generated_key_is_version_one_and_can_be_rotated_from() {
        assert_eq!(GENERATED.len(), 64);
        let ring = parse(&format!("{GENERATED}\n")).unwrap();
        assert_eq!(ring.versions().collect::<Vec<_>>(), [GENERATED_KEY_VERSION]);
        let rotated = parse(&format!("{},{GENERATED}", entry(2, 2))).unwrap();
        assert_eq!(rotated.versions().collect::<Vec<_>>(), [2, 1]);
        // The same text gives the same key: a value sealed under it opens
        // after a restart, and after a rotation.
        let user = timmybot_core::UserId::new(9).unwrap();
        let sealed = crate::TokenVault::new(ring).seal(user, timmybot_core::Provider::Plex, &Secret::new("t"));
        let reopened = crate::TokenVault::new(rotated).open(user, timmybot_core::Provider::Plex, &sealed).unwrap();
        assert_eq!(reopened.expose(), "t");
        assert_eq!(
            parse(&format!("{GENERATED},{}", entry(1, 1))).unwrap_err(),
            KeyRingError::DuplicateVersion { version: 1 }
        );
        // One character short, or with punctuation, is not the generated form.
        assert!(parse(&GENERATED[1..]).is_err());
        assert!(parse(&format!("{}-", &GENERATED[1..])).is_err());
    }

    #[test]
    fn key_ring_parses_current_first_and_ignores_surrounding_whitespace() {
        let ring = parse(&format!(" {} , {}\n", entry(2, 2), entry(1, 1))).unwrap();
        assert_eq!(ring.current().version(), 2);
        assert_eq!(ring.versions().collect::<Vec<_>>(), [2, 1]);
        assert_eq!(ring.get(1).map(TokenKey::version), Some(1));
        assert!(ring.get(3).is_none());
    }

    #[test]
    fn key_ring_rejects_empty_text() {
        assert_eq!(parse("").unwrap_err(), KeyRingError::Empty);
        assert_eq!(parse(" \n").unwrap_err(), KeyRingError::Empty);
    }

    #[test]
    fn key_ring_rejects_entry_without_colon_or_empty_entry() {
        assert_eq!(parse("v1").unwrap_err(), KeyRingError::MalformedEntry { position: 1 });
        assert_eq!(parse(&format!("{},", entry(1, 1))).unwrap_err(), KeyRingError::MalformedEntry { position: 2 });
    }

    #[test]
    fn key_ring_rejects_bad_versions() {
        let key = STANDARD.encode([1u8; 32]);
        for version in ["1", "v", "v-1", "v+1", "v01", "vx", "v4294967296", "V1"] {
            assert_eq!(
                parse(&format!("{version}:{key}")).unwrap_err(),
                KeyRingError::InvalidVersion { position: 1 },
                "{version} accepted"
            );
        }
    }

    #[test]
    fn key_ring_rejects_bad_base64() {
        let err = parse(&format!("{},v1:not*base64", entry(2, 2))).unwrap_err();
        assert_eq!(err, KeyRingError::InvalidBase64 { position: 2, version: 1 });
    }

    #[test]
    fn key_ring_rejects_keys_that_are_not_32_bytes() {
        for length in [0, 16, 31, 33, 64] {
            let text = format!("v1:{}", STANDARD.encode(vec![9u8; length]));
            assert_eq!(parse(&text).unwrap_err(), KeyRingError::WrongLength { position: 1, version: 1, length });
        }
    }

    #[test]
    fn key_ring_rejects_duplicate_versions() {
        let err = parse(&format!("{},{},{}", entry(3, 3), entry(1, 1), entry(3, 4))).unwrap_err();
        assert_eq!(err, KeyRingError::DuplicateVersion { version: 3 });
        let err = KeyRing::new(TokenKey::new(1, &[1; 32]), [TokenKey::new(1, &[2; 32])]).unwrap_err();
        assert_eq!(err, KeyRingError::DuplicateVersion { version: 1 });
    }

    #[test]
    fn key_ring_errors_never_quote_key_text() {
        let key = STANDARD.encode([0xabu8; 32]);
        // bad base64, wrong length, no version, bad version, duplicate
        let cases = [
            format!("v1:{key}x"),
            format!("v1:{key}{key}"),
            key.clone(),
            format!("vx:{key}"),
            format!("v1:{key},v1:{key}"),
        ];
        for text in cases {
            let err = parse(&text).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(&key[..8]), "{shown} quotes the key");
        }
    }

    #[test]
    fn key_and_ring_debug_show_versions_only() {
        let key = STANDARD.encode([0xcdu8; 32]);
        let ring = parse(&format!("v7:{key}")).unwrap();
        assert_eq!(format!("{ring:?}"), "KeyRing { current: 7, versions: [7] }");
        assert_eq!(format!("{:?}", ring.current()), "TokenKey { version: 7, .. }");
    }

    #[test]
    fn versions_have_one_spelling() {
        assert_eq!(parse_version("0"), Some(0));
        assert_eq!(parse_version("4294967295"), Some(u32::MAX));
        for bad in ["", "00", "01", "+1", "-1", " 1", "1 ", "4294967296"] {
            assert_eq!(parse_version(bad), None, "{bad:?} parsed");
        }
    }
}
