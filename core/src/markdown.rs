//! Discord markdown escaping for text that comes from third parties.

/// Escapes Discord markdown so a title, a guild name or a reason cannot
/// restyle the message or fake a mention (mentions never ping anyway:
/// every message is sent with no allowed mentions).
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '_' | '~' | '`' | '|' | '>' | '<' | '@' | '#' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_smuggle_markdown_or_mentions() {
        assert_eq!(escape_markdown("**x** @everyone <@1>"), "\\*\\*x\\*\\* \\@everyone \\<\\@1\\>");
        assert_eq!(escape_markdown("<t:1:R>"), "\\<t:1:R\\>");
    }
}
