//! A model of the links a side reaches the broker through, for the link
//! simulator: each side has an uplink and a downlink with a rate, a
//! one-way delay and a FIFO queue, shared by all of that side's sessions
//! (one broker connection per side, as in the program). The broker passes
//! every frame from one side's uplink to the other side's downlink.
//!
//! A link is a FIFO served at its rate: a frame put on it at `now` starts
//! when everything before it has been sent, takes `len / rate`, and
//! arrives `delay` later. Frames of one side never overtake each other.

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
    /// Bytes carried (frames and their overhead).
    pub carried: u64,
}

impl Pipe {
    pub fn new(rate: u64, delay: Duration, t0: Instant) -> Pipe {
        Pipe {
            rate,
            delay,
            free_at: t0,
            carried: 0,
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
        self.carried += len as u64;
        self.free_at + self.delay
    }

    /// How long a frame queued now waits before it starts.
    pub fn backlog(&self, now: Instant) -> Duration {
        self.free_at.saturating_duration_since(now)
    }
}

/// Both sides' access links.
#[derive(Debug, Clone)]
pub struct Path {
    /// Per side (0: client side, 1: server side): toward the broker.
    pub up: [Pipe; 2],
    /// Per side: from the broker.
    pub down: [Pipe; 2],
}

/// The shape of every access link of a [`Path`].
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Bytes per second of every uplink and downlink; 0: no limit.
    pub rate: u64,
    /// One-way delay of every hop (side to broker, broker to side).
    pub hop: Duration,
}

impl Path {
    pub fn new(shape: Shape, t0: Instant) -> Path {
        let pipe = Pipe::new(shape.rate, shape.hop, t0);
        Path {
            up: [pipe.clone(), pipe.clone()],
            down: [pipe.clone(), pipe],
        }
    }

    /// Sends a frame of `len` bytes from side `from` at `now` through the
    /// broker to the other side; returns when it arrives there.
    pub fn send(&mut self, from: usize, now: Instant, len: usize) -> Instant {
        let len = len + PUBLISH_OVERHEAD;
        let at_broker = self.up[from].carry(now, len);
        self.down[1 - from].carry(at_broker, len)
    }
}
