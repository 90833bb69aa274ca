//! `-l`: list the server sides that publish beacons, in the C original's
//! table format.

use std::io::Write;
use std::time::{Duration, Instant};

use smol::channel::Receiver;
use smol::future::or;
use smol::Timer;

use super::mqtt::Inbound;
use crate::config::BEACON_PERIOD;
use crate::protocol::frame::{decode, flags};
use crate::protocol::limits::HEADER_LEN;
use crate::protocol::topic::{Incoming, Topics};
use crate::secure::psk::Psk;
use crate::secure::signed::{self, Signed};
use crate::shell::server::BEACON;

/// Listening time beyond one beacon period, so a beacon sent just before
/// the subscription took effect is followed by one that is seen.
const LISTEN_MARGIN: Duration = Duration::from_millis(1500);
/// How long to wait for the broker before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most servers listed (the C original's table holds 30; this one more).
const MAX_SERVERS: usize = 256;

/// Server ids in the order first seen, with when each was last seen.
#[derive(Debug, Default)]
pub struct ServerList {
    servers: Vec<(String, Instant)>,
}

/// Shown after the id of a server whose beacon carries a key's tag, to a
/// listener without the key.
const KEYED_MARK: &str = " (needs --psk-file)";

impl ServerList {
    /// Records a beacon from `id` at `now`.
    pub fn saw(&mut self, id: &str, now: Instant) {
        if let Some(entry) = self.servers.iter_mut().find(|(s, _)| s == id) {
            entry.1 = now;
        } else if self.servers.len() < MAX_SERVERS {
            self.servers.push((id.to_owned(), now));
        }
    }

    /// Records a beacon payload from `id`: with a key, only beacons tagged
    /// with it count; without one, a tagged beacon is listed with a mark.
    pub fn saw_beacon(&mut self, id: &str, payload: &[u8], psk: Option<&Psk>, now: Instant) {
        let signed = signed::classify(psk, id, BEACON, HEADER_LEN, payload);
        let (body, shown) = match (signed, psk) {
            (Signed::Ours(body), Some(_)) | (Signed::Plain(body), None) => (body, id.to_owned()),
            (Signed::Foreign(body), None) => (body, format!("{id}{KEYED_MARK}")),
            _ => return,
        };
        if decode(body).is_ok_and(|f| f.header.has(flags::BEACON)) {
            self.saw(&shown, now);
        }
    }

    /// The table as the C original prints it.
    pub fn render(&self, now: Instant) -> String {
        let mut out = String::from("Detected servers:\n\n");
        out.push_str(&format!(
            "  {:>40}{:>30}\n\n",
            "Server ID", "Last seen (seconds ago)"
        ));
        for (id, seen) in &self.servers {
            let ago = now.saturating_duration_since(*seen).as_secs();
            out.push_str(&format!("  {id:>40}{ago:>30}\n"));
        }
        out.push_str("\n\n");
        out
    }
}

enum Wake {
    Inbound(Option<Inbound>),
    Tick,
}

/// Listens for beacons under `prefix`. Prints the table once after one
/// beacon period (plus margin) and returns, or with `watch` every period.
pub async fn run(
    prefix: &str,
    watch: bool,
    psk: Option<&Psk>,
    inbound: Receiver<Inbound>,
) -> Result<(), String> {
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
            Wake::Inbound(None) => return Err("broker connection ended".into()),
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
                    list.saw_beacon(id, &p.payload, psk, now);
                }
            }
            Wake::Tick => {
                if print_at.is_none() {
                    return Err(format!(
                        "no connection to the broker within {}",
                        super::words::Span(CONNECT_TIMEOUT)
                    ));
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
                let mut stdout = std::io::stdout().lock();
                let written = stdout
                    .write_all(list.render(now).as_bytes())
                    .and_then(|_| stdout.flush());
                if !watch || written.is_err() {
                    return Ok(());
                }
                print_at = Some(now + BEACON_PERIOD);
            }
        }
    }
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
    fn a_key_lists_only_servers_that_hold_it_and_no_key_marks_keyed_ones() {
        let t = Instant::now();
        let psk = Psk::parse(&"ab".repeat(32)).unwrap();
        let other = Psk::parse(&"cd".repeat(32)).unwrap();
        let plain = crate::protocol::frame::beacon();
        let ours = signed::sign(&psk, "ours", BEACON, plain.clone());
        let theirs = signed::sign(&other, "theirs", BEACON, plain.clone());
        let forged = signed::sign(&other, "ours", BEACON, plain.clone());
        let mut keyed = ServerList::default();
        for (id, payload) in [
            ("ours", &ours),
            ("theirs", &theirs),
            ("open", &plain),
            ("ours", &forged),
        ] {
            keyed.saw_beacon(id, payload, Some(&psk), t);
        }
        let ids: Vec<&str> = keyed.servers.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(ids, ["ours"]);
        let mut keyless = ServerList::default();
        for (id, payload) in [("ours", &ours), ("open", &plain)] {
            keyless.saw_beacon(id, payload, None, t);
        }
        let ids: Vec<&str> = keyless.servers.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(ids, ["ours (needs --psk-file)", "open"]);
    }
}
