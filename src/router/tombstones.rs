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
