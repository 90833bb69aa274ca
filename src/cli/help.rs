//! The `--help` text: grouped by what a flag is for, with its default and
//! its environment variable, ending with examples. The rows come from the
//! option table ([`super::options::OPTIONS`]); a test checks that the text
//! names every flag argh knows and every environment variable.

use super::opt::{Group, Opt};
use super::options::OPTIONS;

/// The column of the help text where a flag's description starts.
const HELP_COLUMN: usize = 28;
/// The column of the help text where the environment variable starts.
const ENV_COLUMN: usize = 61;

/// The help text (`prog` is the program name).
#[must_use]
pub fn text(prog: &str) -> String {
    HELP.replace("{prog}", prog)
}

/// The help text with `{prog}` for the program name, rendered from the
/// option table when the program is compiled.
const HELP: &str = match std::str::from_utf8(&HELP_BYTES) {
    Ok(text) => text,
    Err(_) => panic!("the help text is not UTF-8"),
};
/// The length of the help text.
const HELP_LEN: usize = render(&mut []);
/// The help text's bytes.
const HELP_BYTES: [u8; HELP_LEN] = {
    let mut bytes = [0; HELP_LEN];
    render(&mut bytes);
    bytes
};

/// Text written into a buffer, or only measured when the buffer is too
/// short (so that one pass finds the length and a second fills it).
pub struct Writer<'a> {
    /// Where the text goes.
    buf: &'a mut [u8],
    /// The length of the text so far.
    len: usize,
    /// Where the current line starts.
    line_start: usize,
}

impl<'a> Writer<'a> {
    /// A writer into `buf`.
    pub const fn new(buf: &'a mut [u8]) -> Writer<'a> {
        Writer {
            buf,
            len: 0,
            line_start: 0,
        }
    }

    /// The length of the text written.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Appends `bytes`.
    pub const fn push(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            if self.len < self.buf.len() {
                self.buf[self.len] = bytes[i];
            }
            self.len += 1;
            if bytes[i] == b'\n' {
                self.line_start = self.len;
            }
            i += 1;
        }
    }

    /// Spaces up to `column` of the current line (the text is ASCII), at
    /// least one.
    const fn pad_to(&mut self, column: usize) {
        let mut spaces = column.saturating_sub(self.len - self.line_start);
        if spaces == 0 {
            spaces = 1;
        }
        while spaces > 0 {
            self.push(b" ");
            spaces -= 1;
        }
    }
}

/// The first line of `text` and what follows its newline.
const fn split_line(text: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < text.len() && text[i] != b'\n' {
        i += 1;
    }
    let (line, rest) = text.split_at(i);
    if rest.is_empty() {
        (line, rest)
    } else {
        (line, rest.split_at(1).1)
    }
}

/// Writes the help text into `buf` (as far as it goes) and returns its
/// length.
const fn render(buf: &mut [u8]) -> usize {
    let mut out = Writer::new(buf);
    out.push(INTRO.as_bytes());
    let mut g = 0;
    while g < Group::ALL.len() {
        let group = Group::ALL[g];
        let title = group.title().as_bytes();
        if !title.is_empty() {
            out.push(title);
            if group as u8 == Group::Broker as u8 {
                out.pad_to(ENV_COLUMN);
                out.push(b"environment variable");
            }
            out.push(b"\n");
        }
        push_group(&mut out, group);
        out.push(b"\n");
        g += 1;
    }
    out.push(OUTRO.as_bytes());
    out.len
}

/// The rows of every option with help in `group`. The environment column
/// holds an option's variable and its note; a note longer than the option's
/// own rows continues beside the next option's.
const fn push_group(out: &mut Writer<'_>, group: Group) {
    let mut pending: (&[u8], &[u8]) = (b"", b"");
    let mut i = 0;
    while i < OPTIONS.len() {
        let opt = &OPTIONS[i];
        let mut h = 0;
        while h < opt.help.len() {
            if opt.help[h].0 as u8 == group as u8 {
                if !opt.env.is_empty() {
                    pending = (opt.env.as_bytes(), opt.env_note.as_bytes());
                }
                pending = push_rows(out, opt, opt.help[h].1.as_bytes(), pending);
            }
            h += 1;
        }
        i += 1;
    }
}

