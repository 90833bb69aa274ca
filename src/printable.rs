//! Text from outside the program (a topic level the broker delivered, a
//! banner a listener sent, a value on the command line) made safe to print.
//! A terminal acts on control characters: ESC starts a sequence that can
//! retitle the window, clear the screen or move the cursor, and some
//! brokers (aedes) let any client put them in a topic. Every character that
//! is not printable is shown escaped instead, as in a Rust string literal:
//! `\n`, `\x1b`, `\u{9b}`. The one place that decides: the log (every
//! line), `-l`'s table and JSON, and the command line's messages use it.

use std::fmt::{self, Write};

/// Whether `c` is shown escaped: the control characters (C0, DEL, C1) and
/// the invisible ones that reorder or hide the text around them (the
/// bidirectional overrides, isolates and marks, the line and paragraph
/// separators, zero-width characters and the byte order mark).
#[must_use]
pub const fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Writes `c` escaped: `\t`, `\n`, `\r`, `\x1b` below 0x80, `\u{9b}` above.
fn write_escaped(out: &mut impl Write, c: char) -> fmt::Result {
    match c {
        '\t' => out.write_str("\\t"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        c if c.is_ascii() => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    }
}

/// Appends `c` to `out`, escaped if it [`needs_escape`].
pub fn push_char(out: &mut String, c: char) {
    if needs_escape(c) {
        let _ = write_escaped(out, c);
    } else {
        out.push(c);
    }
}

/// A writer that escapes what [`needs_escape`] on its way to `W`.
pub struct Escaping<W>(pub W);

impl<W: Write> Write for Escaping<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(needs_escape) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write_escaped(&mut self.0, c)?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// `T`'s text with every character that [`needs_escape`] escaped, for a
/// format string: `log::debug!("topic {}", Printable(topic))`.
pub struct Printable<T>(pub T);

impl<T: fmt::Display> fmt::Display for Printable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaping(f), "{}", self.0)
    }
}

/// `text` escaped, as a string (to pad it in a table column).
#[must_use]
pub fn escaped(text: &str) -> String {
    Printable(text).to_string()
}

/// `text` as a JSON string literal, quotes included: `"` and `\` escaped,
/// and every character that [`needs_escape`] as `\uXXXX`, so that the
/// line stays valid JSON and holds no raw control character (all of them
/// are in the Basic Multilingual Plane: one escape each).
#[must_use]
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a hostile topic level on aedes looked like: retitle the window,
    /// ring, clear the screen, and an 8-bit CSI.
    const HOSTILE: &str = "pi\x1b]0;owned\x07\x1b[2J\u{9b}31m";

    #[test]
    fn terminal_escapes_are_shown_as_in_a_rust_string_literal() {
        assert_eq!(escaped(HOSTILE), "pi\\x1b]0;owned\\x07\\x1b[2J\\u{9b}31m");
        assert_eq!(escaped("a\tb\nc\rd\0e\x7f"), "a\\tb\\nc\\rd\\x00e\\x7f");
    }

    #[test]
    fn printable_text_is_left_as_it_is_whatever_its_script() {
        for text in ["office-pi", "site-*?", "käse 東京 \\x1b \"q\"", "", "🦀"] {
            assert_eq!(escaped(text), text);
        }
    }

    #[test]
    fn invisible_characters_that_reorder_text_are_escaped() {
        assert_eq!(
            escaped("a\u{202e}b\u{2066}c\u{200b}d\u{feff}e\u{2028}"),
            "a\\u{202e}b\\u{2066}c\\u{200b}d\\u{feff}e\\u{2028}"
        );
    }

    #[test]
    fn the_escaped_form_holds_no_character_a_terminal_acts_on() {
        let every: String = (0..0x3000)
            .filter_map(char::from_u32)
            .chain(['\u{feff}'])
            .collect();
        let shown = escaped(&every);
        assert!(!shown.chars().any(needs_escape));
        assert!(!json_string(&every).chars().any(needs_escape));
    }

    #[test]
    fn a_format_string_escapes_only_the_wrapped_value() {
        let line = format!(
            "ignoring message on topic {}\n",
            Printable("ssh/\x1b[2J/tx")
        );
        assert_eq!(line, "ignoring message on topic ssh/\\x1b[2J/tx\n");
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls_as_json_does() {
        assert_eq!(json_string("pi \"1\" \\"), r#""pi \"1\" \\""#);
        assert_eq!(
            json_string(HOSTILE),
            r#""pi\u001b]0;owned\u0007\u001b[2J\u009b31m""#
        );
        assert_eq!(json_string("東京\u{202e}"), "\"東京\\u202e\"");
    }
}
