//! The MQTT 3.1.1 client of one broker connection, sans-IO (the shape of
//! quinn-proto): it takes the bytes read and `now`, and gives the bytes to
//! write, events and its next deadline. It never touches a socket; the
//! shell (`shell/mqtt.rs`) owns the socket and drives it.
//!
//! A connection is `Connecting` (CONNECT written, waiting for CONNACK),
//! `Connected`, or `Closing` (DISCONNECT written). Every connection is a
//! clean session: what was in flight when one ended is forgotten (the
//! reliability layer above retransmits it), and the subscriptions are
//! restored by the first packet written after CONNACK, before anything
//! else, so that no answer to a later publish can miss them.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{
    Connect, ConnectReturnCode, Packet, Publish, Subscribe, SubscribeFilter, Unsubscribe,
};
use rumqttc::mqttbytes::QoS;

mod incoming;

use super::ids::IdSet;
use super::liveness::{Due, Liveness};
use super::reader::{Incoming, ReadError, Reader};
use super::wire::{KEEP_ALIVE, QOS2_SILENCE};

/// The settings of a client.
#[derive(Clone, Debug)]
pub struct Options {
    pub client_id: String,
    /// User name and password.
    pub login: Option<(String, String)>,
    /// QoS of every publish and subscription.
    pub qos: QoS,
    /// Publishes in flight (QoS 1 and 2) before [`Client::can_publish`]
    /// says no.
    pub inflight: usize,
    /// Largest packet sent or accepted (remaining length), in bytes.
    pub max_packet: usize,
    /// How long the broker may take to answer CONNECT.
    pub connect_timeout: Duration,
    /// Bytes queued for writing beyond which publishes wait.
    pub write_room: usize,
}

/// What the client reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// CONNACK accepted the connection; subscriptions are being restored.
    Connected,
    /// A message on a subscribed topic.
    Message(Publish),
    /// A PUBLISH over the limit was acknowledged and discarded.
    Oversized,
    /// The broker refused these subscriptions (SUBACK failure).
    SubscribeRefused(Vec<String>),
    /// At QoS 2, nothing was acknowledged for this long although the
    /// broker answers pings: it does not support QoS 2 (reported once).
    Qos2Unanswered(Duration),
}

/// Why a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// CONNACK refused the connection.
    Refused(ConnectReturnCode),
    /// No CONNACK within the connect timeout.
    NoConnAck(Duration),
    /// Nothing from the broker for this long, a PINGREQ unanswered.
    Silent(Duration),
    /// The broker broke the protocol.
    Read(ReadError),
    /// The broker sent a packet a client never gets, or CONNACK twice.
    Unexpected(&'static str),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(code) => write!(f, "the broker refused the connection: {code:?}"),
            Failure::NoConnAck(t) => {
                write!(f, "no CONNACK within {}", crate::shell::words::Span(*t))
            }
            Failure::Silent(t) => write!(
                f,
                "the broker stopped answering (nothing for {} with data in flight, a \
                 PINGREQ unanswered): the connection is dead",
                crate::shell::words::Span(*t)
            ),
            Failure::Read(e) => e.fmt(f),
            Failure::Unexpected(what) => write!(f, "the broker sent {what}"),
        }
    }
}

/// Why a publish was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Busy {
    /// Not connected, or in-flight and write room exhausted: try later.
    Later,
    /// Over the largest packet: never.
    TooLarge,
}

/// What an id in use waits for.
#[derive(Debug)]
enum Waiting {
    PubAck,
    PubRec,
    PubComp,
    SubAck(Vec<String>, Instant),
    UnsubAck,
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Idle,
    Connecting(Instant),
    Connected,
    Closing,
}

/// The client state.
pub struct Client {
    options: Options,
    state: State,
    reader: Reader,
    out: BytesMut,
    events: VecDeque<Event>,
    /// Restored at every connect, in the order subscribed.
    subscriptions: Vec<String>,
    ids: IdSet,
    waiting: HashMap<u16, Waiting>,
    /// Publishes waiting for PUBACK, PUBREC or PUBCOMP.
    publishes_in_flight: usize,
    /// Incoming QoS 2 ids given PUBREC and not yet released: a duplicate
    /// PUBLISH with one of them is not delivered twice.
    received: IdSet,
    liveness: Liveness,
    /// When the outstanding PINGREQ (or CONNECT) was sent, for the RTT.
    asked: Option<Instant>,
    /// Acknowledgements for ids not in use (counted, ignored).
    unsolicited: u64,
    /// Since when requests have waited without any being acknowledged.
    progress: Instant,
    /// [`Event::Qos2Unanswered`] was reported.
    said_qos2: bool,
}

