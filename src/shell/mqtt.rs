//! The broker connection: one task on the program's executor owns the
//! socket and drives the sans-IO MQTT client (`crate::mqtt`); no thread,
//! no second runtime. It reconnects with backoff, restores the
//! subscriptions at every connect before anything else is written, and
//! probes the broker's frame limit.
//!
//! Publishers hand it requests through a bounded queue ([`Broker`]), taken
//! only while the client has in-flight and write room, so that what waits,
//! waits here (in order, subscriptions included) and not in a socket
//! buffer. Incoming publishes and link changes go out on one channel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::mqttbytes::v4::Publish;
use rumqttc::mqttbytes::QoS;
use smol::channel::{Receiver, Sender};
use smol::future::or;
use smol::{LocalExecutor, Timer};

use super::broker_error::ConnectionError;
use super::connection::{Connection, Links, Probing, Shared};
use super::failover::Failover;
use super::probe::Probe;
use super::reconnect::Reconnect;
use super::transport::Transport;
use super::CONNECT_TIMEOUT;
use crate::config::{BrokerConfig, BrokerNode};
use crate::mqtt::pacing::Pacer;
use crate::mqtt::{Client, Options};
use crate::protocol::frame::MAX_PAYLOAD;
use crate::router::{self, Link, LinkError};

/// Room in an MQTT PUBLISH packet beyond the payload: fixed header (≤ 5),
/// topic length (2), packet id (2) and the longest topic we use
/// (2 × MAX_TOPIC_LEVEL_LEN + 32-char session id + separators and suffix).
const PACKET_OVERHEAD: usize = 5 + 2 + 2 + 2 * crate::protocol::limits::MAX_TOPIC_LEVEL_LEN + 64;
/// How often a failing connection's port is looked at, at most.
const LOOK_PERIOD: Duration = Duration::from_secs(60);
/// The largest MQTT packet sent or accepted: the largest frame, sealed
/// (`--psk-file`), with its packet's header and topic.
const MAX_PACKET: usize = MAX_PAYLOAD + crate::secure::channel::MAX_OVERHEAD + PACKET_OVERHEAD;
/// Requests (publishes, subscribes) queued toward the connection before
/// publishers wait: the backpressure from a slow broker link.
const REQUEST_QUEUE: usize = 32;
/// Unacknowledged QoS 2 publishes the client keeps in flight. A broker
/// refuses incoming QoS 2 messages beyond its own in-flight quota (mosquitto:
/// `max_inflight_messages`, default 20, answered with PUBREC "quota
/// exceeded" and the message silently dropped), so this stays at that
/// default, which is also what the C original sets for every QoS.
const INFLIGHT_QOS2: usize = 20;
/// Unacknowledged QoS 1 publishes in flight: the broker keeps no state for
/// them, so only the round trip matters. Each costs a bit of the packet id
/// set. At 100 they capped a 300 ms path at 100 frames of 32 KiB per
/// round trip to the broker (21.8 MB/s measured, half that round trip);
/// the sessions' windows bound what is in flight anyway.
const INFLIGHT_QOS1: usize = 1024;
/// Incoming publishes queued toward the router before the connection stops
/// reading: up to 16 frames of 64 KiB outside the buffer budget.
const INCOMING_QUEUE: usize = 16;

/// What the broker connection reports to the routers.
#[derive(Debug)]
pub enum Inbound {
    /// The connection is up and subscriptions are being restored.
    Up,
    /// The connection dropped; it is being re-established with backoff.
    /// Why, in words (read by `--stdio` only).
    Down(#[cfg_attr(not(feature = "stdio"), allow(dead_code))] String),
    /// A message arrived on a subscribed topic.
    Message(Publish),
    /// Publishes over the packet limit were acknowledged and discarded as
    /// they streamed in.
    Oversized(usize),
    /// The largest frame the broker carries, in stream bytes (probed).
    FrameLimit(usize),
    /// The DISCONNECT asked for by [`Broker::disconnect`] was written, after
    /// everything published before it: the connection has ended.
    Stopped,
}

/// A publish asked for.
#[derive(Debug)]
pub struct PublishRequest {
    pub topic: String,
    pub payload: bytes::Bytes,
    pub retain: bool,
    /// Told when the connection has taken the publish (handed it to the
    /// client, or dropped it): a paced session publishes its next frame
    /// only then (see [`Broker::publish_in_turn`]).
    pub taken: Option<Sender<()>>,
}

impl Drop for PublishRequest {
    /// Taken, dropped with a connection that went down, or never read
    /// (the program stops): the session waits no more either way.
    fn drop(&mut self) {
        if let Some(taken) = self.taken.take() {
            let _ = taken.try_send(());
        }
    }
}

/// What publishers ask of the connection, in order.
#[derive(Debug)]
pub enum Request {
    Publish(PublishRequest),
    Subscribe(String),
    Unsubscribe(String),
    Disconnect,
}

/// Handle to the broker connection, cheap to clone.
#[derive(Clone)]
pub struct Broker {
    requests: Sender<Request>,
    /// Taken before `requests`: subscriptions (so that a publish that
    /// overtakes in this queue cannot overtake its session's subscription),
    /// and the small publishes of sessions in turn.
    urgent: Sender<Request>,
}

/// Converts the validated QoS level (0..=2) into the codec's enum.
pub fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

impl Broker {
    /// Starts the connection's task on `ex`. `permanent` topics are
    /// subscribed on every connect. With `probe` (its topic and the
    /// configured frame size), finds the largest frame the broker carries
    /// at every connect (`probe.rs`).
    pub fn start(
        ex: &LocalExecutor<'_>,
        config: &BrokerConfig,
        tls: Option<Arc<rustls::ClientConfig>>,
        permanent: Vec<String>,
        probe: Option<(String, usize)>,
    ) -> (Broker, Receiver<Inbound>) {
        let (in_tx, in_rx) = smol::channel::bounded(INCOMING_QUEUE);
        let (req_tx, req_rx) = smol::channel::bounded(REQUEST_QUEUE);
        let (urgent_tx, urgent_rx) = smol::channel::bounded(REQUEST_QUEUE);
        let mut client = Client::new(options(config), Instant::now());
        let now = Instant::now();
        for topic in permanent
            .into_iter()
            .chain(probe.as_ref().map(|(t, _)| t.clone()))
        {
            client.subscribe(topic, now);
        }
        let probe = probe.map(|(topic, size)| (topic, Probe::new(size, rand_nonce()), None));
        let links = Links {
            requests: Box::pin(req_rx),
            urgent: Box::pin(urgent_rx),
            inbound: in_tx,
        };
        ex.spawn(drive(config.clone(), tls, client, links, probe))
            .detach();
        let broker = Broker {
            requests: req_tx,
            urgent: urgent_tx,
        };
        (broker, in_rx)
    }

