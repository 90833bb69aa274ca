//! What both simulators share: the seeded PRNG, the link model and the seed
//! ranges.

use std::time::Duration;

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
