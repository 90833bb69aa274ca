//! One connection to the broker, driven: the socket is read into the MQTT
//! client, the client's bytes are written to the socket, requests are
//! taken from the publishers' queue while the client has room, and the
//! client's events become reports to the routers. One poll function owns
//! the socket, so reading and writing never wait on each other.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use smol::channel::{Receiver, Sender};
use smol::io::{AsyncRead, AsyncWrite};
use smol::stream::Stream;
use smol::Timer;

use super::broker_error::ConnectionError;
use super::failover::Failover;
use super::mqtt::{Inbound, Request};
use super::probe::{Probe, Verdict};
use super::reconnect::Reconnect;
use super::transport::{Transport, UNSENT_LIMIT};
use crate::mqtt::pacing::Pacer;
use crate::mqtt::{Busy, Client, Event};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Rounds of work before the task lets the executor's other tasks run.
const BUDGET: usize = 32;
/// Bytes waiting to be written beyond which the connection stops reading:
/// what it reads makes acknowledgements to write, and a broker that sends
/// but does not read must not grow them without bound.
const READ_GATE: usize = 4 * UNSENT_LIMIT;

/// The connection's ends toward the rest of the program.
pub struct Links {
    pub requests: Pin<Box<Receiver<Request>>>,
    /// Taken first: subscriptions, and the small data frames of sessions
    /// that publish in turn (keystrokes: see `Broker::publish_in_turn`).
    pub urgent: Pin<Box<Receiver<Request>>>,
    pub inbound: Sender<Inbound>,
}

/// What a connection borrows from the task that outlives it.
pub struct Shared<'a> {
    pub probe: &'a mut Probing,
    pub endpoint: &'a str,
    pub reconnect: &'a mut Reconnect,
    pub pacer: &'a mut Pacer,
    /// Which node of the list this connection is to, and the others'
    /// endpoints (for the line of a switch).
    pub failover: &'a mut Failover,
    pub endpoints: &'a [String],
}

/// The frame-size probing: its topic, state and the last verdict said.
pub type Probing = Option<(String, Probe, Option<Verdict>)>;

/// A report waiting for room in the channel toward the routers.
type Sending<'a> = Pin<Box<dyn Future<Output = bool> + 'a>>;

/// The state of one connection, borrowed from the connection's task.
pub struct Connection<'a> {
    stream: Transport,
    client: &'a mut Client,
    links: &'a mut Links,
    probe: &'a mut Probing,
    endpoint: &'a str,
    reconnect: &'a mut Reconnect,
    failover: &'a mut Failover,
    endpoints: &'a [String],
    /// The publishing caps, across connections.
    pacer: &'a mut Pacer,
    /// No publish before this (a cap is reached).
    paced_until: Option<Instant>,
    /// CONNACK came.
    up: bool,
    reports: VecDeque<Inbound>,
    sending: Option<Sending<'a>>,
    /// This side's own publishes (the probes), ahead of the requests.
    own: VecDeque<(String, Vec<u8>)>,
    /// A request the client could not take yet.
    held: Option<Request>,
    /// The same, from the urgent queue (taken before `held`).
    held_urgent: Option<Request>,
    /// The last request taken was urgent.
    urgent_last: bool,
    /// No more requests: DISCONNECT is queued.
    closing: bool,
    timer: Timer,
    armed: Option<Instant>,
    buf: Box<[u8]>,
    /// Written since the socket last said it had room.
    since_writable: usize,
    unflushed: bool,
    said_too_large: bool,
}

