//! The broker connection. rumqttc's event loop is tokio-based; it runs on
//! one dedicated thread with a current-thread tokio runtime, bridged to the
//! smol side by channels. Measured against running it on smol through
//! async-compat: same binary size (743,232 bytes for both test programs),
//! same thread count (async-compat hides a tokio thread of its own), equal
//! QoS 1 throughput and 10–15 % lower round-trip latency (see docs/design.rst).
//!
//! smol tasks publish through [`rumqttc::AsyncClient`] directly (its request
//! channel is executor-agnostic). Incoming publishes and link state changes
//! arrive on one channel. Subscriptions are tracked here so that every
//! reconnect (clean session) restores them before anything else is sent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, MqttOptions, Outgoing, Packet, Publish, QoS, Request, Subscribe,
    SubscribeFilter, SubscribeReasonCode, TlsConfiguration, Transport,
};

use super::probe::{Probe, Verdict};
use super::reconnect::Reconnect;
use super::CONNECT_TIMEOUT;
use crate::config::BrokerConfig;
use crate::protocol::frame::MAX_PAYLOAD;
use crate::router::{self, Link, LinkError};

/// Keep-alive interval: the C original's value. A dead broker connection is
/// noticed within 1.5× this at worst; a closed one at once.
const KEEP_ALIVE: Duration = Duration::from_secs(20);
/// Room in an MQTT PUBLISH packet beyond the payload: fixed header (≤ 5),
/// topic length (2), packet id (2) and the longest topic we use
/// (2 × MAX_TOPIC_LEVEL_LEN + 32-char session id + separators and suffix).
const PACKET_OVERHEAD: usize = 5 + 2 + 2 + 2 * crate::protocol::limits::MAX_TOPIC_LEVEL_LEN + 64;
/// How often a failing connection's port is looked at, at most.
const LOOK_PERIOD: Duration = Duration::from_secs(60);
/// The largest MQTT packet sent or accepted: the largest frame, sealed
/// (`--psk-file`), with its packet's header and topic.
const MAX_PACKET: usize = MAX_PAYLOAD + crate::secure::channel::MAX_OVERHEAD + PACKET_OVERHEAD;
/// Requests (publishes, subscribes) queued toward the event loop before
/// publishers wait: the backpressure from a slow broker link.
const REQUEST_QUEUE: usize = 32;
/// Unacknowledged QoS 2 publishes the client keeps in flight. A broker
/// refuses incoming QoS 2 messages beyond its own in-flight quota (mosquitto:
/// `max_inflight_messages`, default 20, answered with PUBREC "quota
/// exceeded" and the message silently dropped), so this stays at that
/// default, which is also what the C original sets for every QoS.
const INFLIGHT_QOS2: u16 = 20;
/// Unacknowledged QoS 1 publishes in flight: the broker keeps no state for
/// them, so only the round trip matters; rumqttc's default.
const INFLIGHT_QOS1: u16 = 100;
/// Incoming publishes queued toward the router before the event loop waits:
/// up to 16 frames of 64 KiB outside the buffer budget (64 cost 3 MiB more
/// under a flood of large frames, with no gain in the benchmark).
const INCOMING_QUEUE: usize = 16;

