//! A delay-based window (after LEDBAT, RFC 6817): how many stream bytes a
//! session may have in flight toward a peer of this program. It keeps the
//! path's queues short, so that an interactive session sharing a slow
//! uplink with a bulk transfer does not wait behind a second of its frames,
//! and it grows toward the path's bandwidth-delay product where the path
//! has room.
//!
//! The signal is the round trip through the broker measured on
//! acknowledgements: its minimum over a long history is the path's base
//! delay; what a recent sample has above it is queueing. Below a small
//! [`TARGET`] of queueing the window grows (fast while there is no queue to
//! speak of, then by about one frame per round trip), above it the window
//! shrinks in proportion to the excess; a loss halves it at most once per
//! round trip. Sans-IO: every call takes `now`.

use std::time::{Duration, Instant};

/// Queueing delay the window aims at. Two sides' windows share one round
/// trip (the data one way, its acknowledgements and the echo the other), so
/// an interactive frame waits about this long behind them in all; on a
/// 25 ms-per-hop path (100 ms round trip) that is a fifth of the idle
/// round trip. LEDBAT allows up to 100 ms; less keeps typing responsive.
pub const TARGET: Duration = Duration::from_millis(25);
/// Below this much queueing the path has room to spare: the window grows
/// by what is acknowledged (doubling per round trip, as a slow start).
const NO_QUEUE: Duration = Duration::from_millis(4);
/// How much of the excess over [`TARGET`] one round trip of
/// acknowledgements takes out of the window. Less than all of it: the
/// samples lag the window by a round trip, and a full correction would
/// overshoot into an idle link.
const DAMPING: f64 = 0.5;
/// The base delay is the minimum over this many periods (RFC 6817
/// BASE_HISTORY: 10 minutes), so that a route that got longer is learnt
/// within that time while a standing queue never passes for the base.
const BASE_PERIODS: usize = 10;
/// One period of the base-delay history.
const BASE_PERIOD: Duration = Duration::from_secs(60);
/// Recent samples whose minimum is the current delay (RFC 6817
/// CURRENT_FILTER): one late acknowledgement is not a queue.
const CURRENT_FILTER: usize = 4;

/// The minimum of round trips over a long history: [`BASE_PERIODS`]
/// periods of [`BASE_PERIOD`], newest last.
#[derive(Debug, Clone, Copy, Default)]
pub struct BaseHistory {
    periods: [Option<Duration>; BASE_PERIODS],
    /// When the newest period started.
    start: Option<Instant>,
}

impl BaseHistory {
    /// Takes a round trip measured at `now`.
    pub fn record(&mut self, rtt: Duration, now: Instant) {
        let start = *self.start.get_or_insert(now);
        if now.saturating_duration_since(start) >= BASE_PERIOD {
            self.periods.rotate_left(1);
            self.periods[BASE_PERIODS - 1] = None;
            self.start = Some(now);
        }
        let newest = &mut self.periods[BASE_PERIODS - 1];
        *newest = Some(newest.map_or(rtt, |b| b.min(rtt)));
    }

    /// The minimum, if anything was recorded.
    pub fn min(&self) -> Option<Duration> {
        self.periods.iter().flatten().min().copied()
    }
}

/// The window of one direction of one session, in stream bytes.
#[derive(Debug, Clone)]
pub struct DelayWindow {
    cwnd: usize,
    base: BaseHistory,
    /// The base delay of the other sessions on the same path (see
    /// [`Self::set_shared_base`]).
    shared_base: Option<Duration>,
    current: [Duration; CURRENT_FILTER],
    samples: usize,
    /// No reduction for a loss before this (one per round trip).
    loss_hold: Option<Instant>,
}

impl DelayWindow {
    /// A window of `initial` bytes.
    pub fn new(initial: usize) -> DelayWindow {
        DelayWindow {
            cwnd: initial,
            base: BaseHistory::default(),
            shared_base: None,
            current: [Duration::ZERO; CURRENT_FILTER],
            samples: 0,
            loss_hold: None,
        }
    }

    /// Bytes that may be in flight now, within `[floor, cap]`.
    pub fn window(&self, floor: usize, cap: usize) -> usize {
        self.cwnd.clamp(floor.min(cap), cap)
    }

