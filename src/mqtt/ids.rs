//! Packet ids in use: a fixed bit set of all 65,536 (8 KiB), whatever the
//! broker does. An id is taken from the moment its packet is queued until
//! its last acknowledgement (PUBACK, PUBCOMP, SUBACK, UNSUBACK), so none is
//! ever reused while the broker may still answer for it, QoS 2 included.

use super::wire::PACKET_IDS;

const WORDS: usize = PACKET_IDS / 64;

/// A set of packet ids.
pub struct IdSet {
    bits: Box<[u64; WORDS]>,
    len: usize,
    /// Where the search for a free id starts: ids are handed out in a cycle.
    next: u16,
}

impl Default for IdSet {
    fn default() -> Self {
        IdSet {
            bits: Box::new([0; WORDS]),
            len: 0,
            next: 1,
        }
    }
}

impl IdSet {
    /// Whether `id` is in the set.
    pub fn contains(&self, id: u16) -> bool {
        self.bits[usize::from(id) / 64] & (1 << (id % 64)) != 0
    }

    /// Adds `id`; false if it was there already.
    pub fn insert(&mut self, id: u16) -> bool {
        if self.contains(id) {
            return false;
        }
        self.bits[usize::from(id) / 64] |= 1 << (id % 64);
        self.len += 1;
        true
    }

    /// Removes `id`; false if it was not there.
    pub fn remove(&mut self, id: u16) -> bool {
        if !self.contains(id) {
            return false;
        }
        self.bits[usize::from(id) / 64] &= !(1 << (id % 64));
        self.len -= 1;
        true
    }

    /// Ids in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes a free id (never 0), the next one after the last taken;
    /// `None` when all 65,535 are in use.
    pub fn take(&mut self) -> Option<u16> {
        for _ in 0..PACKET_IDS {
            let id = self.next;
            self.next = self.next.wrapping_add(1).max(1);
            if id != 0 && self.insert(id) {
                return Some(id);
            }
        }
        None
    }

    /// Empties the set (a new connection: a clean session forgets all ids).
    pub fn clear(&mut self) {
        self.bits.fill(0);
        self.len = 0;
    }
}
