//! `-l`: list the server sides that publish beacons, in the C original's
//! table format.

use std::io::Write;
use std::time::{Duration, Instant};

use smol::channel::Receiver;
use smol::future::or;
use smol::Timer;

use super::mqtt::Inbound;
use super::{RunError, CONNECT_TIMEOUT};
use crate::printable::{escaped, json_string};
use crate::protocol::frame::{decode, flags};
use crate::protocol::instance;
use crate::protocol::labels::BEACON_LABEL as BEACON;
use crate::protocol::limits::BEACON_PERIOD;
use crate::protocol::limits::HEADER_LEN;
use crate::protocol::topic::{Incoming, Topics};
use crate::secure::psk::Psk;
use crate::secure::signed::{self, Signed};

/// Listening time beyond one beacon period, so a beacon sent just before
/// the subscription took effect is followed by one that is seen.
const LISTEN_MARGIN: Duration = Duration::from_millis(1500);
/// Most servers listed (the C original's table holds 30; this one more).
const MAX_SERVERS: usize = 256;

/// A server side seen beaconing.
#[derive(Debug)]
struct Seen {
    /// Its server-side-id, as shown (with [`KEYED_MARK`] when it needs a key
    /// this listener does not have).
    id: String,
    /// When its last beacon arrived.
    last: Instant,
}

/// Server ids in the order first seen, with when each was last seen, and
/// which of them announce themselves as this program (`P/S/instance`).
#[derive(Debug, Default)]
pub struct ServerList {
    servers: Vec<Seen>,
    /// Server-side ids with an announcement of this program.
    announced: Vec<String>,
}

/// Shown after the id of a server whose beacon carries a key's tag, to a
/// listener without the key.
const KEYED_MARK: &str = " (needs --psk-file)";
/// A server whose beacon is this late (three periods) is shown as gone.
const GONE_AFTER: Duration = Duration::from_secs(3 * 3);
/// ... and is dropped from the list this late.
const DROP_AFTER: Duration = Duration::from_secs(60);

impl ServerList {
    /// Records a beacon from `id` at `now`.
    pub fn saw(&mut self, id: &str, now: Instant) {
        if let Some(entry) = self.servers.iter_mut().find(|s| s.id == id) {
            entry.last = now;
        } else if self.servers.len() < MAX_SERVERS {
            self.servers.push(Seen {
                id: id.to_owned(),
                last: now,
            });
        }
    }

    /// Records a beacon payload from `id`: with a key, only beacons tagged
    /// with it count; without one, a tagged beacon is listed with a mark.
    pub fn saw_beacon(
        &mut self,
        prefix: &str,
        id: &str,
        payload: &[u8],
        psk: Option<&Psk>,
        now: Instant,
    ) {
        // Each server side's beacons are tagged with its own key.
        let scoped = psk.map(|p| p.scoped(prefix, id));
        let signed = signed::classify(scoped.as_ref(), id, BEACON, HEADER_LEN, payload);
        let (body, shown) = match (signed, psk) {
            (Signed::Ours(body), Some(_)) | (Signed::Plain(body), None) => (body, id.to_owned()),
            (Signed::Foreign(body), None) => (body, format!("{id}{KEYED_MARK}")),
            _ => return,
        };
        if decode(body).is_ok_and(|f| f.header.has(flags::BEACON)) {
            self.saw(&shown, now);
        }
    }

    /// Records that `id` announces itself as this program.
    pub fn announced(&mut self, id: &str) {
        if !self.announced.iter().any(|a| a == id) && self.announced.len() < MAX_SERVERS {
            self.announced.push(id.to_owned());
        }
    }

    /// Forgets the servers silent for [`DROP_AFTER`].
    pub fn expire(&mut self, now: Instant) {
        self.servers
            .retain(|s| now.saturating_duration_since(s.last) < DROP_AFTER);
    }