impl Client {
    pub fn new(options: Options, now: Instant) -> Client {
        Client {
            reader: Reader::new(options.max_packet),
            options,
            state: State::Idle,
            out: BytesMut::new(),
            events: VecDeque::new(),
            subscriptions: Vec::new(),
            ids: IdSet::default(),
            waiting: HashMap::new(),
            publishes_in_flight: 0,
            received: IdSet::default(),
            liveness: Liveness::new(now),
            asked: None,
            unsolicited: 0,
            progress: now,
            said_qos2: false,
        }
    }

    /// Starts a connection (the socket is open): forgets the previous one
    /// and queues CONNECT.
    pub fn connect(&mut self, now: Instant) {
        self.reader = Reader::new(self.options.max_packet);
        self.out.clear();
        self.ids.clear();
        self.waiting.clear();
        self.publishes_in_flight = 0;
        self.received.clear();
        self.liveness = Liveness::new(now);
        self.progress = now;
        let mut connect = Connect::new(self.options.client_id.clone());
        connect.keep_alive = KEEP_ALIVE.as_secs() as u16;
        connect.clean_session = true;
        if let Some((user, password)) = &self.options.login {
            connect.set_login(user.clone(), password.clone());
        }
        self.write(&Packet::Connect(connect), now, true);
        self.asked = Some(now);
        self.state = State::Connecting(now);
    }

    /// The connection is gone (closed, failed, or given up by the shell).
    pub fn lost(&mut self) {
        self.state = State::Idle;
        self.out.clear();
    }