/// The rows of `opt` for the help text `help`, beside the environment
/// column's lines `pending` (a variable, then a note); returns the lines
/// left over.
const fn push_rows<'a>(
    out: &mut Writer<'_>,
    opt: &Opt,
    help: &[u8],
    mut pending: (&'a [u8], &'a [u8]),
) -> (&'a [u8], &'a [u8]) {
    let mut rest = help;
    let mut first = true;
    while first || !rest.is_empty() {
        let (line, after) = split_line(rest);
        rest = after;
        out.push(b"  ");
        if first {
            push_flag_names(out, opt);
        }
        first = false;
        let env_line = if !pending.0.is_empty() {
            let line = pending.0;
            pending.0 = b"";
            line
        } else {
            let (line, after) = split_line(pending.1);
            pending.1 = after;
            line
        };
        if !line.is_empty() || !env_line.is_empty() {
            out.pad_to(HELP_COLUMN);
            out.push(line);
        }
        if !env_line.is_empty() {
            out.pad_to(ENV_COLUMN);
            out.push(env_line);
        }
        out.push(b"\n");
    }
    pending
}

/// `-p, --port <port>`, or `--mqtt-host <host>` for a flag without short
/// form (short letters are ASCII).
const fn push_flag_names(out: &mut Writer<'_>, opt: &Opt) {
    if let Some(letter) = opt.short {
        out.push(&[b'-', letter as u8, b',', b' ']);
    }
    out.push(opt.long.as_bytes());
    if opt.takes_value() {
        out.push(b" <");
        out.push(opt.value.as_bytes());
        out.push(b">");
    }
}

/// The text before the option rows.
const INTRO: &str = "\
Usage: {prog} -s [options]   server side: serve sessions from the broker
       {prog} [options]      client side: tunnel every local connection
       {prog} -l [PATTERN]   list the server sides that publish beacons

Forward TCP connections (typically SSH) between two networks whose only
common point is an MQTT broker. Both sides need --mqtt-host and the same
--server-side-id (-l needs no id).

";

/// The text after the option rows.
const OUTRO: &str = "\
Flags override the environment; an empty variable counts as unset.
Exit status: 0 done, 1 failure after start-up, 2 bad flags, files or
variables (or a second server side with the same id).

Examples:
  {prog} -s -b --mqtt-host broker.example.net --server-side-id my-pi \\
      --psk-file /etc/mqtt-forward/psk
  {prog} -p 2222 --mqtt-host broker.example.net --server-side-id my-pi \\
      --psk-file ~/.config/mqtt-forward/psk        # then: ssh -p 2222 pi@localhost
  ssh -o ProxyCommand='{prog} --stdio --mqtt-host broker.example.net \\
      --server-side-id my-pi --psk-file ~/.config/mqtt-forward/psk' pi@my-pi
  {prog} -l --mqtt-host broker.example.net
";

/// A parse error of argh in the program's one-line style, e.g. `missing
/// value for --mqtt-host` rather than `No value provided for option
/// '--mqtt-host'.`
pub fn parse_error(argh_text: &str) -> String {
    let text = argh_text.trim().trim_end_matches('.');
    if let Some(rest) = text.strip_prefix("No value provided for option ") {
        return format!("missing value for {}", rest.trim_matches('\''));
    }
    if let Some(rest) = text.strip_prefix("Unrecognized argument: ") {
        return if rest.starts_with('-') {
            format!("unknown option {rest}")
        } else {
            format!("unexpected argument '{rest}' (every value follows its option)")
        };
    }
    if let Some(rest) = text.strip_prefix("Error parsing option ") {
        if let Some((option, _)) = rest.split_once(" with value ") {
            if rest.ends_with("duplicate values provided") {
                return format!("{} given twice", option.trim_matches('\''));
            }
        }
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid arguments".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argh::FromArgs;

    #[test]
    fn argh_errors_read_as_the_programs_own() {
        assert_eq!(
            parse_error("No value provided for option '--mqtt-host'.\n"),
            "missing value for --mqtt-host"
        );
        assert_eq!(
            parse_error("Unrecognized argument: --frob\n"),
            "unknown option --frob"
        );
        assert_eq!(
            parse_error("Unrecognized argument: stray\n"),
            "unexpected argument 'stray' (every value follows its option)"
        );
    }

    #[test]
    fn the_help_names_every_flag_argh_knows_and_every_variable() {
        let argh_help = match super::super::Args::from_args(&["mqtt-forward"], &["--help"]) {
            Err(early) => early.output,
            Ok(_) => panic!("--help parsed"),
        };
        let ours = text("mqtt-forward");
        for word in argh_help.split_whitespace() {
            let flag = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
            if flag.starts_with("--") && flag.len() > 2 && !flag.contains('/') {
                assert!(ours.contains(flag), "{flag} is missing from the help text");
            }
        }
        for var in super::super::ENV_VARS {
            assert!(ours.contains(var), "{var} is missing from the help text");
        }
        assert!(ours.lines().all(|l| l.len() <= 92), "a line is too long");
    }
}
