//! When to send a PINGREQ and when a connection is dead. Sans-IO: told when
//! bytes are written and read, asked for the next deadline.
//!
//! Idle, the keep-alive rules: a PINGREQ after [`KEEP_ALIVE`] without
//! writing. With something unanswered, silence is suspicious much sooner: no
//! byte from the broker for max([`QUIET_RTTS`] round trips, [`QUIET_MIN`])
//! starts a PINGREQ; then no byte for max([`PING_WAIT_RTTS`] round trips,
//! [`PING_WAIT_MIN`]) ends the connection. A TCP connection whose path died
//! without a FIN or RST is so noticed within seconds while data is in
//! flight, instead of after one and a half keep-alive intervals.

use std::time::{Duration, Instant};

use super::wire::{KEEP_ALIVE, PING_WAIT_MIN, PING_WAIT_RTTS, QUIET_MIN, QUIET_RTTS};

/// What the deadline asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    /// Nothing yet.
    Nothing,
    /// Send a PINGREQ.
    Ping,
    /// The broker has been silent too long after a PINGREQ: for this long.
    Dead(Duration),
}

/// The liveness state of one connection.
#[derive(Debug)]
pub struct Liveness {
    last_write: Instant,
    last_read: Instant,
    /// Since when something has been waiting for an answer without a byte
    /// from the broker.
    waiting_since: Option<Instant>,
    /// When the outstanding PINGREQ was sent.
    ping: Option<Instant>,
    /// Smoothed round trip to the broker (CONNACK, PINGRESP, SUBACK).
    rtt: Option<Duration>,
}

impl Liveness {
    /// A connection that starts now.
    pub fn new(now: Instant) -> Liveness {
        Liveness {
            last_write: now,
            last_read: now,
            waiting_since: None,
            ping: None,
            rtt: None,
        }
    }

    /// Something was written. `expects_answer`: it is a packet the broker
    /// answers or the peer reacts to (not an acknowledgement).
    pub fn wrote(&mut self, now: Instant, expects_answer: bool) {
        self.last_write = now;
        if expects_answer && self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
    }

    /// Bytes arrived. `unanswered`: publishes or subscriptions are still
    /// not acknowledged, so the wait goes on from now.
    pub fn read(&mut self, now: Instant, unanswered: bool) {
        self.last_read = now;
        self.ping = None;
        self.waiting_since = unanswered.then_some(now);
    }

    /// A PINGREQ was queued.
    pub fn pinged(&mut self, now: Instant) {
        self.ping = Some(now);
        self.wrote(now, true);
    }

    /// A round trip measured from a request to its answer.
    pub fn sample(&mut self, rtt: Duration) {
        self.rtt = Some(match self.rtt {
            None => rtt,
            Some(old) => (old * 7 + rtt) / 8,
        });
    }

    /// The smoothed round trip, if one was measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// When [`Self::due`] next has something to say.
    pub fn deadline(&self) -> Instant {
        match (self.ping, self.waiting_since) {
            (Some(sent), _) => sent.max(self.last_read) + self.ping_wait(),
            (None, Some(since)) => (since + self.quiet()).min(self.last_write + KEEP_ALIVE),
            (None, None) => self.last_write + KEEP_ALIVE,
        }
    }

    /// What is due at `now`.
    pub fn due(&self, now: Instant) -> Due {
        if now < self.deadline() {
            return Due::Nothing;
        }
        match self.ping {
            Some(_) => Due::Dead(now.saturating_duration_since(self.last_read)),
            None => Due::Ping,
        }
    }

    fn quiet(&self) -> Duration {
        self.rtt
            .map_or(QUIET_MIN, |rtt| (rtt * QUIET_RTTS).max(QUIET_MIN))
    }

    fn ping_wait(&self) -> Duration {
        self.rtt.map_or(PING_WAIT_MIN, |rtt| {
            (rtt * PING_WAIT_RTTS).max(PING_WAIT_MIN)
        })
    }
}
