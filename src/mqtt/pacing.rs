//! Pacing of everything a process publishes, within a broker's quotas
//! (`--mqtt-max-rate` publishes per second, `--mqtt-max-bandwidth` bytes
//! per second): one token bucket per cap. A bucket holds at most a tenth of
//! a second of its cap (at least one publish) and refills at the cap less
//! that burst, so that no window of one second ever carries more than the
//! cap: the burst plus a second of refill. Frames are cut to fit the
//! bandwidth cap's burst ([`frame_cap`]). Sans-IO: every call takes `now`.

use std::time::{Duration, Instant};

/// What a cap allows at once: a tenth of a second of it.
const BURST_SHARE: f64 = 0.1;
/// Kept below the cap: what reaches the broker may bunch up by a few
/// milliseconds on the way.
const MARGIN: f64 = 0.02;

/// One cap.
#[derive(Debug, Clone)]
struct Bucket {
    /// Tokens added per second.
    refill: f64,
    /// The most tokens held.
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A bucket for `cap` units per second, none costing more than a tenth
    /// of it (or one unit).
    fn new(cap: f64, unit: f64, now: Instant) -> Bucket {
        let burst = (cap * BURST_SHARE).max(unit);
        // At most one publish a second: a burst of one, and one more only
        // two seconds later.
        let refill = if cap - burst >= cap * 0.5 {
            cap * (1.0 - MARGIN) - burst
        } else {
            cap * 0.5
        };
        Bucket {
            refill,
            burst,
            tokens: burst,
            at: now,
        }
    }

    fn fill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.refill).min(self.burst);
        self.at = self.at.max(now);
    }

    /// When `cost` tokens are there (now, if they are).
    fn ready_at(&mut self, cost: f64, now: Instant) -> Instant {
        self.fill(now);
        let missing = cost.min(self.burst) - self.tokens;
        if missing <= 0.0 {
            now
        } else {
            now + Duration::from_secs_f64(missing / self.refill)
        }
    }

    fn take(&mut self, cost: f64, now: Instant) {
        self.fill(now);
        self.tokens -= cost.min(self.burst);
    }
}

/// The process's publishing caps.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    publishes: Option<Bucket>,
    bytes: Option<Bucket>,
}

/// The caps to keep: publishes and bytes (of PUBLISH packets) per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub publishes: Option<u32>,
    pub bytes: Option<u64>,
}

impl Pacer {
    /// Paces within `caps`.
    pub fn new(caps: Caps, now: Instant) -> Pacer {
        Pacer {
            publishes: caps.publishes.map(|n| Bucket::new(f64::from(n), 1.0, now)),
            bytes: caps.bytes.map(|n| Bucket::new(n as f64, 1.0, now)),
        }
    }

    /// When a PUBLISH packet of `len` bytes may go (now, if it may).
    pub fn ready_at(&mut self, len: usize, now: Instant) -> Instant {
        let mut at = now;
        if let Some(b) = &mut self.publishes {
            at = at.max(b.ready_at(1.0, now));
        }
        if let Some(b) = &mut self.bytes {
            at = at.max(b.ready_at(len as f64, now));
        }
        at
    }

    /// A PUBLISH packet of `len` bytes went at `now`.
    pub fn sent(&mut self, len: usize, now: Instant) {
        if let Some(b) = &mut self.publishes {
            b.take(1.0, now);
        }
        if let Some(b) = &mut self.bytes {
            b.take(len as f64, now);
        }
    }
}

/// Bytes of a PUBLISH packet beyond its frame (header, topic, packet id;
/// a sealed frame's own overhead), counted against the bandwidth cap.
pub const PUBLISH_OVERHEAD: usize = 300;

/// The largest frame's stream bytes under a bandwidth cap of `bytes` per
/// second: a PUBLISH within the bucket's burst.
pub fn frame_cap(bytes: u64) -> usize {
    let burst = (bytes as f64 * BURST_SHARE) as usize;
    burst.saturating_sub(PUBLISH_OVERHEAD)
}