/// What the broker connection reports to the smol side.
#[derive(Debug)]
pub enum Inbound {
    /// The connection is up and subscriptions are being restored.
    Up,
    /// The connection dropped; it is being re-established with backoff.
    /// Why, in words (read by `--stdio` only).
    Down(#[cfg_attr(not(feature = "stdio"), allow(dead_code))] String),
    /// A message arrived on a subscribed topic.
    Message(Publish),
    /// Publishes over the packet limit were dropped as they streamed in
    /// (the patched rumqttc hands each out with an empty payload).
    Oversized(usize),
    /// The largest frame the broker carries, in stream bytes (probed).
    FrameLimit(usize),
    /// The DISCONNECT asked for by [`Broker::disconnect`] was written, after
    /// everything published before it: the connection thread has ended.
    Stopped,
}

/// Changes to the set of subscriptions restored after each reconnect.
#[derive(Debug)]
enum SubChange {
    Add(String),
    Remove(String),
}

/// The topic filters of the SUBSCRIBE requests handed to rumqttc, in the
/// order it sends them, so that a refused subscription (SUBACK failure) is
/// reported with its topics (rumqttc tells only the packet id).
type SubscribeLog = Arc<Mutex<VecDeque<String>>>;

/// Handle to the broker connection, cheap to clone.
#[derive(Clone)]
pub struct Broker {
    client: AsyncClient,
    qos: QoS,
    changes: smol::channel::Sender<SubChange>,
    subscribed: SubscribeLog,
}

/// Converts the validated QoS level (0..=2) into rumqttc's enum.
pub fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

impl Broker {
    /// Starts the connection thread. `permanent` topics are subscribed on
    /// every connect. Returns the handle and the inbound channel.
    /// With `probe` (its topic and the configured frame size), finds the
    /// largest frame the broker carries at every connect (`probe.rs`).
    pub fn start(
        config: &BrokerConfig,
        tls: Option<Arc<rustls::ClientConfig>>,
        permanent: Vec<String>,
        probe: Option<(String, usize)>,
    ) -> std::io::Result<(Broker, smol::channel::Receiver<Inbound>)> {
        // rumqttc joins host and port as "host:port" and, with TLS, also
        // takes the host as the server name to check the certificate
        // against. Brackets make an IPv6 literal parse as a socket address
        // without a resolver call, but are not a valid server name; without
        // them the address still resolves (through getaddrinfo).
        let is_v6 = config.host.parse::<std::net::Ipv6Addr>().is_ok();
        let host = if is_v6 && tls.is_none() {
            format!("[{}]", config.host)
        } else {
            config.host.clone()
        };
        let mut options = MqttOptions::new(&config.client_id, &host, config.port);
        if let Some(tls) = tls {
            options.set_transport(Transport::Tls(TlsConfiguration::Rustls(tls)));
        }
        if let Some(username) = &config.username {
            let password = config.password.as_ref().map_or("", |p| p.0.as_str());
            options.set_credentials(username, password);
        }
        options
            .set_keep_alive(KEEP_ALIVE)
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_inflight(if config.qos == 2 {
                INFLIGHT_QOS2
            } else {
                INFLIGHT_QOS1
            });
        let (client, mut eventloop) = AsyncClient::new(options, REQUEST_QUEUE);
        eventloop.network_options.set_tcp_nodelay(true);
        eventloop
            .network_options
            .set_connection_timeout(CONNECT_TIMEOUT.as_secs());
        let (in_tx, in_rx) = smol::channel::bounded(INCOMING_QUEUE);
        let (change_tx, change_rx) = smol::channel::unbounded();
        let qos = qos(config.qos);
        // For the log: which broker, and whether the link is encrypted.
        let scheme = if config.tls.is_some() {
            "mqtts"
        } else {
            "mqtt"
        };
        let endpoint = if is_v6 {
            format!("{scheme}://[{}]:{}", config.host, config.port)
        } else {
            format!("{scheme}://{}:{}", config.host, config.port)
        };
        // For the explanations of connection failures.
        let config = config.clone();
        let subscribed: SubscribeLog = Arc::default();
        let log = subscribed.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("mqtt".into())
            .spawn(move || {
                runtime.block_on(drive(
                    eventloop,
                    &config,
                    endpoint,
                    qos,
                    permanent,
                    Channels {
                        changes: change_rx,
                        inbound: in_tx,
                        subscribed: log,
                    },
                    probe,
                ));
            })?;
        Ok((
            Broker {
                client,
                qos,
                changes: change_tx,
                subscribed,
            },
            in_rx,
        ))
    }

