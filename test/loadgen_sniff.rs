//! `sniff`: every publish the broker carries, timestamped as it arrives at
//! a subscriber of `#`, until a stop file appears; then the busiest window
//! of one second of each side, in publishes and in bytes as the pacer counts
//! them (fixed header at most 5, topic length 2, topic, packet id 2,
//! payload). A client side publishes on topics ending in `/tx`, a server
//! side on every other topic of the tunnel (`/rx`, `/rx/<instance>`,
//! beacons, its instance topic); probes happen at connection, before a
//! measurement starts. Retained messages delivered on subscribing are
//! not counted (they were published before).

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use argh::FromArgs;
use mqtt_forward::config::{BrokerConfig, BrokerNode};
use mqtt_forward::shell::mqtt::{Broker, Inbound};

/// sniff: the busiest second of each side's publishing, seen at the broker
#[derive(FromArgs)]
#[argh(subcommand, name = "sniff")]
pub struct SniffArgs {
    /// broker port
    #[argh(option)]
    port: u16,
    /// broker host (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// created once the subscription to `#` is in place
    #[argh(option)]
    ready: PathBuf,
    /// sniffing ends when this file exists
    #[argh(option)]
    until: PathBuf,
    /// also write every publish seen to this file: seconds, side, bytes,
    /// topic
    #[argh(option)]
    log: Option<PathBuf>,
    /// give up after this many seconds (default 300)
    #[argh(option, default = "300")]
    timeout: u64,
}

/// This sniffer's own topic, which proves the subscription and is not
/// counted.
const OWN: &str = "loadgen/sniff";

/// One publish: when it arrived, by which side, its bytes; or this
/// sniffer's own.
struct Seen {
    at: Instant,
    topic: String,
    by_client: bool,
    bytes: usize,
    own: bool,
}

/// The most publishes and bytes any window of one second holds.
fn busiest_second(seen: &[&Seen]) -> (usize, usize) {
    let mut most = (0, 0);
    let (mut start, mut bytes) = (0, 0);
    for (end, s) in seen.iter().enumerate() {
        bytes += s.bytes;
        while s.at.duration_since(seen[start].at) >= Duration::from_secs(1) {
            bytes -= seen[start].bytes;
            start += 1;
        }
        most = (most.0.max(end + 1 - start), most.1.max(bytes));
    }
    most
}

/// Subscribes to `#` on a connection of its own thread; every publish but
/// this sniffer's own goes to the returned channel.
fn subscribe_all(a: &SniffArgs) -> Result<(Broker, mpsc::Receiver<Seen>), String> {
    let config = BrokerConfig {
        nodes: vec![BrokerNode {
            host: a.host.clone(),
            port: a.port,
        }],
        client_id: format!("loadgen-sniff-{}", std::process::id()),
        qos: 0,
        caps: Default::default(),
        max_subscriptions: None,
        tls: None,
        username: None,
        password: None,
    };
    let (tx, rx) = mpsc::channel();
    let (broker_tx, broker_rx) = mpsc::channel();
    thread::Builder::new()
        .name("sniff".into())
        .spawn(move || {
            let ex = smol::LocalExecutor::new();
            let (broker, inbound) = Broker::start(&ex, &config, None, Vec::new(), None);
            let _ = broker_tx.send(broker);
            smol::block_on(ex.run(async {
                while let Ok(report) = inbound.recv().await {
                    // Retained messages delivered on subscribing were
                    // published before: not counted.
                    let Inbound::Message(p) = report else {
                        continue;
                    };
                    if p.retain {
                        continue;
                    }
                    let topic = &p.topic;
                    let seen = Seen {
                        at: Instant::now(),
                        by_client: topic.ends_with("/tx"),
                        bytes: 5 + 2 + topic.len() + 2 + p.payload.len(),
                        own: topic == OWN,
                        topic: topic.clone(),
                    };
                    if tx.send(seen).is_err() {
                        return;
                    }
                }
            }));
        })
        .map_err(|e| e.to_string())?;
    let broker = broker_rx.recv().map_err(|e| e.to_string())?;
    smol::block_on(broker.subscribe("#")).map_err(|e| format!("{e:?}"))?;
    Ok((broker, rx))
}

pub fn sniff(a: &SniffArgs) -> Result<(), String> {
    let fail = |what: String| format!("mode=sniff error={}", what.replace(' ', "_"));
    let (broker, rx) = subscribe_all(a).map_err(fail)?;
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    // The broker handles a connection's packets in order: this sniffer's
    // own publish coming back proves the subscription.
    smol::block_on(broker.publish(OWN, b"sync".to_vec().into()))
        .map_err(|e| fail(format!("{e:?}")))?;
    let (mut seen, mut ready) = (Vec::new(), false);
    while !(ready && a.until.exists()) {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(s) if s.own => {
                std::fs::write(&a.ready, b"").map_err(|e| fail(e.to_string()))?;
                ready = true;
            }
            Ok(s) => seen.push(s),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(fail("connection ended".into()))
            }
        }
        if Instant::now() > deadline {
            return Err(fail("timeout".into()));
        }
    }
    if let Some(path) = &a.log {
        let start = seen.first().map_or_else(Instant::now, |s| s.at);
        let text: String = seen
            .iter()
            .map(|s| {
                let side = if s.by_client { "client" } else { "server" };
                let secs = s.at.duration_since(start).as_secs_f64();
                format!("{secs:.6} {side} {} {}\n", s.bytes, s.topic)
            })
            .collect();
        std::fs::write(path, text).map_err(|e| fail(e.to_string()))?;
    }
    let mut line = String::from("mode=sniff");
    for (name, by_client) in [("client", true), ("server", false)] {
        let side: Vec<&Seen> = seen.iter().filter(|s| s.by_client == by_client).collect();
        let (publishes, bytes) = busiest_second(&side);
        line += &format!(
            " {name}_publishes={} {name}_peak_publishes={publishes} {name}_peak_bytes={bytes}",
            side.len()
        );
    }
    println!("{line}");
    Ok(())
}
