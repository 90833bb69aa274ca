//! What both simulators share: the seeded PRNG, the link model, the frames
//! in flight on it, and the seed ranges.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// Small deterministic PRNG (xorshift64*), so failures replay from the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Link impairments, in percent per frame, and delays.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub drop: u64,
    pub duplicate: u64,
    /// Extra random delay up to this, which reorders frames.
    pub jitter: Duration,
    pub delay: Duration,
}

impl Link {
    /// True when frames can overtake each other.
    pub fn reorders(&self) -> bool {
        !self.jitter.is_zero()
    }
}

/// A perfect link with a LAN-like delay.
pub const CLEAN: Link = Link {
    drop: 0,
    duplicate: 0,
    jitter: Duration::ZERO,
    delay: Duration::from_micros(300),
};

/// `n` seeds from `base`; `SIM_SCALE=k` runs k times as many (soak runs).
pub fn seeds(base: u64, n: u64) -> std::ops::Range<u64> {
    let scale = std::env::var("SIM_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    base..base + n * scale
}

/// A frame on the wire: (arrival, tie-breaker, direction, payload).
type InFlight = (Instant, u64, bool, Vec<u8>);

/// Frames in flight on a [`Link`], in arrival order.
#[derive(Default)]
pub struct Wire {
    queue: BinaryHeap<Reverse<InFlight>>,
    sent: u64,
}

impl Wire {
    /// Puts `payload` on the link at `now`, travelling in direction `dir`;
    /// it may be lost only if `droppable`, and may be duplicated. Returns
    /// how many copies will arrive (0: lost).
    pub fn send(
        &mut self,
        rng: &mut Rng,
        link: &Link,
        now: Instant,
        dir: bool,
        payload: &[u8],
        droppable: bool,
    ) -> u32 {
        let copies = if droppable && rng.chance(link.drop) {
            0
        } else if rng.chance(link.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = link.jitter.as_micros() as u64;
            let at = now + link.delay + Duration::from_micros(rng.below(jitter + 1));
            self.sent += 1;
            self.queue
                .push(Reverse((at, self.sent, dir, payload.to_vec())));
        }
        copies
    }

    /// When the next frame arrives, if any is in flight.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((t, ..))| *t)
    }

    /// The next frame that has arrived by `now`: its direction and payload.
    pub fn pop_arrived(&mut self, now: Instant) -> Option<(bool, Vec<u8>)> {
        if self.next_arrival()? > now {
            return None;
        }
        let Reverse((_, _, dir, payload)) = self.queue.pop()?;
        Some((dir, payload))
    }
}
