//! User values quoted in one-line messages: control characters escaped
//! (as [`crate::printable`] escapes them), long values shortened, passwords
//! never echoed.

/// Longest piece of a user-supplied value quoted in an error message.
const MAX_SHOWN_CHARS: usize = 80;

/// A user value made safe for a one-line message: control characters
/// escaped, long values shortened.
#[must_use]
pub fn shown(value: &str) -> String {
    escaped(value, MAX_SHOWN_CHARS)
}

/// argh's error text as one line: the trailing newline dropped, control
/// characters (say, a newline inside an unrecognised argument) escaped.
#[must_use]
pub fn one_line(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "invalid command line".to_owned();
    }
    escaped(trimmed, usize::MAX)
}

/// `text` with its control characters escaped, cut after `max_chars`
/// characters (then ending in `...`).
fn escaped(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (count, c) in text.chars().enumerate() {
        if count == max_chars {
            out.push_str("...");
            break;
        }
        crate::printable::push_char(&mut out, c);
    }
    out
}

/// What replaces a password quoted in an error message.
const REDACTED: &str = "<redacted>";

/// `message` with every password given in `args` replaced by
/// [`REDACTED`]: the value after `--mqtt-password`, and whatever follows the
/// `=` of an argument that starts like it (`--mqtt-pass=…`, a typo such as
/// `--mqtt-passwrd=…`), so that a parse error never echoes a secret.
#[must_use]
pub fn redact_passwords(message: &str, args: &[&str]) -> String {
    let mut secrets: Vec<&str> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if *arg == "--mqtt-password" {
            secrets.extend(args.get(i + 1));
        } else if let Some((name, value)) = arg.split_once('=') {
            if name.starts_with("--mqtt-pass") {
                secrets.push(value);
            }
        }
    }
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_owned();
    for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, REDACTED);
    }
    out
}