impl<'a> Connection<'a> {
    pub fn new(
        stream: Transport,
        client: &'a mut Client,
        links: &'a mut Links,
        shared: Shared<'a>,
    ) -> Connection<'a> {
        Connection {
            stream,
            client,
            links,
            probe: shared.probe,
            endpoint: shared.endpoint,
            reconnect: shared.reconnect,
            failover: shared.failover,
            endpoints: shared.endpoints,
            pacer: shared.pacer,
            paced_until: None,
            up: false,
            reports: VecDeque::new(),
            sending: None,
            own: VecDeque::new(),
            held: None,
            held_urgent: None,
            urgent_last: false,
            closing: false,
            timer: Timer::never(),
            armed: None,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            since_writable: 0,
            unflushed: false,
            said_too_large: false,
        }
    }

    /// Drives the connection until the graceful stop (`Ok`) or a failure,
    /// with whether CONNACK had come.
    pub async fn run(&mut self) -> Result<(), (ConnectionError, bool)> {
        let result = std::future::poll_fn(|cx| self.poll(cx)).await;
        result.map_err(|e| (e, self.up))
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectionError>> {
        for _ in 0..BUDGET {
            let now = Instant::now();
            if !self.poll_reports(cx) {
                // The routers are gone: nothing is left to do.
                return Poll::Ready(Ok(()));
            }
            let mut progress = self.take_events(now);
            let gate = self.client.transmit().len() < READ_GATE;
            if gate && self.reports.is_empty() && self.sending.is_none() {
                progress |= self.poll_read(cx, now)?;
            }
            progress |= self.take_requests(cx, now);
            progress |= self.poll_write(cx)?;
            if self.client.is_closed() && !self.unflushed {
                return Poll::Ready(Ok(()));
            }
            progress |= self.poll_timer(cx)?;
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Hands reports to the routers; false once they are gone.
    fn poll_reports(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if let Some(sending) = self.sending.as_mut() {
                match sending.as_mut().poll(cx) {
                    Poll::Ready(true) => self.sending = None,
                    Poll::Ready(false) => return false,
                    Poll::Pending => return true,
                }
            }
            let Some(report) = self.reports.pop_front() else {
                return true;
            };
            match self.links.inbound.try_send(report) {
                Ok(()) => {}
                Err(smol::channel::TrySendError::Full(report)) => {
                    let tx = self.links.inbound.clone();
                    self.sending = Some(Box::pin(async move { tx.send(report).await.is_ok() }));
                }
                Err(smol::channel::TrySendError::Closed(_)) => return false,
            }
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, now: Instant) -> Result<bool, ConnectionError> {
        match Pin::new(&mut self.stream).poll_read(cx, &mut self.buf) {
            Poll::Ready(Ok(0)) => Err(ConnectionError::Closed),
            Poll::Ready(Ok(n)) => {
                let result = self.client.handle_bytes(&self.buf[..n], now);
                result.map_err(ConnectionError::Mqtt)?;
                Ok(true)
            }
            Poll::Ready(Err(e)) => Err(ConnectionError::Io(e)),
            Poll::Pending => Ok(false),
        }
    }

    /// Turns the client's events into reports.
    fn take_events(&mut self, now: Instant) -> bool {
        let mut oversized = 0;
        let mut any = false;
        while let Some(event) = self.client.poll_event() {
            any = true;
            match event {
                Event::Connected => self.connected(now),
                Event::Message(p) => match self.probe.as_mut() {
                    Some((topic, probe, last)) if *topic == p.topic => {
                        if let Some(verdict) = probe.echoed(&p.payload, p.retain) {
                            self.reports.push_back(report_verdict(verdict, last));
                        }
                    }
                    _ => self.reports.push_back(Inbound::Message(p)),
                },
                Event::Oversized => oversized += 1,
                Event::SubscribeRefused(topics) => log::error!(
                    "the broker refused the subscription to {}: check its ACL for this \
                     client (user name, client id)",
                    topics.join(", ")
                ),
                Event::Qos2Unanswered(waited) => log::error!(
                    "the broker has acknowledged no QoS 2 publish or subscription for {} s \
                     although it answers pings: it does not support QoS 2 (AWS IoT Core and \
                     Azure Event Grid do not); use --mqtt-qos 1",
                    waited.as_secs()
                ),
            }
        }
        if oversized > 0 {
            self.reports.push_back(Inbound::Oversized(oversized));
        }
        any
    }

    fn connected(&mut self, now: Instant) {
        self.up = true;
        let loud = self.reconnect.connected(now);
        if let Some(previous) = self.failover.connected() {
            let from = self.endpoints.get(previous).map_or("", String::as_str);
            log::info!("switched to broker node {} (from {from})", self.endpoint);
        } else if loud {
            log::info!("connected to broker {}", self.endpoint);
        } else {
            log::debug!("connected to broker {}", self.endpoint);
        }
        self.reports.push_back(Inbound::Up);
        if let Some((topic, probe, _)) = self.probe.as_mut() {
            for payload in probe.start(now) {
                self.own.push_back((topic.clone(), payload));
            }
        }
    }

    /// Takes requests while the client has room for them.
    fn take_requests(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut any = false;
        while !self.closing && self.client.can_publish() && !self.paced(now) {
            if let Some((topic, payload)) = self.own.pop_front() {
                let len = packet_len(&topic, payload.len());
                if !self.pace(len, now) {
                    self.own.push_front((topic, payload));
                    break;
                }
                if self
                    .client
                    .publish(topic.clone(), payload.clone().into(), false, now)
                    .is_err()
                {
                    self.own.push_front((topic, payload));
                    break;
                }
                self.pacer.sent(len, now);
                any = true;
                continue;
            }
            // Urgent requests first, even ahead of one held for the pacer;
            // but not twice in a row while one is held (a session that
            // sends small frames without end cannot starve the others).
            let yield_turn = self.urgent_last && self.held.is_some();
            let urgent_next = if yield_turn {
                None
            } else {
                match self.held_urgent.take() {
                    Some(request) => Some(request),
                    None => match self.links.urgent.as_mut().poll_next(cx) {
                        Poll::Ready(Some(request)) => Some(request),
                        Poll::Ready(None) | Poll::Pending => None,
                    },
                }
            };
            let (request, urgent) = match urgent_next {
                Some(request) => (request, true),
                None => match self.held.take() {
                    Some(request) => (request, false),
                    None => match self.links.requests.as_mut().poll_next(cx) {
                        Poll::Ready(Some(request)) => (request, false),
                        Poll::Ready(None) => (Request::Disconnect, false),
                        Poll::Pending => break,
                    },
                },
            };
            any = true;
            let taken = self.apply(request, now);
            if taken.is_ok() {
                self.urgent_last = urgent;
            }
            if let Err(request) = taken {
                if urgent {
                    self.held_urgent = Some(request);
                } else {
                    self.held = Some(request);
                }
                break;
            }
        }
        any
    }

    /// Hands `request` to the client; gives it back if it must wait.
    fn apply(&mut self, request: Request, now: Instant) -> Result<(), Request> {
        match request {
            Request::Publish(publish) => {
                let len = packet_len(&publish.topic, publish.payload.len());
                if !self.pace(len, now) {
                    return Err(Request::Publish(publish));
                }
                let (topic, payload) = (publish.topic.clone(), publish.payload.clone());
                match self.client.publish(topic, payload, publish.retain, now) {
                    Ok(()) => self.pacer.sent(len, now),
                    Err(Busy::Later) => return Err(Request::Publish(publish)),
                    Err(Busy::TooLarge) => {
                        if !std::mem::replace(&mut self.said_too_large, true) {
                            log::warn!(
                                "dropped a publish of {} bytes on {}: over the MQTT \
                                 packet limit (said once per connection)",
                                publish.payload.len(),
                                publish.topic
                            );
                        }
                    }
                }
                // Dropping `publish` tells its session (see PublishRequest).
            }
            Request::Subscribe(topic) => self.client.subscribe(topic, now),
            Request::Unsubscribe(topic) => self.client.unsubscribe(&topic, now),
            Request::Disconnect => {
                self.client.disconnect(now);
                self.closing = true;
            }
        }
        Ok(())
    }

    /// True while a cap holds publishing back.
    fn paced(&self, now: Instant) -> bool {
        self.paced_until.is_some_and(|until| now < until)
    }

    /// True if a PUBLISH of `len` bytes may go now; else the connection
    /// waits until it may ([`Self::poll_timer`]).
    fn pace(&mut self, len: usize, now: Instant) -> bool {
        let at = self.pacer.ready_at(len, now);
        if at > now {
            self.paced_until = Some(at);
            return false;
        }
        self.paced_until = None;
        true
    }

    /// Writes what the client has queued, at most [`UNSENT_LIMIT`] bytes
    /// beyond what the kernel has sent.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<bool, ConnectionError> {
        let mut any = false;
        while !self.client.transmit().is_empty() {
            if self.since_writable >= UNSENT_LIMIT {
                match self.stream.poll_writable(cx) {
                    Poll::Ready(Ok(())) => self.since_writable = 0,
                    Poll::Ready(Err(e)) => return Err(ConnectionError::Io(e)),
                    Poll::Pending => return Ok(any),
                }
            }
            let out = self.client.transmit();
            let chunk = &out[..out.len().min(UNSENT_LIMIT)];
            match Pin::new(&mut self.stream).poll_write(cx, chunk) {
                Poll::Ready(Ok(0)) => return Err(ConnectionError::Closed),
                Poll::Ready(Ok(n)) => {
                    self.client.written(n);
                    self.since_writable += n;
                    self.unflushed = true;
                    any = true;
                }
                Poll::Ready(Err(e)) => return Err(ConnectionError::Io(e)),
                Poll::Pending => return Ok(any),
            }
        }
        if self.unflushed {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Err(ConnectionError::Io(e)),
                Poll::Pending => {}
            }
        }
        Ok(any)
    }

    /// Fires the client's and the probe's deadlines.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Result<bool, ConnectionError> {
        let probe = self.probe.as_ref().and_then(|(_, p, _)| p.deadline());
        let deadline = [self.client.poll_timeout(), probe, self.paced_until]
            .into_iter()
            .flatten()
            .min();
        let Some(deadline) = deadline else {
            return Ok(false);
        };
        // Deadlines mostly move later (every write moves the keep-alive):
        // the timer is re-armed only for an earlier one, and a timer that
        // fires early finds nothing due and is armed again.
        if self.armed.is_none_or(|armed| deadline < armed) {
            self.timer.set_at(deadline);
            self.armed = Some(deadline);
        }
        if Pin::new(&mut self.timer).poll(cx).is_pending() {
            return Ok(false);
        }
        self.armed = None;
        let now = Instant::now();
        self.client
            .handle_timeout(now)
            .map_err(ConnectionError::Mqtt)?;
        if let Some((_, probe, last)) = self.probe.as_mut() {
            if let Some(verdict) = probe.tick(now) {
                self.reports.push_back(report_verdict(verdict, last));
            }
        }
        Ok(true)
    }
}

/// Tells the user what changed, and gives the routers the frame size to
/// use.
fn report_verdict(verdict: Verdict, last: &mut Option<Verdict>) -> Inbound {
    let size = match verdict {
        Verdict::Found(s) | Verdict::NoAnswer(s) => s,
    };
    if *last != Some(verdict) {
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
    Inbound::FrameLimit(size)
}

/// The bytes of a PUBLISH packet carrying `payload` bytes on `topic` (what
/// the bandwidth cap counts): fixed header, topic, packet id, payload.
fn packet_len(topic: &str, payload: usize) -> usize {
    5 + 2 + topic.len() + 2 + payload
}
