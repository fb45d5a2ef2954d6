//! Property tests for query classification: whatever a member types,
//! [`classify_query`] answers without panicking, never hands back a file path
//! that could leave the media folder, and calls nothing a link unless it is
//! http(s) with a host.
//!
//! Bounded so it runs in about a second inside the test command; the
//! `query_classification` cargo-fuzz target does the long runs.

use std::path::Component;

use proptest::prelude::*;
use proptest::test_runner::Config;
use timmybot_voice::{SourceKind, classify_query};

/// Path-like text built from tricky segments and separators.
fn path_like() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just(String::new()),
        Just("...".to_owned()),
        Just("..\\..".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("C:".to_owned()),
        Just("\0".to_owned()),
        Just("~".to_owned()),
        "[a-zA-Z0-9 ._-]{1,12}",
        ".{1,6}",
    ];
    let separator = prop_oneof![Just("/"), Just("\\"), Just("//"), Just(":")];
    let lead = prop_oneof![Just(""), Just("/"), Just("./"), Just("\\"), Just("  "), Just("\t")];
    (lead, proptest::collection::vec((segment, separator), 0..6)).prop_map(|(lead, parts)| {
        let mut text = lead.to_owned();
        for (segment, separator) in parts {
            text.push_str(&segment);
            text.push_str(separator);
        }
        text
    })
}

/// URL-like text with assorted schemes, separators and hosts.
fn url_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just("http".to_owned()),
        Just("https".to_owned()),
        Just("HTTP".to_owned()),
        Just("hTtPs".to_owned()),
        Just("file".to_owned()),
        Just("ftp".to_owned()),
        Just("data".to_owned()),
        Just("javascript".to_owned()),
        Just("ws".to_owned()),
        Just("c".to_owned()),
        "[a-z][a-z0-9+.-]{0,8}",
    ];
    let after_scheme = prop_oneof![Just(":"), Just("://"), Just(":/"), Just(":///"), Just(":\\\\"), Just("://@")];
    let host = prop_oneof![
        Just("example.com".to_owned()),
        Just("127.0.0.1".to_owned()),
        Just("[::1]".to_owned()),
        Just("[::ffff:169.254.169.254]".to_owned()),
        Just("0x7f.1".to_owned()),
        Just(String::new()),
        "[a-z0-9.%@:-]{0,16}",
    ];
    (scheme, after_scheme, host, path_like(), ".{0,8}")
        .prop_map(|(scheme, sep, host, path, tail)| format!("{scheme}{sep}{host}{path}{tail}"))
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![3 => any::<String>(), 3 => path_like(), 3 => url_like(), 1 => "\\PC{0,600}"]
}

proptest! {
    #![proptest_config(Config { cases: 2048, ..Config::default() })]

    #[test]
    fn classify_query_never_panics_escapes_the_folder_or_names_a_non_http_link(query in query()) {
        match classify_query(&query) {
            Ok(SourceKind::File(path)) => {
                prop_assert!(!path.is_absolute(), "{path:?}");
                prop_assert!(!path.has_root(), "{path:?}");
                // No `..` component (a name like `a..b` is harmless).
                prop_assert!(
                    path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)),
                    "{path:?}"
                );
                prop_assert!(!path.as_os_str().is_empty());
                prop_assert!(!path.as_os_str().as_encoded_bytes().contains(&0));
            }
            Ok(SourceKind::Url(url)) => {
                prop_assert!(matches!(url.scheme(), "http" | "https"), "{url}");
                prop_assert!(url.host().is_some(), "{url}");
            }
            Err(_) => {}
        }
    }
}
