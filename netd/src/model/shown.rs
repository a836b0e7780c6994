//! How values from a file or the command line are echoed in messages: at
//! most [`MAX_SHOWN`] characters, control characters escaped, so that a
//! hostile name can neither forge lines in a log or a terminal nor drown the
//! message.

/// Characters of one echoed value; longer ones end in `…`.
pub const MAX_SHOWN: usize = 64;

/// Escapes one control character the way a shell's `$'…'` would read it
/// back: `\n`, `\t`, `\r`, and `\xHH` (`\u{HHHH}` beyond ASCII).
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// Characters that would change what a terminal shows: controls, and the
/// bidirectional overrides that reorder the text around them.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A value as it is echoed in a message: at most 64 characters, control
/// characters escaped.
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == MAX_SHOWN {
            out.push('…');
            break;
        }
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// One line of a message that may quote values it did not pass through
/// [`shown`] (an error of a library, a message built from config text):
/// control characters (newlines included) are escaped, and every
/// `` `quoted` `` part longer than [`MAX_SHOWN`] is cut.
pub fn shown_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts are inside backticks.
        if i % 2 == 1 {
            out.push_str(&shown(part));
        } else {
            for c in part.chars() {
                if needs_escape(c) {
                    push_escaped(&mut out, c);
                } else {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// A message of several lines (every config error, say), each line made
/// safe with [`shown_line`]; the line breaks stay.
pub fn shown_quoted(message: &str) -> String {
    message
        .split('\n')
        .map(shown_line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(shown("a\nb\x1b[31mc\td\r"), "a\\nb\\x1b[31mc\\td\\r");
        assert_eq!(shown("\u{85}x"), "\\u{85}x");
        assert_eq!(shown("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(shown("plain-name.1"), "plain-name.1");
    }

    #[test]
    fn long_values_are_cut_at_64_characters() {
        let long = "é".repeat(100);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), MAX_SHOWN + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(shown(&"x".repeat(64)), "x".repeat(64));
    }

    #[test]
    fn a_line_escapes_everything_and_cuts_only_quoted_values() {
        let evil = format!("`{}` is bad\nforged: line\x1b[2J", "v".repeat(80));
        let line = shown_line(&evil);
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line}");
        assert!(line.starts_with(&format!("`{}…` is bad\\nforged", "v".repeat(64))));
        assert!(line.ends_with("line\\x1b[2J"));
        // Text outside backticks is the message itself: never cut.
        let prose = "y".repeat(200);
        assert_eq!(shown_line(&prose), prose);
    }

    #[test]
    fn quoted_messages_keep_their_line_breaks() {
        assert_eq!(shown_quoted("a `b\x07`\nc"), "a `b\\x07`\nc");
    }
}
