//! The receive side of a session: a ring of frame slots (grown on demand up
//! to the window's capacity) that
//! reorders frames, drops duplicates and old frames, and hands the stream
//! out in order. A frame's slot is freed only once its bytes have been
//! written to the local TCP peer, and only then is it acknowledged, so a
//! slow reader stalls the remote sender through its window.

use super::buffer_pool::BufferPool;
use super::ring::Ring;

#[derive(Debug, Default)]
struct Slot {
    data: Vec<u8>,
    present: bool,
    fin: bool,
}

/// Where an arriving frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Stored, and it was the next frame expected.
    InOrder,
    /// Stored ahead of a hole.
    OutOfOrder,
    /// Already had it (or already delivered it): dropped.
    Duplicate,
    /// Too far ahead for the window: dropped, the sender will retransmit.
    BeyondWindow,
    /// Over the byte limit: dropped as a lossy link would, the sender will
    /// retransmit. (The frame that fills the hole is taken whenever nothing
    /// before it waits to be written, so the stream always progresses.)
    OverLimit,
}

/// Reorder buffer for one direction of one session.
#[derive(Debug)]
pub struct RecvWindow {
    slots: Ring<Slot>,
    pool: BufferPool,
    /// First sequence number not yet fully written out.
    base: u64,
    /// First sequence number not yet received in order (`>= base`).
    next: u64,
    /// Bytes of frame `base` already written out.
    offset: usize,
    fin_delivered: bool,
    bytes_delivered: u64,
    /// Bytes held in the slots (received, not yet written out).
    buffered: usize,
    /// Most bytes held for frames received out of order.
    limit: usize,
}

impl RecvWindow {
    /// A window able to hold `capacity` frames.
    pub fn new(capacity: usize) -> RecvWindow {
        RecvWindow {
            slots: Ring::new(capacity),
            pool: BufferPool::default(),
            base: 1,
            next: 1,
            offset: 0,
            fin_delivered: false,
            bytes_delivered: 0,
            buffered: 0,
            limit: usize::MAX,
        }
    }

    /// Sets how far ahead of the oldest frame not yet written out a frame
    /// may be (at most the capacity, at least the slots the ring has).
    pub fn set_reach(&mut self, frames: usize) {
        self.slots.set_capacity(frames);
    }

    /// Sets the most bytes held for frames received ahead of a hole.
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes;
    }

    /// Bytes held now (received, not yet written out).
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Stores frame `seq` (seq ≥ 1) carrying `data` and, if `fin`, the end
    /// of the stream.
    pub fn insert(&mut self, seq: u64, data: &[u8], fin: bool) -> Insert {
        if seq < self.next || self.fin_delivered {
            return Insert::Duplicate;
        }
        if !self.slots.reserve(self.base, seq) {
            return Insert::BeyondWindow;
        }
        if self.slots.get(seq).present {
            return Insert::Duplicate;
        }
        // Within the limit; beyond it only the frame that fills the hole
        // when nothing before it waits to be written (progress, at most one
        // frame over the limit).
        let fits = self.buffered.saturating_add(data.len()) <= self.limit;
        let fills_hole = seq == self.next && self.base == self.next;
        if !(fits || fills_hole) {
            return Insert::OverLimit;
        }
        self.buffered += data.len();
        let buf = self.pool.filled(data);
        let slot = self.slots.get_mut(seq);
        slot.data = buf;
        slot.present = true;
        slot.fin = fin;
        let in_order = seq == self.next;
        // Nothing is stored beyond the slots the ring has now.
        while self.next - self.base < self.slots.slots() as u64 && self.slots.get(self.next).present
        {
            let fin = self.slots.get(self.next).fin;
            self.next += 1;
            if fin {
                // Nothing after the end of the stream counts.
                break;
            }
        }
        self.skip_empty();
        if in_order {
            Insert::InOrder
        } else {
            Insert::OutOfOrder
        }
    }

    /// The next stream bytes to write out (empty when none is ready). Never
    /// panics, whatever was called before (released buffers included).
    pub fn deliverable(&self) -> &[u8] {
        if self.base < self.next {
            let data = &self.slots.get(self.base).data;
            data.get(self.offset..).unwrap_or_default()
        } else {
            &[]
        }
    }

    /// True when everything received in order has been written out (frames
    /// held beyond a hole excepted: they cannot be written before it fills).
    pub fn all_delivered(&self) -> bool {
        self.base == self.next
    }

    /// Marks `n` bytes of [`Self::deliverable`] as written; returns how many
    /// frames were completed (and so became acknowledgeable).
    pub fn consume(&mut self, n: usize) -> u32 {
        let n = n.min(self.deliverable().len());
        self.offset += n;
        self.bytes_delivered += n as u64;
        self.skip_empty()
    }

    /// Retires fully written frames at the head (including empty ones such
    /// as the end-of-stream frame); returns how many.
    fn skip_empty(&mut self) -> u32 {
        let mut done = 0;
        while self.base < self.next {
            let slot = self.slots.get_mut(self.base);
            if self.offset < slot.data.len() {
                break;
            }
            if slot.fin {
                self.fin_delivered = true;
            }
            slot.present = false;
            slot.fin = false;
            self.buffered = self.buffered.saturating_sub(slot.data.len());
            let buf = std::mem::take(&mut slot.data);
            self.pool.give_back(buf);
            self.offset = 0;
            self.base += 1;
            done += 1;
        }
        done
    }

    /// The runs `start..end` of frames held from the oldest not written
    /// out on, lowest first, until `take` says no more.
    pub fn held_runs(&self, mut take: impl FnMut(u64, u64) -> bool) {
        let end = self.base + self.slots.slots() as u64;
        let mut seq = self.base;
        while seq < end {
            if !self.slots.get(seq).present {
                seq += 1;
                continue;
            }
            let start = seq;
            while seq < end && self.slots.get(seq).present {
                seq += 1;
            }
            if !take(start, seq) {
                return;
            }
        }
    }

    /// The acknowledgement to send: highest sequence number written out in
    /// order, or `None` before the first.
    pub fn ack(&self) -> Option<u64> {
        (self.base > 1).then(|| self.base - 1)
    }

    /// True once the end-of-stream frame and everything before it has been
    /// written out.
    pub fn fin_delivered(&self) -> bool {
        self.fin_delivered
    }

    /// Frees every slot's buffer (the session no longer carries data) and
    /// empties the window consistently: nothing is deliverable afterwards.
    pub fn release_buffers(&mut self) {
        for slot in self.slots.iter_mut() {
            *slot = Slot::default();
        }
        self.next = self.base;
        self.offset = 0;
        self.buffered = 0;
        self.pool.clear();
    }

    /// Stream bytes written out so far.
    pub fn bytes_delivered(&self) -> u64 {
        self.bytes_delivered
    }
}
