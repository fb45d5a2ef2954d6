//! Text from the network as it comes: in whatever encoding the server had,
//! with control characters and no length limit. Shared by the playlist and
//! ICY parsers.

use std::borrow::Cow;

/// Longest title kept (in characters); longer ones are cut, so a hostile
/// playlist or stream cannot fill an embed or a log line.
pub const MAX_TITLE_CHARS: usize = 200;

/// Reads `bytes` as text: a byte-order mark is dropped, UTF-16 (with its
/// BOM) is decoded, valid UTF-8 is kept, and anything else is read as
/// Latin-1, which maps every byte to a character and so never fails (the
/// common encoding of old Windows playlists and Shoutcast titles).
pub(crate) fn decode_lossy(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return decode_lossy_no_bom(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return Cow::Owned(decode_utf16(rest, u16::from_le_bytes));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return Cow::Owned(decode_utf16(rest, u16::from_be_bytes));
    }
    decode_lossy_no_bom(bytes)
}

fn decode_lossy_no_bom(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// `raw` fit to show: control characters dropped, whitespace runs kept as
/// they are but trimmed at the ends, cut to `max_chars`; `None` when nothing
/// is left.
pub(crate) fn clean_text(raw: &str, max_chars: usize) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return None;
    }
    let cut: String = trimmed.chars().take(max_chars).collect();
    Some(cut.trim_end().to_owned())
}

/// [`clean_text`] with [`MAX_TITLE_CHARS`].
pub(crate) fn clean_title(raw: &str) -> Option<String> {
    clean_text(raw, MAX_TITLE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_with_and_without_bom_and_falls_back_to_latin1() {
        assert_eq!(decode_lossy("Motörhead".as_bytes()), "Motörhead");
        assert_eq!(decode_lossy(b"\xEF\xBB\xBFabc"), "abc");
        assert!(matches!(decode_lossy(b"plain"), Cow::Borrowed("plain")));
        // "Motörhead" in Latin-1: 0xF6 alone is not UTF-8.
        assert_eq!(decode_lossy(b"Mot\xF6rhead"), "Motörhead");
    }

    #[test]
    fn decodes_utf16_with_a_bom() {
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain("hé".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain("hé".encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(decode_lossy(&le), "hé");
        assert_eq!(decode_lossy(&be), "hé");
    }

    #[test]
    fn cleaning_drops_control_characters_trims_and_caps() {
        assert_eq!(clean_title("  a\u{0}b\u{1b}[31mc\n "), Some("ab[31mc".to_owned()));
        assert_eq!(clean_title(" \t\r\n"), None);
        assert_eq!(clean_title(""), None);
        let long = "é".repeat(500);
        assert_eq!(clean_title(&long).map(|t| t.chars().count()), Some(MAX_TITLE_CHARS));
    }
}
