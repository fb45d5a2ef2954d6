//! Arbitrary text into `classify_query`: never a panic, never a file path
//! that is absolute or has a `..` component, never a link that is not
//! http(s) with a host.
#![no_main]

use std::path::Component;

use libfuzzer_sys::fuzz_target;
use timmybot_voice::{SourceKind, classify_query};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    match classify_query(query) {
        Ok(SourceKind::File(path)) => {
            assert!(!path.is_absolute() && !path.has_root(), "{path:?}");
            assert!(path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)), "{path:?}");
            assert!(!path.as_os_str().as_encoded_bytes().contains(&0), "{path:?}");
        }
        Ok(SourceKind::Url(url)) => {
            assert!(matches!(url.scheme(), "http" | "https"), "{url}");
            assert!(url.host().is_some(), "{url}");
        }
        Err(_) => {}
    }
});
