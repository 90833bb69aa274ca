//! The receive side of a session: a fixed ring of frame buffers that
//! reorders frames, drops duplicates and old frames, and hands the stream
//! out in order. A frame's slot is freed only once its bytes have been
//! written to the local TCP peer, and only then is it acknowledged, so a
//! slow reader stalls the remote sender through its window.

use super::buffer_pool::BufferPool;

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
    slots: Vec<Slot>,
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
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, Slot::default);
        RecvWindow {
            slots,
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

    /// Sets the most bytes held for frames received ahead of a hole.
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes;
    }

    /// Bytes held now (received, not yet written out).
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    fn index(&self, seq: u64) -> usize {
        (seq % self.slots.len() as u64) as usize
    }

    /// Stores frame `seq` (seq ≥ 1) carrying `data` and, if `fin`, the end
    /// of the stream.
    pub fn insert(&mut self, seq: u64, data: &[u8], fin: bool) -> Insert {
        if seq < self.next || self.fin_delivered {
            return Insert::Duplicate;
        }
        if seq - self.base >= self.slots.len() as u64 {
            return Insert::BeyondWindow;
        }
        let i = self.index(seq);
        if self.slots[i].present {
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
        let slot = &mut self.slots[i];
        slot.data = buf;
        slot.present = true;
        slot.fin = fin;
        let in_order = seq == self.next;
        let len = self.slots.len() as u64;
        while self.next - self.base < len && self.slots[self.index(self.next)].present {
            let fin = self.slots[self.index(self.next)].fin;
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
            let data = &self.slots[self.index(self.base)].data;
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
            let i = self.index(self.base);
            let slot = &mut self.slots[i];
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
        for slot in &mut self.slots {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut RecvWindow) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let d = w.deliverable().to_vec();
            if d.is_empty() {
                return out;
            }
            out.extend_from_slice(&d);
            w.consume(d.len());
        }
    }

    #[test]
    fn frames_are_delivered_in_order_whatever_the_arrival_order() {
        let mut w = RecvWindow::new(8);
        assert_eq!(w.insert(3, b"c", false), Insert::OutOfOrder);
        assert_eq!(w.insert(2, b"b", false), Insert::OutOfOrder);
        assert!(w.deliverable().is_empty());
        assert_eq!(w.ack(), None);
        assert_eq!(w.insert(1, b"a", false), Insert::InOrder);
        assert_eq!(drain(&mut w), b"abc");
        assert_eq!(w.ack(), Some(3));
    }

    #[test]
    fn duplicates_and_old_frames_are_dropped() {
        let mut w = RecvWindow::new(8);
        w.insert(1, b"a", false);
        assert_eq!(w.insert(1, b"a", false), Insert::Duplicate);
        w.insert(3, b"c", false);
        assert_eq!(w.insert(3, b"X", false), Insert::Duplicate);
        drain(&mut w);
        assert_eq!(w.insert(1, b"a", false), Insert::Duplicate);
        w.insert(2, b"b", false);
        assert_eq!(drain(&mut w), b"bc");
    }

    #[test]
    fn unwritten_frames_hold_the_window_and_the_ack() {
        let mut w = RecvWindow::new(2);
        w.insert(1, b"aa", false);
        w.insert(2, b"bb", false);
        assert_eq!(w.insert(3, b"cc", false), Insert::BeyondWindow);
        assert_eq!(w.ack(), None);
        assert_eq!(w.consume(1), 0);
        assert_eq!(w.deliverable(), b"a");
        assert_eq!(w.consume(1), 1);
        assert_eq!(w.ack(), Some(1));
        assert_eq!(w.insert(3, b"cc", false), Insert::InOrder);
    }

    #[test]
    fn the_end_of_stream_is_delivered_after_all_data() {
        let mut w = RecvWindow::new(8);
        w.insert(2, &[], true);
        assert!(!w.fin_delivered());
        w.insert(1, b"last", false);
        assert_eq!(drain(&mut w), b"last");
        assert!(w.fin_delivered());
        assert_eq!(w.ack(), Some(2));
        assert_eq!(w.insert(3, b"late", false), Insert::Duplicate);
    }

    #[test]
    fn nothing_is_deliverable_after_the_buffers_are_released_mid_frame() {
        let mut w = RecvWindow::new(8);
        assert_eq!(w.insert(1, b"hello world", false), Insert::InOrder);
        assert_eq!(w.insert(3, b"beyond a hole", false), Insert::OutOfOrder);
        w.consume(5);
        w.release_buffers();
        assert_eq!(w.deliverable(), b"");
        assert_eq!(w.consume(100), 0);
        assert!(w.all_delivered());
    }

    #[test]
    fn frames_out_of_order_are_held_only_up_to_the_limit() {
        let mut w = RecvWindow::new(16);
        w.set_limit(3000);
        let frame = vec![7u8; 1000];
        // Frame 1 withheld; 2..=4 fit, 5 and 6 do not.
        for seq in 2..=4 {
            assert_eq!(w.insert(seq, &frame, false), Insert::OutOfOrder);
        }
        assert_eq!(w.insert(5, &frame, false), Insert::OverLimit);
        assert_eq!(w.buffered(), 3000);
        // The frame that fills the hole is taken, and frees the rest as
        // they are written.
        assert_eq!(w.insert(1, &frame, false), Insert::InOrder);
        assert_eq!(drain(&mut w).len(), 4000);
        assert_eq!(w.buffered(), 0);
        assert_eq!(w.insert(5, &frame, false), Insert::InOrder);
    }

    #[test]
    fn a_stalled_reader_holds_no_more_than_the_limit_of_frames_in_order() {
        let mut w = RecvWindow::new(64);
        w.set_limit(3000);
        let frame = vec![1u8; 1000];
        for seq in 1..=3 {
            assert_eq!(w.insert(seq, &frame, false), Insert::InOrder);
        }
        // Nothing is written out: the fourth is over the limit.
        assert_eq!(w.insert(4, &frame, false), Insert::OverLimit);
        assert_eq!(w.buffered(), 3000);
    }
}
