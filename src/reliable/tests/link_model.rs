//! A model of the links a side reaches the broker through, for the link
//! simulator: each side has an uplink and a downlink with a rate, a
//! one-way delay and a FIFO queue, shared by all of that side's sessions
//! (one broker connection per side, as in the program). The broker passes
//! every frame from one side's uplink to the other side's downlink, at
//! QoS 1 with at most its in-flight limit unacknowledged toward each side
//! (the PUBACKs go back through that side's uplink, behind its data).
//!
//! A link is a FIFO served at its rate: a frame put on it at `now` starts
//! when everything before it has been sent, takes `len / rate`, and
//! arrives `delay` later. Frames of one side never overtake each other.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

/// Bytes an MQTT PUBLISH adds to a frame on the wire (fixed header, topic
/// of about 50 bytes, packet id), counted against the link's rate.
pub const PUBLISH_OVERHEAD: usize = 60;

/// One direction of one side's access link.
#[derive(Debug, Clone)]
pub struct Pipe {
    /// Bytes per second; 0: no limit.
    rate: u64,
    delay: Duration,
    /// When the last frame queued will have been sent.
    free_at: Instant,
}

impl Pipe {
    pub fn new(rate: u64, delay: Duration, t0: Instant) -> Pipe {
        Pipe {
            rate,
            delay,
            free_at: t0,
        }
    }

    /// Queues `len` bytes at `now`; returns when they arrive.
    pub fn carry(&mut self, now: Instant, len: usize) -> Instant {
        let start = self.free_at.max(now);
        let send = if self.rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(len as f64 / self.rate as f64)
        };
        self.free_at = start + send;
        self.free_at + self.delay
    }

    /// How long a frame queued now waits before it starts.
    pub fn backlog(&self, now: Instant) -> Duration {
        self.free_at.saturating_duration_since(now)
    }
}

/// The shape of every access link, and the broker's in-flight limit.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Bytes per second of every uplink and downlink; 0: no limit.
    pub rate: u64,
    /// One-way delay of every hop (side to broker, broker to side).
    pub hop: Duration,
    /// Publishes the broker has in flight toward a side before it waits for
    /// that side's PUBACKs (QoS 1; mosquitto's `max_inflight_messages`,
    /// default 20); 0: none (QoS 0).
    pub broker_inflight: usize,
}

/// Bytes of a PUBACK on the wire.
const PUBACK_LEN: usize = 4;

/// What happens next on the network.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A frame of `pair` from side `from` reached the broker.
    AtBroker {
        from: usize,
        pair: usize,
        payload: Vec<u8>,
    },
    /// A frame of `pair` reached side `to`.
    AtSide {
        to: usize,
        pair: usize,
        payload: Vec<u8>,
    },
    /// Side `from`'s PUBACK reached the broker.
    Puback { from: usize },
}

/// Both sides' access links and the broker between them.
#[derive(Debug)]
pub struct Network {
    shape: Shape,
    /// Per side (0: client side, 1: server side): toward the broker.
    up: [Pipe; 2],
    /// Per side: from the broker.
    down: [Pipe; 2],
    /// Per destination side: frames the broker holds for its in-flight
    /// limit, and how many it has in flight.
    held: [VecDeque<(usize, Vec<u8>)>; 2],
    inflight: [usize; 2],
    events: BinaryHeap<Reverse<(Instant, u64, Event)>>,
    seq: u64,
}

impl Network {
    pub fn new(shape: Shape, t0: Instant) -> Network {
        let pipe = Pipe::new(shape.rate, shape.hop, t0);
        Network {
            shape,
            up: [pipe.clone(), pipe.clone()],
            down: [pipe.clone(), pipe],
            held: [VecDeque::new(), VecDeque::new()],
            inflight: [0; 2],
            events: BinaryHeap::new(),
            seq: 0,
        }
    }

    fn push(&mut self, at: Instant, event: Event) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, event)));
    }

    /// Side `from` publishes `payload` of session `pair` at `now`.
    pub fn send(&mut self, from: usize, now: Instant, pair: usize, payload: Vec<u8>) {
        let at = self.up[from].carry(now, payload.len() + PUBLISH_OVERHEAD);
        self.push(
            at,
            Event::AtBroker {
                from,
                pair,
                payload,
            },
        );
    }

    /// When the next thing happens.
    pub fn next_event(&self) -> Option<Instant> {
        self.events.peek().map(|Reverse((t, ..))| *t)
    }

    /// The next frame delivered to a side by `now`, as (pair, side,
    /// payload), after what the broker does meanwhile.
    pub fn pop_delivered(&mut self, now: Instant) -> Option<(usize, usize, Vec<u8>)> {
        while self.next_event()? <= now {
            let Reverse((at, _, event)) = self.events.pop()?;
            match event {
                Event::AtBroker {
                    from,
                    pair,
                    payload,
                } => {
                    self.held[1 - from].push_back((pair, payload));
                    self.release(1 - from, at);
                }
                Event::Puback { from } => {
                    self.inflight[from] = self.inflight[from].saturating_sub(1);
                    self.release(from, at);
                }
                Event::AtSide { to, pair, payload } => {
                    if self.shape.broker_inflight > 0 {
                        let back = self.up[to].carry(at, PUBACK_LEN);
                        self.push(back, Event::Puback { from: to });
                    }
                    return Some((pair, to, payload));
                }
            }
        }
        None
    }

    /// Sends what the broker holds for side `to` as its limit allows.
    fn release(&mut self, to: usize, now: Instant) {
        let limit = self.shape.broker_inflight;
        while limit == 0 || self.inflight[to] < limit {
            let Some((pair, payload)) = self.held[to].pop_front() else {
                return;
            };
            self.inflight[to] += 1;
            let at = self.down[to].carry(now, payload.len() + PUBLISH_OVERHEAD);
            self.push(at, Event::AtSide { to, pair, payload });
        }
    }

    /// How long a frame queued now on each side's uplink and downlink
    /// waits before it starts.
    pub fn backlogs(&self, now: Instant) -> [[Duration; 2]; 2] {
        [0, 1].map(|side| [self.up[side].backlog(now), self.down[side].backlog(now)])
    }
}
