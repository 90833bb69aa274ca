//! `-l`: list the server sides that publish beacons, in the C original's
//! table format (`--watch`: kept up to date; `--json`: JSON lines), only
//! those whose id matches a pattern if one is given.

mod pattern;
mod render;
mod servers;

use std::io::Write;
use std::time::{Duration, Instant};

use smol::channel::Receiver;
use smol::future::or;
use smol::Timer;

use super::mqtt::Inbound;
use super::{RunError, CONNECT_TIMEOUT};
use crate::protocol::instance;
use crate::protocol::limits::BEACON_PERIOD;
use crate::protocol::topic::{Incoming, Topics};
use crate::secure::psk::Psk;
use pattern::Pattern;
use servers::ServerList;

/// Listening time beyond one beacon period, so a beacon sent just before
/// the subscription took effect is followed by one that is seen.
const LISTEN_MARGIN: Duration = Duration::from_millis(1500);

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
/// With a `pattern`, only the ids that match are listed.
pub async fn run(
    prefix: &str,
    output: Output,
    pattern: Option<&str>,
    psk: Option<&Psk>,
    inbound: Receiver<Inbound>,
) -> Result<(), RunError> {
    let watch = output.watch;
    let topics = Topics::new(prefix, "");
    let mut list = ServerList::new(pattern.map(Pattern::new));
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
                if list.servers().is_empty() && !watch {
                    say_none_seen(prefix, pattern);
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

/// Says on stderr that nothing was seen (stdout keeps the C original's
/// table).
fn say_none_seen(prefix: &str, pattern: Option<&str>) {
    let within = super::words::Span(BEACON_PERIOD + LISTEN_MARGIN);
    let filter = Topics::beacon_filter(prefix);
    match pattern {
        Some(pattern) => log::warn!(
            "no beacon of a server side whose id matches '{pattern}' seen on {filter} \
             within {within}"
        ),
        None => log::warn!(
            "no beacon seen on {filter} within {within}: no server side with -b is \
             connected under this prefix, or the broker's ACL does not let this client \
             read it"
        ),
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
    fn an_announcement_topic_names_one_server_side_under_the_prefix() {
        assert_eq!(announced_id("ssh", "ssh/pi/instance"), Some("pi"));
        assert_eq!(announced_id("ssh", "ssh/pi/x/instance"), None);
        assert_eq!(announced_id("ssh", "other/pi/instance"), None);
        assert_eq!(announced_id("ssh", "ssh//instance"), None);
    }
}
