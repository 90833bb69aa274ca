//! Ids of sessions that ended, so that late frames never recreate them.

use std::collections::{HashSet, VecDeque};

use crate::protocol::topic::SessionId;

/// How many ended session ids are remembered: the C original's figure.
pub const REMEMBERED: usize = 10_000;

/// A bounded set of ended session ids; the oldest is forgotten first.
#[derive(Debug, Default)]
pub struct Tombstones {
    order: VecDeque<SessionId>,
    set: HashSet<SessionId>,
}

impl Tombstones {
    /// Remembers `id` as ended.
    pub fn bury(&mut self, id: SessionId) {
        if self.set.insert(id) {
            self.order.push_back(id);
            if self.order.len() > REMEMBERED {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    /// True if `id` ended recently.
    pub fn contains(&self, id: &SessionId) -> bool {
        self.set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_ids_are_forgotten_first() {
        let mut t = Tombstones::default();
        let id = |n: u32| {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&n.to_le_bytes());
            SessionId::from_random(b)
        };
        for n in 0..=REMEMBERED as u32 {
            t.bury(id(n));
        }
        assert!(!t.contains(&id(0)));
        assert!(t.contains(&id(1)));
        assert!(t.contains(&id(REMEMBERED as u32)));
    }
}
