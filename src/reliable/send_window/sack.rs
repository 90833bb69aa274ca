//! Recovery from selective acknowledgements (`protocol::sack`): a frame
//! the peer does not hold is lost once a frame put on the wire after it
//! has arrived (the broker keeps one topic's frames in order, so no
//! reordering allowance is needed: RACK, RFC 8985, with a zero window). All
//! the holes a block shows are repaired in one round trip, and a
//! retransmission that is lost again is found the same way.

use super::SendWindow;

impl SendWindow {
    /// Takes a selective acknowledgement: the runs `start..end` of frames
    /// the peer holds (beyond its cumulative acknowledgement, already
    /// processed). Runs outside what was sent are ignored.
    pub fn on_sack(&mut self, runs: impl Iterator<Item = (u64, u64)>) {
        self.sack_seen = true;
        let mut highest = None;
        let mut delivered_sent = self.delivered_sent;
        for (start, end) in runs {
            let (start, end) = (start.max(self.una), end.min(self.next_unsent));
            for seq in start..end {
                let slot = self.slot_mut(seq);
                slot.sacked = true;
                slot.lost = false;
                delivered_sent = delivered_sent.max(slot.last_sent);
            }
            if start < end {
                highest = highest.max(Some(end));
            }
        }
        self.delivered_sent = delivered_sent;
        let (Some(high), Some(delivered)) = (highest, delivered_sent) else {
            return;
        };
        for seq in self.una..high {
            let slot = self.slot_mut(seq);
            if !slot.sacked && !slot.lost && slot.last_sent.is_some_and(|t| t < delivered) {
                slot.lost = true;
                self.lost_queue.push_back(seq);
                self.lost = true;
            }
        }
    }

    /// The retransmission timer fired toward a peer that sends selective
    /// acknowledgements: every frame in flight it does not hold is lost
    /// (the oldest goes first, as the timer's own retransmission).
    pub(super) fn all_lost(&mut self) {
        if !self.sack_seen {
            return;
        }
        self.lost_queue.clear();
        for seq in self.una + 1..self.next_unsent {
            let slot = self.slot_mut(seq);
            slot.lost = !slot.sacked;
            if slot.lost {
                self.lost_queue.push_back(seq);
            }
        }
    }

    /// The lowest frame taken for lost and not held or acknowledged since.
    pub(super) fn next_lost(&mut self) -> Option<u64> {
        while let Some(&seq) = self.lost_queue.front() {
            if seq >= self.una && self.slot(seq).lost {
                return Some(seq);
            }
            self.lost_queue.pop_front();
        }
        None
    }
}