    /// Publishes `payload` on `topic`, waiting while the request queue is
    /// full. The payload is shared, not copied.
    pub async fn publish(&self, topic: &str, payload: bytes::Bytes) -> Result<(), LinkError> {
        self.client
            .publish_bytes(topic, self.qos, false, payload)
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Subscribes to `topic` now and after every reconnect. The SUBSCRIBE
    /// goes out before anything this task publishes afterwards, and the
    /// broker handles a connection's packets in order, so a reply to a
    /// later publish cannot miss the subscription.
    pub async fn subscribe(&self, topic: &str) -> Result<(), LinkError> {
        self.changes
            .send(SubChange::Add(topic.to_owned()))
            .await
            .map_err(|_| LinkError::Closed)?;
        if let Ok(mut log) = self.subscribed.lock() {
            log.push_back(topic.to_owned());
        }
        self.client
            .subscribe(topic, self.qos)
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Closes the broker connection cleanly once everything published so
    /// far has been written (the graceful stop).
    pub async fn disconnect(&self) -> Result<(), LinkError> {
        self.client
            .disconnect()
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Undoes [`Self::subscribe`].
    pub async fn unsubscribe(&self, topic: &str) -> Result<(), LinkError> {
        self.changes
            .send(SubChange::Remove(topic.to_owned()))
            .await
            .map_err(|_| LinkError::Closed)?;
        self.client
            .unsubscribe(topic)
            .await
            .map_err(|_| LinkError::Closed)
    }
}

impl Link for Broker {
    /// Publishes if the request queue has room; never waits (for what a
    /// router publishes, which must never block). rumqttc does not say
    /// whether its queue is full or gone: a gone one ends the inbound
    /// channel too, which stops the router.
    fn try_publish(&self, out: router::Outgoing) -> Result<(), LinkError> {
        self.client
            .try_publish(out.topic, self.qos, out.retain, out.payload)
            .map_err(|_| LinkError::Full)
    }
}

/// The broker thread's links to the smol side.
struct Channels {
    changes: smol::channel::Receiver<SubChange>,
    inbound: smol::channel::Sender<Inbound>,
    subscribed: SubscribeLog,
}

/// Runs the event loop forever: reconnects with backoff, restores the
/// subscriptions on every connect, forwards incoming publishes.
async fn drive(
    mut eventloop: rumqttc::EventLoop,
    config: &BrokerConfig,
    endpoint: String,
    qos: QoS,
    permanent: Vec<String>,
    channels: Channels,
    probe: Option<(String, usize)>,
) {
    let mut probing = probe.map(|(topic, configured)| {
        let nonce = rand_nonce();
        (topic, Probe::new(configured, nonce), None::<Verdict>)
    });
    let permanent: Vec<String> = permanent
        .into_iter()
        .chain(probing.as_ref().map(|(topic, ..)| topic.clone()))
        .collect();
    let Channels {
        changes,
        inbound,
        subscribed,
    } = channels;
    let mut dynamic: HashSet<String> = HashSet::new();
    // The connect-time SUBSCRIBE goes out first (pushed to the front); the
    // others in the order of `subscribed`.
    let mut restoring: Option<String> = None;
    let mut awaiting_suback: HashMap<u16, String> = HashMap::new();
    let mut reconnect = Reconnect::default();
    // When the broker's port was last looked at (see listener_probe).
    let mut looked: Option<(std::time::Instant, Option<super::listener_probe::Listener>)> = None;
    let mut up = false;
    let mut oversized_seen = rumqttc::oversized_publishes_dropped();
    loop {
        let event = eventloop.poll().await;
        if let Some((_, probe, last)) = probing.as_mut() {
            if let Some(verdict) = probe.tick(std::time::Instant::now()) {
                if report_verdict(verdict, last, &inbound).await.is_err() {
                    return;
                }
            }
        }
        while let Ok(change) = changes.try_recv() {
            match change {
                SubChange::Add(t) => dynamic.insert(t),
                SubChange::Remove(t) => dynamic.remove(&t),
            };
        }
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let worth_a_line = reconnect.connected(std::time::Instant::now());
                up = true;
                let filters: Vec<SubscribeFilter> = permanent
                    .iter()
                    .chain(dynamic.iter())
                    .map(|t| SubscribeFilter::new(t.clone(), qos))
                    .collect();
                if !filters.is_empty() {
                    restoring = Some(
                        filters
                            .iter()
                            .map(|f| f.path.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                    // Ahead of any queued publish: replies must find them.
                    eventloop
                        .pending
                        .push_front(Request::Subscribe(Subscribe::new_many(filters)));
                    // Then the probes, right behind their subscription.
                    if let Some((topic, probe, _)) = probing.as_mut() {
                        let payloads = probe.start(std::time::Instant::now());
                        for (i, payload) in payloads.into_iter().enumerate() {
                            let publish = Publish::new(topic.as_str(), qos, payload);
                            eventloop.pending.insert(1 + i, Request::Publish(publish));
                        }
                    }
                }
                if worth_a_line {
                    log::info!("connected to broker {endpoint}");
                } else {
                    log::debug!("connected to broker {endpoint}");
                }
                if inbound.send(Inbound::Up).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::Publish(p)))
                if probing
                    .as_ref()
                    .is_some_and(|(topic, ..)| *topic == p.topic) =>
            {
                if let Some((_, probe, last)) = probing.as_mut() {
                    if let Some(verdict) = probe.echoed(&p.payload) {
                        if report_verdict(verdict, last, &inbound).await.is_err() {
                            return;
                        }
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let oversized = rumqttc::oversized_publishes_dropped();
                let message = if oversized != oversized_seen && p.payload.is_empty() {
                    // Only the count is reported, never the (empty) publish.
                    let new = oversized.wrapping_sub(oversized_seen);
                    oversized_seen = oversized;
                    Inbound::Oversized(new)
                } else {
                    Inbound::Message(p)
                };
                if inbound.send(message).await.is_err() {
                    return;
                }
            }
            Ok(Event::Outgoing(Outgoing::Subscribe(pkid))) => {
                let topics = restoring
                    .take()
                    .or_else(|| subscribed.lock().ok().and_then(|mut log| log.pop_front()));
                awaiting_suback.insert(pkid, topics.unwrap_or_else(|| "?".to_owned()));
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let topics = awaiting_suback.remove(&ack.pkid).unwrap_or_default();
                if ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, SubscribeReasonCode::Failure))
                {
                    log::error!(
                        "the broker refused the subscription to {topics}: check its ACL \
                         for this client (user name, client id)"
                    );
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                let _ = inbound.send(Inbound::Stopped).await;
                return;
            }
            Ok(_) => {}
            Err(e) => {
                // Subscriptions in flight are sent again at the next connect.
                awaiting_suback.clear();
                if let Some((_, probe, _)) = probing.as_mut() {
                    probe.lost();
                }
                restoring = None;
                // rumqttc keeps a publish stashed after a packet-id collision
                // across reconnects, while a clean session drops the publish
                // whose ack would release it: every later publish would then
                // wait forever (github.com/bytebeamio/rumqttc/issues/1056).
                // The reliability layer retransmits whatever that drops.
                eventloop.state.collision = None;
                let why = super::broker_error::describe(&e, config, !up, &mut || {
                    // At most once a minute (the verdict is kept): a
                    // blocking look of at most a few hundred milliseconds,
                    // on this broker thread.
                    let now = std::time::Instant::now();
                    match &looked {
                        Some((t, verdict)) if now.duration_since(*t) < LOOK_PERIOD => {
                            verdict.clone()
                        }
                        _ => {
                            let verdict =
                                super::listener_probe::identify(&config.host, config.port);
                            looked = Some((now, verdict.clone()));
                            verdict
                        }
                    }
                });
                up = false;
                let retry = reconnect.failed(std::time::Instant::now(), &why, &endpoint);
                if let Some(line) = retry.line {
                    log::warn!("{line}");
                }
                // Read by --stdio only.
                let down = if super::stdio::ENABLED {
                    format!("no connection to the broker {endpoint}: {why}")
                } else {
                    String::new()
                };
                if inbound.send(Inbound::Down(down)).await.is_err() {
                    return;
                }
                tokio::time::sleep(retry.delay).await;
            }
        }
    }
}

/// A random nonce for the probes (a fixed one without randomness: the
/// probe topic is this process's own anyway).
fn rand_nonce() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// Tells the sessions the frame size to use, and the user what changed;
/// `Err` once the smol side is gone.
async fn report_verdict(
    verdict: Verdict,
    last: &mut Option<Verdict>,
    inbound: &smol::channel::Sender<Inbound>,
) -> Result<(), LinkError> {
    let (size, changed) = (
        match verdict {
            Verdict::Found(s) | Verdict::NoAnswer(s) => s,
        },
        *last != Some(verdict),
    );
    if changed {
        match verdict {
            Verdict::Found(s) => log::info!(
                "the broker carries frames of up to {s} bytes of stream data (probed; \
                 --frame-size {s} sets it and skips the probe)"
            ),
            Verdict::NoAnswer(s) => log::info!(
                "no frame-size probe came back within {} (does the broker's ACL allow \
                 this client its probe topic?): using --frame-size {s}, unverified",
                super::words::Span(super::probe::PROBE_WAIT)
            ),
        }
    }
    *last = Some(verdict);
    inbound
        .send(Inbound::FrameLimit(size))
        .await
        .map_err(|_| LinkError::Closed)
}
