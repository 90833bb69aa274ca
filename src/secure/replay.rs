//! Anti-replay state of one receiving key: which counters were seen.

/// Counters this far behind the newest one seen are still accepted once
/// (the broker may reorder a little); older ones are dropped as replays.
const REPLAY_WINDOW: u64 = 128;

/// Anti-replay state of one key: the newest counter and which of the
/// [`REPLAY_WINDOW`] before it were seen.
#[derive(Debug, Default)]
pub(super) struct ReplayWindow {
    newest: Option<u64>,
    /// Bit i: counter `newest - i` was seen.
    seen: u128,
}

impl ReplayWindow {
    pub(super) fn is_fresh(&self, n: u64) -> bool {
        match self.newest {
            None => true,
            Some(top) if n > top => true,
            Some(top) => top - n < REPLAY_WINDOW && self.seen & (1u128 << (top - n)) == 0,
        }
    }

    /// Marks `n` seen (after it was authenticated).
    pub(super) fn mark(&mut self, n: u64) {
        match self.newest {
            Some(top) if n <= top => self.seen |= 1u128 << (top - n),
            Some(top) => {
                let shift = n - top;
                self.seen = if shift >= REPLAY_WINDOW {
                    0
                } else {
                    self.seen << shift
                } | 1;
                self.newest = Some(n);
            }
            None => {
                self.seen = 1;
                self.newest = Some(n);
            }
        }
    }
}
