//! The vault as the store will use it: keys from the application secret,
//! tokens through their stored strings, and a key rotation.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use timmybot_accounts::{KeyRing, KeyRingError, MalformedTokenError, OpenError, Provider, SealedToken, TokenVault};
use timmybot_core::{Secret, UserId};

const PLAINTEXT: &str = "ya29.plaintext-access-token-of-alice";

fn key_text(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

fn vault(secret: &str) -> TokenVault {
    TokenVault::new(KeyRing::from_secret(&Secret::new(secret)).unwrap())
}

fn alice() -> UserId {
    UserId::new(80351110224678912).unwrap()
}

fn bob() -> UserId {
    UserId::new(80351110224678913).unwrap()
}

#[test]
fn token_survives_storage_as_a_string() {
    let vault = vault(&format!("v1:{}", key_text(1)));
    let stored = vault.seal(alice(), Provider::Spotify, &Secret::new(PLAINTEXT)).to_stored();
    assert!(stored.starts_with("v1."), "{stored}");
    assert!(!stored.contains(PLAINTEXT));
    let sealed = SealedToken::from_stored(&stored).unwrap();
    assert_eq!(vault.open(alice(), Provider::Spotify, &sealed).unwrap().expose(), PLAINTEXT);
}

#[test]
fn record_copied_to_another_member_or_provider_does_not_open() {
    let vault = vault(&format!("v1:{}", key_text(1)));
    let stored = vault.seal(alice(), Provider::Google, &Secret::new(PLAINTEXT)).to_stored();
    let sealed = SealedToken::from_stored(&stored).unwrap();
    assert_eq!(vault.open(bob(), Provider::Google, &sealed), Err(OpenError::Rejected));
    assert_eq!(vault.open(alice(), Provider::Plex, &sealed), Err(OpenError::Rejected));
}

#[test]
fn rotation_keeps_old_records_and_seals_with_the_new_key() {
    let v1 = key_text(1);
    let v2 = key_text(2);
    let before = vault(&format!("v1:{v1}"));
    let old = before.seal(alice(), Provider::Google, &Secret::new(PLAINTEXT)).to_stored();

    let rotated = vault(&format!("v2:{v2},v1:{v1}"));
    let old = SealedToken::from_stored(&old).unwrap();
    assert_eq!(rotated.open(alice(), Provider::Google, &old).unwrap().expose(), PLAINTEXT);
    assert!(rotated.needs_reseal(&old));
    let new = rotated.seal(alice(), Provider::Google, &Secret::new(PLAINTEXT));
    assert_eq!(new.key_version(), 2);
    assert!(!rotated.needs_reseal(&new));
    // The old ring cannot open what the new key sealed.
    assert_eq!(before.open(alice(), Provider::Google, &new), Err(OpenError::UnknownKeyVersion { version: 2 }));

    let retired = vault(&format!("v2:{v2}"));
    assert_eq!(retired.open(alice(), Provider::Google, &old), Err(OpenError::UnknownKeyVersion { version: 1 }));
    assert_eq!(retired.open(alice(), Provider::Google, &new).unwrap().expose(), PLAINTEXT);
}

#[test]
fn same_version_with_another_key_rejects_the_record() {
    let sealed = vault(&format!("v1:{}", key_text(1))).seal(alice(), Provider::Google, &Secret::new(PLAINTEXT));
    let wrong = vault(&format!("v1:{}", key_text(9)));
    assert_eq!(wrong.open(alice(), Provider::Google, &sealed), Err(OpenError::Rejected));
}

#[test]
fn malformed_stored_form_converts_into_an_open_error() {
    fn open_stored(vault: &TokenVault, stored: &str) -> Result<Secret, OpenError> {
        let sealed = SealedToken::from_stored(stored)?;
        vault.open(alice(), Provider::Google, &sealed)
    }
    let vault = vault(&format!("v1:{}", key_text(1)));
    let err = open_stored(&vault, "not a token").unwrap_err();
    assert!(matches!(err, OpenError::Malformed(_)), "{err:?}");
    assert_eq!(err.to_string(), "stored token is malformed: expected three dot-separated parts");
}

#[test]
fn nothing_formatted_shows_key_text_or_plaintext() {
    let v1 = key_text(0x5a);
    let v2 = key_text(0xa5);
    let secret = Secret::new(format!("v2:{v2},v1:{v1}"));
    let ring = KeyRing::from_secret(&secret).unwrap();
    let vault = TokenVault::new(ring.clone());
    let sealed = vault.seal(alice(), Provider::Google, &Secret::new(PLAINTEXT));

    let mut shown = vec![
        format!("{vault:?}"),
        format!("{ring:?}"),
        format!("{:?}", ring.current()),
        format!("{:?}", ring.get(1).unwrap()),
        format!("{sealed:?}"),
        format!("{secret:?} {secret}"),
    ];
    let key_errors = [
        KeyRing::from_secret(&Secret::new(format!("v2:{v2}x"))).unwrap_err(),
        KeyRing::from_secret(&Secret::new(format!("v2:{v2}{v1}"))).unwrap_err(),
        KeyRing::from_secret(&Secret::new(format!("v2:{v2},v2:{v1}"))).unwrap_err(),
        KeyRing::from_secret(&Secret::new(v2.clone())).unwrap_err(),
    ];
    shown.extend(key_errors.iter().map(|e: &KeyRingError| format!("{e} {e:?}")));
    let open_errors = [
        vault.open(bob(), Provider::Google, &sealed).unwrap_err(),
        TokenVault::new(KeyRing::from_secret(&Secret::new(format!("v3:{v1}"))).unwrap())
            .open(alice(), Provider::Google, &sealed)
            .unwrap_err(),
        OpenError::from(SealedToken::from_stored(PLAINTEXT).unwrap_err()),
    ];
    shown.extend(open_errors.iter().map(|e| format!("{e} {e:?}")));
    let malformed: MalformedTokenError = SealedToken::from_stored(&format!("v1.{PLAINTEXT}.x")).unwrap_err();
    shown.push(format!("{malformed} {malformed:?}"));

    for text in &shown {
        for needle in [&v1[..12], &v2[..12], PLAINTEXT] {
            assert!(!text.contains(needle), "{text:?} contains {needle:?}");
        }
    }
    assert!(shown[0].contains("versions: [2, 1]"), "{}", shown[0]);
}