    async fn send(&self, request: Request) -> Result<(), LinkError> {
        self.requests
            .send(request)
            .await
            .map_err(|_| LinkError::Closed)
    }

    async fn send_urgent(&self, request: Request) -> Result<(), LinkError> {
        self.urgent
            .send(request)
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Publishes `payload` on `topic`, waiting while the request queue is
    /// full. The payload is shared, not copied.
    pub async fn publish(&self, topic: &str, payload: bytes::Bytes) -> Result<(), LinkError> {
        let topic = topic.to_owned();
        self.send(Request::Publish(PublishRequest {
            topic,
            payload,
            retain: false,
            taken: None,
        }))
        .await
    }

    /// Publishes like [`Self::publish`], and tells `taken` once the
    /// connection has taken it. A session that waits for that before its
    /// next frame has at most one publish waiting here: under a broker's
    /// quota, the sessions' frames then take turns (an interactive
    /// session's waits behind one frame of each other session, not behind
    /// a bulk session's backlog), and what a session sends when its turn
    /// comes is fresh (its newest acknowledgement, no stale repeats).
    /// A `sparse` publish (a few keystrokes) goes ahead of the others, as
    /// flow queueing serves sparse flows first (RFC 8290): typing waits for
    /// the next publish the quota allows, not behind a transfer's frame or
    /// its acknowledgement.
    pub async fn publish_in_turn(
        &self,
        topic: &str,
        payload: bytes::Bytes,
        taken: Sender<()>,
        sparse: bool,
    ) -> Result<(), LinkError> {
        let request = Request::Publish(PublishRequest {
            topic: topic.to_owned(),
            payload,
            retain: false,
            taken: Some(taken),
        });
        if sparse {
            self.send_urgent(request).await
        } else {
            self.send(request).await
        }
    }

    /// Subscribes to `topic` now and after every reconnect. The SUBSCRIBE
    /// goes out before anything this task publishes afterwards, and the
    /// broker handles a connection's packets in order, so a reply to a
    /// later publish cannot miss the subscription.
    pub async fn subscribe(&self, topic: &str) -> Result<(), LinkError> {
        self.send_urgent(Request::Subscribe(topic.to_owned())).await
    }

    /// Undoes [`Self::subscribe`].
    pub async fn unsubscribe(&self, topic: &str) -> Result<(), LinkError> {
        self.send_urgent(Request::Unsubscribe(topic.to_owned()))
            .await
    }

    /// Closes the broker connection cleanly once everything published so
    /// far has been written (the graceful stop). While the connection is
    /// down this waits for the next one: the caller bounds the wait.
    pub async fn disconnect(&self) -> Result<(), LinkError> {
        self.send(Request::Disconnect).await
    }
}

impl Link for Broker {
    /// Publishes if the request queue has room; never waits (for what a
    /// router publishes, which must never block).
    fn try_publish(&self, out: router::Outgoing) -> Result<(), LinkError> {
        let request = Request::Publish(PublishRequest {
            topic: out.topic,
            payload: out.payload.into(),
            retain: out.retain,
            taken: None,
        });
        self.requests.try_send(request).map_err(|e| match e {
            smol::channel::TrySendError::Full(_) => LinkError::Full,
            smol::channel::TrySendError::Closed(_) => LinkError::Closed,
        })
    }
}

fn options(config: &BrokerConfig) -> Options {
    let qos = qos(config.qos);
    Options {
        client_id: config.client_id.clone(),
        login: config.username.as_ref().map(|user| {
            let password = config.password.as_ref().map_or("", |p| p.0.as_str());
            (user.clone(), password.to_owned())
        }),
        qos,
        inflight: if qos == QoS::ExactlyOnce {
            INFLIGHT_QOS2
        } else {
            INFLIGHT_QOS1
        },
        max_packet: MAX_PACKET,
        connect_timeout: CONNECT_TIMEOUT,
        write_room: super::transport::UNSENT_LIMIT,
    }
}

/// For the log: which broker node, and whether the link is encrypted.
fn endpoint(config: &BrokerConfig, node: &BrokerNode) -> String {
    let scheme = if config.tls.is_some() {
        "mqtts"
    } else {
        "mqtt"
    };
    format!("{scheme}://{node}")
}

/// What is known of one node's port: when it was last looked at, and what
/// answered.
type Looked = Option<(Instant, usize, Option<super::listener_probe::Listener>)>;

/// Runs the connection for ever: connects to a node of the list, drives
/// the connection until it ends, reports why and waits before the next
/// attempt (on the next node, `failover.rs`); returns after the graceful
/// stop or when the routers are gone.
async fn drive(
    config: BrokerConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    mut client: Client,
    mut links: Links,
    mut probe: Probing,
) {
    let endpoints: Vec<String> = config.nodes.iter().map(|n| endpoint(&config, n)).collect();
    let mut failover = Failover::new(config.nodes.len());
    let mut reconnect = Reconnect::default();
    let mut pacer = Pacer::new(config.caps, Instant::now());
    let mut looked: Looked = None;
    loop {
        let index = failover.current();
        let node = &config.nodes[index];
        let (error, was_up) = match attempt(node, tls.as_ref()).await {
            Err(e) => (e, false),
            Ok(stream) => {
                client.connect(Instant::now());
                let shared = Shared {
                    probe: &mut probe,
                    endpoint: &endpoints[index],
                    reconnect: &mut reconnect,
                    pacer: &mut pacer,
                    failover: &mut failover,
                    endpoints: &endpoints,
                };
                let mut connection = Connection::new(stream, &mut client, &mut links, shared);
                match connection.run().await {
                    Ok(()) => break,
                    Err(failed) => failed,
                }
            }
        };
        client.lost();
        if let Some((_, p, _)) = probe.as_mut() {
            p.lost();
        }
        let why = explain(error, index, &config, !was_up, &mut looked).await;
        let next = failover.after_failure();
        let next_endpoint = (next != index).then(|| endpoints[next].as_str());
        let retry = reconnect.failed(Instant::now(), &why, &endpoints[index], next_endpoint);
        failover.failed();
        if let Some(line) = retry.line {
            log::warn!("{line}");
        }
        // Read by --stdio only.
        let down = if super::stdio::ENABLED {
            format!("no connection to the broker {}: {why}", endpoints[index])
        } else {
            String::new()
        };
        if links.inbound.send(Inbound::Down(down)).await.is_err() {
            return;
        }
        Timer::after(retry.delay).await;
    }
    let _ = links.inbound.send(Inbound::Stopped).await;
}

/// One attempt at a connection to `node` (name lookup, TCP, TLS), within
/// [`CONNECT_TIMEOUT`].
async fn attempt(
    node: &BrokerNode,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Transport, ConnectionError> {
    let connect = async {
        Transport::connect(&node.host, node.port, tls)
            .await
            .map_err(ConnectionError::Io)
    };
    let timeout = async {
        Timer::after(CONNECT_TIMEOUT).await;
        Err(ConnectionError::Timeout)
    };
    or(connect, timeout).await
}

/// The line for a failure of node `index`; what answers on its port is
/// looked at (a blocking look, off the executor) at most once a minute.
async fn explain(
    error: ConnectionError,
    index: usize,
    config: &BrokerConfig,
    connecting: bool,
    looked: &mut Looked,
) -> String {
    let now = Instant::now();
    let fresh = |at: Instant, of: usize| of == index && now.duration_since(at) < LOOK_PERIOD;
    let cached = looked.clone().filter(|(at, of, _)| fresh(*at, *of));
    let node = config.nodes[index].clone();
    let config = config.clone();
    let (why, verdict) = smol::unblock(move || {
        let mut verdict = cached.as_ref().map(|(_, _, v)| v.clone());
        let why = super::broker_error::describe(&error, &node, &config, connecting, &mut || {
            verdict
                .get_or_insert_with(|| super::listener_probe::identify(&node.host, node.port))
                .clone()
        });
        (why, verdict)
    })
    .await;
    if let Some(verdict) = verdict {
        if !looked.as_ref().is_some_and(|(at, of, _)| fresh(*at, *of)) {
            *looked = Some((now, index, verdict));
        }
    }
    why
}

/// A random nonce for the probes (a fixed one without randomness: the
/// probe topic, named by a random token, is this process's own anyway).
fn rand_nonce() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