    /// The queueing delay seen now: the recent minimum above the base.
    pub fn queueing(&self) -> Option<Duration> {
        Some(self.recent()?.saturating_sub(self.base_delay()?))
    }

    /// The recent round trip: the minimum of the last few samples.
    pub fn recent(&self) -> Option<Duration> {
        self.current[..self.samples.min(CURRENT_FILTER)]
            .iter()
            .min()
            .copied()
    }

    /// The path's base delay: the lowest this session or the others on
    /// its path measured.
    pub fn base_delay(&self) -> Option<Duration> {
        let own = self.base.min()?;
        Some(self.shared_base.map_or(own, |shared| shared.min(own)))
    }

    /// This session's own base delay, for the process's shared one.
    pub fn own_base(&self) -> Option<Duration> {
        self.base.min()
    }

    /// Sets the base delay the sessions on the same path (between the same
    /// two processes) measured together. A session that starts while others
    /// keep a queue standing measures its own base on top of that queue
    /// (LEDBAT's latecomer problem): alone, it would keep a queue of its own
    /// above theirs and starve them.
    pub fn set_shared_base(&mut self, base: Option<Duration>) {
        self.shared_base = base;
    }

    /// Raises the window to `bytes` if it is smaller (a session starting on
    /// a path known to be short).
    pub fn start_at(&mut self, bytes: usize) {
        self.cwnd = self.cwnd.max(bytes);
    }

    /// A round trip measured outside the acknowledgements (the opening
    /// frame's answer).
    pub fn sample(&mut self, rtt: Duration, now: Instant) {
        self.record(rtt, now);
    }

    fn record(&mut self, rtt: Duration, now: Instant) {
        self.current[self.samples % CURRENT_FILTER] = rtt;
        self.samples += 1;
        self.base.record(rtt, now);
    }

    /// Bytes were acknowledged (see [`Ack`]). The window grows only while
    /// it is what limits the sender: an idle session's window says nothing
    /// about the path.
    pub fn on_ack(&mut self, ack: Ack, now: Instant) {
        if let Some(rtt) = ack.rtt {
            self.record(rtt, now);
        }
        let Some(queueing) = self.queueing() else {
            return;
        };
        let queueing = queueing.saturating_sub(ack.allowance);
        let acked = ack.bytes as f64;
        let cwnd = self.cwnd.max(1) as f64;
        let next = if queueing <= NO_QUEUE {
            if !ack.limited {
                return;
            }
            cwnd + acked
        } else if queueing < TARGET {
            if !ack.limited {
                return;
            }
            let off = (TARGET - queueing).as_secs_f64() / TARGET.as_secs_f64();
            cwnd + off * acked * ack.unit as f64 / cwnd
        } else {
            let base = self.base_delay().unwrap_or_default();
            let excess = (queueing - TARGET).as_secs_f64();
            let whole = (base + queueing).as_secs_f64().max(1e-6);
            cwnd - DAMPING * acked * excess / whole
        };
        self.cwnd = (next.max(0.0) as usize).clamp(ack.floor.min(ack.cap), ack.cap);
    }

    /// A frame was lost (a gap reported, or the retransmission timer): the
    /// window halves, once per round trip `srtt`.
    pub fn on_loss(&mut self, floor: usize, srtt: Duration, now: Instant) {
        if self.loss_hold.is_some_and(|until| now < until) {
            return;
        }
        self.loss_hold = Some(now + srtt);
        self.cwnd = (self.cwnd / 2).max(floor);
    }
}

/// What one acknowledgement tells the window.
#[derive(Debug, Clone, Copy)]
pub struct Ack {
    /// Stream bytes newly acknowledged.
    pub bytes: usize,
    /// The round trip of the newest frame acknowledged, if it may be
    /// sampled (sent once, not behind a retransmission).
    pub rtt: Option<Duration>,
    /// The window, not the application, limited what was in flight.
    pub limited: bool,
    /// One frame's worth of stream bytes now.
    pub unit: usize,
    /// The smallest window allowed.
    pub floor: usize,
    /// The largest window allowed.
    pub cap: usize,
    /// Delay above the base that is not queueing: the path's base is
    /// measured on small frames, and a full frame takes its own time to
    /// cross each link (store and forward), and so does the frame that
    /// carries the echo back.
    pub allowance: Duration,
}
