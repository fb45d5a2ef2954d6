//! Bounding and cleaning what other services send: their text reaches
//! Discord messages and their links reach the player, so neither may be
//! unbounded, multi-line or carry invisible direction overrides.

use url::Url;

/// The longest link kept from a service's answer.
pub(crate) const MAX_URL_LEN: usize = 2048;

/// `raw` on one line, without control or invisible formatting characters,
/// runs of whitespace collapsed, cut to `max_chars` characters.
pub(crate) fn clean_text(raw: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max_chars * 4));
    let mut kept = 0;
    let mut after_space = true;
    for c in raw.chars() {
        if kept == max_chars {
            break;
        }
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            if !after_space {
                out.push(' ');
                kept += 1;
                after_space = true;
            }
            continue;
        }
        out.push(c);
        kept += 1;
        after_space = false;
    }
    out.truncate(out.trim_end().len());
    out
}

/// [`clean_text`], or `None` when nothing is left.
pub(crate) fn clean_opt(raw: Option<&str>, max_chars: usize) -> Option<String> {
    raw.map(|r| clean_text(r, max_chars)).filter(|s| !s.is_empty())
}

/// Zero-width characters and bidirectional overrides, which could make a
/// title display as something else.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `raw` as an http(s) link with a host and no credentials, at most
/// [`MAX_URL_LEN`] long.
pub(crate) fn web_url(raw: &str) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    let fits = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none();
    fits.then_some(url)
}

/// `s` cut to at most `max_chars` characters (on a character boundary).
pub(crate) fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_one_line_without_invisible_characters_and_bounded() {
        assert_eq!(clean_text("  Jazz\n\tFM \u{202E}live\u{200B}  ", 100), "Jazz FM live");
        assert_eq!(clean_text("abcdef", 3), "abc");
        assert_eq!(clean_text("ab  \n  cd", 3), "ab");
        assert_eq!(clean_text("ééé", 2), "éé");
        assert_eq!(clean_opt(Some(" \u{200B} "), 10), None);
        assert_eq!(clean_opt(None, 10), None);
    }

    #[test]
    fn only_plain_web_links_pass() {
        assert!(web_url("https://example.com/stream.mp3").is_some());
        assert!(web_url(" http://example.com ").is_some());
        assert!(web_url("javascript:alert(1)").is_none());
        assert!(web_url("file:///etc/passwd").is_none());
        assert!(web_url("https://user:pw@example.com/").is_none());
        assert!(web_url("not a link").is_none());
        assert!(web_url(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN))).is_none());
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