    fn program(&self, shown: &str) -> &'static str {
        let id = shown.strip_suffix(KEYED_MARK).unwrap_or(shown);
        if shown.ends_with(KEYED_MARK) || self.announced.iter().any(|a| a == id) {
            "mqtt-forward"
        } else {
            "C original or older mqtt-forward"
        }
    }

    /// The table as the C original prints it (`-l` without `--watch`).
    pub fn render(&self, now: Instant) -> String {
        let mut out = String::from("Detected servers:\n\n");
        out.push_str(&format!(
            "  {:>40}{:>30}\n\n",
            "Server ID", "Last seen (seconds ago)"
        ));
        for s in &self.servers {
            let ago = now.saturating_duration_since(s.last).as_secs();
            out.push_str(&format!("  {:>40}{ago:>30}\n", escaped(&s.id)));
        }
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
        for s in &self.servers {
            let silent = now.saturating_duration_since(s.last);
            let ago = if silent >= GONE_AFTER {
                format!("{} (gone)", silent.as_secs())
            } else {
                silent.as_secs().to_string()
            };
            out.push_str(&format!(
                "  {:>40}{ago:>30}  {}\n",
                escaped(&s.id),
                self.program(&s.id)
            ));
        }
        out
    }

    /// One JSON object per server and line (`--json`).
    pub fn render_json(&self, now: Instant) -> String {
        let mut out = String::new();
        for s in &self.servers {
            let silent = now.saturating_duration_since(s.last);
            let id = s.id.strip_suffix(KEYED_MARK).unwrap_or(&s.id);
            out.push_str(&format!(
                "{{\"id\":{},\"last_seen_secs\":{:.1},\"program\":\"{}\",\"needs_key\":{},\"gone\":{}}}\n",
                json_string(id),
                silent.as_secs_f64(),
                if self.program(&s.id) == "mqtt-forward" {
                    "mqtt-forward"
                } else {
                    "c-original-or-older"
                },
                s.id.ends_with(KEYED_MARK),
                silent >= GONE_AFTER
            ));
        }
        out
    }
}

/// How `-l` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// `--watch`: keep printing every beacon period.
    pub watch: bool,
    /// `--json`: JSON lines instead of a table.
    pub json: bool,
    /// Redraw the table in place (stdout is a terminal).
    pub redraw: bool,
}

enum Wake {
    Inbound(Option<Inbound>),
    Tick,
}

/// Listens for beacons under `prefix`. Prints the table once after one
/// beacon period (plus margin) and returns, or with `watch` every period.
pub async fn run(
    prefix: &str,
    output: Output,
    psk: Option<&Psk>,
    inbound: Receiver<Inbound>,
) -> Result<(), RunError> {
    let watch = output.watch;
    let topics = Topics::new(prefix, "");
    let mut list = ServerList::default();
    let started = Instant::now();
    let mut print_at: Option<Instant> = None;
    loop {
        let deadline = print_at.unwrap_or(started + CONNECT_TIMEOUT);
        let wake = or(async { Wake::Inbound(inbound.recv().await.ok()) }, async {
            Timer::at(deadline).await;
            Wake::Tick
        })
        .await;
        let now = Instant::now();
        match wake {
            Wake::Inbound(None) => return Err(RunError::BrokerGone),
            Wake::Inbound(Some(Inbound::Up)) => {
                print_at.get_or_insert(now + BEACON_PERIOD + LISTEN_MARGIN);
            }
            Wake::Inbound(Some(
                Inbound::Down(_)
                | Inbound::Stopped
                | Inbound::Oversized(_)
                | Inbound::FrameLimit(_),
            )) => {}
            Wake::Inbound(Some(Inbound::Message(p))) => {
                if let Some(Incoming::Beacon(id)) = topics.parse(&p.topic) {
                    list.saw_beacon(prefix, id, &p.payload, psk, now);
                } else if let Some(id) = announced_id(prefix, &p.topic) {
                    // Any announcement of this program, keyed or not.
                    if p.payload.len() >= instance::LEN {
                        list.announced(id);
                    }
                }
            }
            Wake::Tick => {
                if print_at.is_none() {
                    return Err(RunError::NoBroker(CONNECT_TIMEOUT));
                }
                if list.servers.is_empty() && !watch {
                    // Said on stderr: stdout keeps the C original's table.
                    log::warn!(
                        "no beacon seen on {} within {}: no server side with -b is \
                         connected under this prefix, or the broker's ACL does not let this \
                         client read it",
                        Topics::beacon_filter(prefix),
                        super::words::Span(BEACON_PERIOD + LISTEN_MARGIN)
                    );
                }
                list.expire(now);
                let written = print(&list.text(&output, now));
                if !watch || written.is_err() {
                    return Ok(());
                }
                print_at = Some(now + BEACON_PERIOD);
            }
        }
    }
}

