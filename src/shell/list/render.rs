//! What `-l` prints: the C original's table, the `--watch` table and JSON
//! lines. Every id is escaped ([`crate::printable`]): it is whatever a
//! client of the broker put in a topic.

use std::fmt::Write;
use std::time::Instant;

use super::servers::{Seen, ServerList, GONE_AFTER, MAX_SERVERS};
use crate::printable::{escaped, json_string};

/// Shown after the id of a server whose beacon carries a key's tag, to a
/// listener without the key.
const KEYED_MARK: &str = " (needs --psk-file)";

/// Which program `s` runs, in the table's words, or as JSON has it.
fn program(s: &Seen, json: bool) -> &'static str {
    match (s.needs_key || s.announced, json) {
        (true, _) => "mqtt-forward",
        (false, false) => "C original or older mqtt-forward",
        (false, true) => "c-original-or-older",
    }
}

/// The id of `s` as the tables show it: escaped, and marked if it needs a
/// key.
fn shown_id(s: &Seen) -> String {
    let mut id = escaped(&s.id);
    if s.needs_key {
        id.push_str(KEYED_MARK);
    }
    id
}

impl ServerList {
    /// The table as the C original prints it (`-l` without `--watch`).
    pub fn render(&self, now: Instant) -> String {
        let mut out = String::from("Detected servers:\n\n");
        let _ = writeln!(
            out,
            "  {:>40}{:>30}\n",
            "Server ID", "Last seen (seconds ago)"
        );
        for s in self.servers() {
            let ago = now.saturating_duration_since(s.last).as_secs();
            let _ = writeln!(out, "  {:>40}{ago:>30}", shown_id(s));
        }
        self.push_not_shown(&mut out);
        out.push_str("\n\n");
        out
    }

    /// The `--watch` table: the C columns, which program each server is,
    /// and which are gone (silent for three beacon periods).
    pub fn render_watch(&self, now: Instant) -> String {
        let mut out = format!(
            "  {:>40}{:>30}  {}\n\n",
            "Server ID", "Last seen (seconds ago)", "Program"
        );
        for s in self.servers() {
            let silent = now.saturating_duration_since(s.last);
            let ago = if silent >= GONE_AFTER {
                format!("{} (gone)", silent.as_secs())
            } else {
                silent.as_secs().to_string()
            };
            let _ = writeln!(out, "  {:>40}{ago:>30}  {}", shown_id(s), program(s, false));
        }
        self.push_not_shown(&mut out);
        out
    }

    /// One JSON object per server and line (`--json`), then, if some were
    /// not shown, one line that says how many: `{"not_shown":44,
    /// "max_listed":4096}` (no `id`: a script skips it or reads it).
    pub fn render_json(&self, now: Instant) -> String {
        let mut out = String::new();
        for s in self.servers() {
            let silent = now.saturating_duration_since(s.last);
            let _ = writeln!(
                out,
                "{{\"id\":{},\"last_seen_secs\":{:.1},\"program\":\"{}\",\"needs_key\":{},\"gone\":{}}}",
                json_string(&s.id),
                silent.as_secs_f64(),
                program(s, true),
                s.needs_key,
                silent >= GONE_AFTER
            );
        }
        let (count, lower_bound) = self.not_shown();
        if count > 0 {
            let _ = writeln!(
                out,
                "{{\"not_shown\":{count},\"at_least\":{lower_bound},\"max_listed\":{MAX_SERVERS}}}"
            );
        }
        out
    }

    /// The tables' last line when some server sides were not shown.
    fn push_not_shown(&self, out: &mut String) {
        let (count, lower_bound) = self.not_shown();
        if count > 0 {
            let _ = writeln!(
                out,
                "\n  ... and {}{count} more server sides not shown (at most {MAX_SERVERS} are \
                 listed; a pattern narrows the list: -l 'site-*')",
                if lower_bound { "at least " } else { "" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pattern::Pattern;
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_table_matches_the_c_format() {
        let t = Instant::now();
        let mut list = ServerList::new(None);
        list.saw("pi", false, t);
        list.saw("router", false, t);
        list.saw("pi", false, t + Duration::from_secs(1));
        let text = list.render(t + Duration::from_secs(4));
        let expected = format!(
            "Detected servers:\n\n  {:>40}{:>30}\n\n  {:>40}{:>30}\n  {:>40}{:>30}\n\n\n",
            "Server ID", "Last seen (seconds ago)", "pi", 3, "router", 4
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn watch_marks_silent_servers_gone_and_json_says_which_program() {
        let t = Instant::now();
        let mut list = ServerList::new(None);
        list.saw("c-box", false, t);
        list.saw("pi \"1\"", false, t + Duration::from_secs(8));
        list.announced("pi \"1\"");
        list.saw("keyed", true, t + Duration::from_secs(8));
        let now = t + Duration::from_secs(10);
        let table = list.render_watch(now);
        assert!(table.contains("10 (gone)"), "{table}");
        assert!(
            table.contains("C original or older mqtt-forward"),
            "{table}"
        );
        assert!(table.contains("keyed (needs --psk-file)"), "{table}");
        let json = list.render_json(now);
        let lines: Vec<&str> = json.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"id":"c-box","last_seen_secs":10.0,"program":"c-original-or-older","needs_key":false,"gone":true}"#,
                r#"{"id":"pi \"1\"","last_seen_secs":2.0,"program":"mqtt-forward","needs_key":false,"gone":false}"#,
                r#"{"id":"keyed","last_seen_secs":2.0,"program":"mqtt-forward","needs_key":true,"gone":false}"#,
            ]
        );
    }

    #[test]
    fn a_server_id_with_terminal_escapes_is_listed_escaped() {
        let t = Instant::now();
        let mut list = ServerList::new(None);
        list.saw("pi\x1b]0;owned\x07\x1b[2J\u{9b}31m", true, t);
        let tables = [list.render(t), list.render_watch(t)];
        for table in &tables {
            assert!(
                table.contains("pi\\x1b]0;owned\\x07\\x1b[2J\\u{9b}31m (needs --psk-file)"),
                "{table}"
            );
        }
        let json = list.render_json(t);
        assert!(
            json.starts_with(r#"{"id":"pi\u001b]0;owned\u0007\u001b[2J\u009b31m","#),
            "{json}"
        );
        for text in tables.iter().chain([&json]) {
            assert!(
                !text.chars().any(|c| c != '\n' && c.is_control()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_tables_and_json_say_how_many_server_sides_were_not_shown() {
        let t = Instant::now();
        let mut list = ServerList::new(Some(Pattern::new("s-*")));
        for n in 0..MAX_SERVERS + 4 {
            list.saw(&format!("s-{n}"), false, t);
        }
        list.saw("other", false, t);
        let said = "... and 4 more server sides not shown (at most 4096 are listed";
        assert!(list.render(t).contains(said));
        assert!(list.render_watch(t).contains(said));
        let json = list.render_json(t);
        assert_eq!(json.lines().count(), MAX_SERVERS + 1);
        assert_eq!(
            json.lines().last(),
            Some(r#"{"not_shown":4,"at_least":false,"max_listed":4096}"#)
        );
        assert!(!ServerList::new(None).render_json(t).contains("not_shown"));
    }
}
