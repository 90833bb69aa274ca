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
use crate::protocol::topic::{Incoming, Topics};

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

impl ServerList {
    /// Records a beacon from `id` at `now`.
    pub fn saw(&mut self, id: &str, now: Instant) {
        if let Some(entry) = self.servers.iter_mut().find(|(s, _)| s == id) {
            entry.1 = now;
        } else if self.servers.len() < MAX_SERVERS {
            self.servers.push((id.to_owned(), now));
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
pub async fn run(prefix: &str, watch: bool, inbound: Receiver<Inbound>) -> Result<(), String> {
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
                Inbound::Down | Inbound::Stopped | Inbound::Oversized(_) | Inbound::FrameLimit(_),
            )) => {}
            Wake::Inbound(Some(Inbound::Message(p))) => {
                let is_beacon = decode(&p.payload).is_ok_and(|f| f.header.has(flags::BEACON));
                if let (true, Some(Incoming::Beacon(id))) = (is_beacon, topics.parse(&p.topic)) {
                    list.saw(id, now);
                }
            }
            Wake::Tick => {
                if print_at.is_none() {
                    return Err(format!(
                        "no connection to the broker within {CONNECT_TIMEOUT:?}"
                    ));
                }
                if list.servers.is_empty() && !watch {
                    // Said on stderr: stdout keeps the C original's table.
                    log::warn!(
                        "no beacon seen on {} within {:?}: no server side with -b is \
                         connected under this prefix, or the broker's ACL does not let this \
                         client read it",
                        Topics::beacon_filter(prefix),
                        BEACON_PERIOD + LISTEN_MARGIN
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
}