    /// Whether CONNACK has accepted the connection.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Whether DISCONNECT is queued and everything before it was written:
    /// the socket can be closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closing && self.out.is_empty()
    }

    /// Bytes to write.
    pub fn transmit(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Self::transmit`] were written.
    pub fn written(&mut self, n: usize) {
        let _ = self.out.split_to(n.min(self.out.len()));
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes read and buffered, not yet a whole packet.
    pub fn buffered(&self) -> usize {
        self.reader.buffered()
    }

    /// Events waiting to be taken.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Acknowledgements the broker sent for ids not in use.
    pub fn unsolicited(&self) -> u64 {
        self.unsolicited
    }

    /// The smoothed round trip to the broker, once measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.liveness.rtt()
    }

    /// Whether [`Self::publish`] would take a publish now.
    pub fn can_publish(&self) -> bool {
        self.is_connected()
            && self.out.len() < self.options.write_room
            && (self.options.qos == QoS::AtMostOnce
                || self.publishes_in_flight < self.options.inflight)
    }

    /// Queues a PUBLISH at the configured QoS.
    #[must_use = "a publish not queued must be kept or counted"]
    pub fn publish(
        &mut self,
        topic: String,
        payload: Bytes,
        retain: bool,
        now: Instant,
    ) -> Result<(), Busy> {
        let qos = self.options.qos;
        let mut publish = Publish::from_bytes(topic, qos, payload);
        publish.retain = retain;
        if publish.size() > self.options.max_packet {
            return Err(Busy::TooLarge);
        }
        if !self.can_publish() {
            return Err(Busy::Later);
        }
        if qos != QoS::AtMostOnce {
            publish.pkid = self.ids.take().ok_or(Busy::Later)?;
            let wait = match qos {
                QoS::ExactlyOnce => Waiting::PubRec,
                _ => Waiting::PubAck,
            };
            self.wait_for(publish.pkid, wait, now);
            self.publishes_in_flight += 1;
        }
        self.write(&Packet::Publish(publish), now, true);
        Ok(())
    }

    /// Subscribes to `topic` now (if connected) and at every connect.
    pub fn subscribe(&mut self, topic: String, now: Instant) {
        if self.subscriptions.contains(&topic) {
            return;
        }
        self.subscriptions.push(topic.clone());
        if self.is_connected() {
            self.send_subscribe(vec![topic], now);
        }
    }

    /// Undoes [`Self::subscribe`].
    pub fn unsubscribe(&mut self, topic: &str, now: Instant) {
        let before = self.subscriptions.len();
        self.subscriptions.retain(|t| t != topic);
        if before == self.subscriptions.len() || !self.is_connected() {
            return;
        }
        let Some(pkid) = self.ids.take() else { return };
        self.wait_for(pkid, Waiting::UnsubAck, now);
        let mut packet = Unsubscribe::new(topic);
        packet.pkid = pkid;
        self.write(&Packet::Unsubscribe(packet), now, true);
    }

    /// Queues DISCONNECT after everything queued (the graceful stop).
    pub fn disconnect(&mut self, now: Instant) {
        if self.is_connected() {
            self.write(&Packet::Disconnect, now, false);
        } else {
            self.out.clear();
        }
        self.state = State::Closing;
    }

    fn send_subscribe(&mut self, topics: Vec<String>, now: Instant) {
        let Some(pkid) = self.ids.take() else { return };
        let qos = self.options.qos;
        let filters = topics.iter().map(|t| SubscribeFilter::new(t.clone(), qos));
        let mut packet = Subscribe::new_many(filters);
        packet.pkid = pkid;
        self.wait_for(pkid, Waiting::SubAck(topics, now), now);
        self.write(&Packet::Subscribe(packet), now, true);
    }

    /// Packet `pkid` waits for `wait`; the wait for an acknowledgement
    /// starts now if nothing else was waiting.
    fn wait_for(&mut self, pkid: u16, wait: Waiting, now: Instant) {
        if self.waiting.is_empty() {
            self.progress = now;
        }
        self.waiting.insert(pkid, wait);
    }

    /// When a broker that acknowledges nothing at QoS 2 is to be said.
    fn qos2_deadline(&self) -> Option<Instant> {
        (self.options.qos == QoS::ExactlyOnce && !self.said_qos2 && !self.waiting.is_empty())
            .then_some(self.progress + QOS2_SILENCE)
    }

    /// Encodes `packet` into the write queue.
    fn write(&mut self, packet: &Packet, now: Instant, expects_answer: bool) {
        // Sizes were checked where a peer's data goes in (publish); our
        // own packets are small.
        if packet.write(&mut self.out, usize::MAX).is_ok() {
            self.liveness.wrote(now, expects_answer);
        }
    }

    /// When [`Self::handle_timeout`] must be called, if connected.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Connecting(since) => Some(since + self.options.connect_timeout),
            State::Connected | State::Closing => {
                let live = self.liveness.deadline();
                Some(self.qos2_deadline().map_or(live, |d| d.min(live)))
            }
            State::Idle => None,
        }
    }

    /// Sends the PINGREQ that is due, or ends a dead connection.
    #[must_use = "a failure ends the connection"]
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Failure> {
        match self.state {
            State::Connecting(since) if now >= since + self.options.connect_timeout => {
                Err(Failure::NoConnAck(self.options.connect_timeout))
            }
            State::Connected | State::Closing => {
                if self.qos2_deadline().is_some_and(|d| now >= d) {
                    self.said_qos2 = true;
                    let waited = now.saturating_duration_since(self.progress);
                    self.events.push_back(Event::Qos2Unanswered(waited));
                }
                self.keep_alive(now)
            }
            _ => Ok(()),
        }
    }

    /// The PINGREQ that is due, or the end of a dead connection.
    fn keep_alive(&mut self, now: Instant) -> Result<(), Failure> {
        match self.liveness.due(now) {
            Due::Nothing => Ok(()),
            Due::Ping => {
                self.write(&Packet::PingReq, now, true);
                self.liveness.pinged(now);
                self.asked = Some(now);
                Ok(())
            }
            Due::Dead(silent) => Err(Failure::Silent(silent)),
        }
    }

    /// Takes bytes read from the broker.
    #[must_use = "a failure ends the connection"]
    pub fn handle_bytes(&mut self, data: &[u8], now: Instant) -> Result<(), Failure> {
        self.reader.push(data);
        while let Some(incoming) = self.reader.next_packet().map_err(Failure::Read)? {
            match incoming {
                Incoming::Packet(packet) => self.handle_packet(packet, now)?,
                Incoming::Oversized { qos, pkid } => {
                    self.acknowledge(qos, pkid, now);
                    self.events.push_back(Event::Oversized);
                }
            }
        }
        let unanswered = !self.waiting.is_empty();
        self.liveness.read(now, unanswered);
        Ok(())
    }
}