/// Writes the table to stdout.
fn print(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
}

impl ServerList {
    /// The table as `output` asks for it.
    fn text(&self, output: &Output, now: Instant) -> String {
        if output.json {
            self.render_json(now)
        } else if output.watch && output.redraw {
            // Home and clear, then the table: redrawn in place.
            format!("\x1b[H\x1b[2J{}", self.render_watch(now))
        } else if output.watch {
            format!("{}\n", self.render_watch(now))
        } else {
            self.render(now)
        }
    }
}

/// The server-side id of an announcement topic `P/S/instance`.
fn announced_id<'a>(prefix: &str, topic: &'a str) -> Option<&'a str> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix('/')?;
    let id = rest.strip_suffix("/instance")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_c_format() {
        let t = Instant::now();
        let mut list = ServerList::default();
        list.saw("pi", t);
        list.saw("router", t);
        list.saw("pi", t + Duration::from_secs(1));
        let text = list.render(t + Duration::from_secs(4));
        let expected = format!(
            "Detected servers:\n\n  {:>40}{:>30}\n\n  {:>40}{:>30}\n  {:>40}{:>30}\n\n\n",
            "Server ID", "Last seen (seconds ago)", "pi", 3, "router", 4
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn a_server_id_with_terminal_escapes_is_listed_escaped() {
        let t = Instant::now();
        let mut list = ServerList::default();
        list.saw("pi\x1b]0;owned\x07\x1b[2J\u{9b}31m", t);
        let tables = [list.render(t), list.render_watch(t)];
        for table in &tables {
            assert!(
                table.contains("pi\\x1b]0;owned\\x07\\x1b[2J\\u{9b}31m"),
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
    fn a_key_lists_only_servers_that_hold_it_and_no_key_marks_keyed_ones() {
        let t = Instant::now();
        let psk = Psk::parse(&"ab".repeat(32)).unwrap();
        let other = Psk::parse(&"cd".repeat(32)).unwrap();
        let plain = crate::protocol::frame::beacon();
        let ours = signed::sign(&psk.scoped("ssh", "ours"), "ours", BEACON, plain.clone());
        let theirs = signed::sign(
            &other.scoped("ssh", "theirs"),
            "theirs",
            BEACON,
            plain.clone(),
        );
        let forged = signed::sign(&other.scoped("ssh", "ours"), "ours", BEACON, plain.clone());
        let mut keyed = ServerList::default();
        for (id, payload) in [
            ("ours", &ours),
            ("theirs", &theirs),
            ("open", &plain),
            ("ours", &forged),
        ] {
            keyed.saw_beacon("ssh", id, payload, Some(&psk), t);
        }
        let ids: Vec<&str> = keyed.servers.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["ours"]);
        let mut keyless = ServerList::default();
        for (id, payload) in [("ours", &ours), ("open", &plain)] {
            keyless.saw_beacon("ssh", id, payload, None, t);
        }
        let ids: Vec<&str> = keyless.servers.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["ours (needs --psk-file)", "open"]);
    }

    #[test]
    fn watch_marks_silent_servers_gone_then_drops_them_and_json_says_which_program() {
        let t = Instant::now();
        let mut list = ServerList::default();
        list.saw("c-box", t);
        list.saw("pi \"1\"", t + Duration::from_secs(8));
        list.announced("pi \"1\"");
        let now = t + Duration::from_secs(10);
        let table = list.render_watch(now);
        assert!(table.contains("10 (gone)"), "{table}");
        assert!(
            table.contains("C original or older mqtt-forward"),
            "{table}"
        );
        let json = list.render_json(now);
        let lines: Vec<&str> = json.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            r#"{"id":"c-box","last_seen_secs":10.0,"program":"c-original-or-older","needs_key":false,"gone":true}"#
        );
        assert_eq!(
            lines[1],
            r#"{"id":"pi \"1\"","last_seen_secs":2.0,"program":"mqtt-forward","needs_key":false,"gone":false}"#
        );
        list.expire(t + Duration::from_secs(61));
        assert_eq!(list.servers.len(), 1, "the silent one is dropped");
        assert_eq!(announced_id("ssh", "ssh/pi/instance"), Some("pi"));
        assert_eq!(announced_id("ssh", "ssh/pi/x/instance"), None);
        assert_eq!(announced_id("ssh", "other/pi/instance"), None);
    }
}
