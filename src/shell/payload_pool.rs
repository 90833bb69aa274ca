//! Publish payloads recycled between frames. The broker connection takes a
//! payload by value and keeps it while it waits in the request queue, until
//! it is encoded into the connection's write buffer. Payloads are lent as
//! shared [`Bytes`]: once the connection has dropped its reference, the buffer is
//! reclaimed and a later frame is encoded into it, so a busy session's
//! steady state allocates no payload buffers.
//!
//! Two sizes: a frame is encoded into a full-size buffer, and one that
//! turns out small (an acknowledgement, a heartbeat) is moved into a small
//! buffer, so that acknowledgements waiting in the queue do not each hold a
//! full frame's memory.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::protocol::frame::MAX_CONFIG_LEN;
use crate::protocol::limits::HEADER_LEN;
use crate::secure::channel::MAX_OVERHEAD;

/// Payloads lent and not yet reclaimed that a pool keeps track of. Beyond
/// this (the queue holding many, e.g. while the broker is away) the oldest is
/// forgotten: it is freed when the connection drops it, and a new buffer is
/// allocated in its place. Above a full default window of frames plus the
/// broker connection's request queue.
const MAX_LENT: usize = 64;
/// Capacity of a small buffer: any frame without stream data (header and
/// remote-config block, sealed or not) fits.
const SMALL: usize = HEADER_LEN + MAX_CONFIG_LEN + MAX_OVERHEAD;
/// Full-size buffers kept spare. A steady stream reuses buffers as fast as
/// they come back, so spares only pile up when a burst ends; beyond this
/// many they are freed, so an idle session gives back its last burst.
const MAX_SPARE_LARGE: usize = 8;
/// Small buffers kept spare.
const MAX_SPARE_SMALL: usize = 32;

/// The buffers of one session's outgoing frames.
#[derive(Debug)]
pub struct PayloadPool {
    large: Vec<BytesMut>,
    small: Vec<BytesMut>,
    lent: VecDeque<Bytes>,
    /// Capacity of a full-size buffer: the largest payload this session sends.
    capacity: usize,
}

impl PayloadPool {
    /// A pool whose full-size buffers hold `capacity` bytes without growing.
    pub fn new(capacity: usize) -> PayloadPool {
        PayloadPool {
            large: Vec::new(),
            small: Vec::new(),
            lent: VecDeque::new(),
            capacity: capacity.max(SMALL + 1),
        }
    }

    /// An empty full-size buffer: a reclaimed one if any is free again,
    /// else a new one.
    pub fn take(&mut self) -> BytesMut {
        self.reclaim();
        self.large
            .pop()
            .unwrap_or_else(|| BytesMut::with_capacity(self.capacity))
    }

    /// Takes back a buffer from [`Self::take`] that was not used after all.
    pub fn give_back(&mut self, buf: BytesMut) {
        self.keep(buf);
    }

    /// Turns a filled buffer from [`Self::take`] into the payload to
    /// publish, keeping a reference to get the buffer back once the payload
    /// is dropped.
    pub fn lend(&mut self, buf: BytesMut) -> Bytes {
        let buf = if buf.len() <= SMALL {
            let mut small = self
                .small
                .pop()
                .unwrap_or_else(|| BytesMut::with_capacity(SMALL));
            small.extend_from_slice(&buf);
            self.keep(buf);
            small
        } else {
            buf
        };
        let payload = buf.freeze();
        if self.lent.len() >= MAX_LENT {
            self.lent.pop_front();
        }
        self.lent.push_back(payload.clone());
        payload
    }

    /// Frees the spare buffers and forgets the lent ones (freed when their
    /// users drop them): for a session that is over and only lingers.
    pub fn release(&mut self) {
        self.large = Vec::new();
        self.small = Vec::new();
        self.lent = VecDeque::new();
    }

    /// Puts an unused buffer on its spare list, or frees it if the list is full.
    fn keep(&mut self, mut buf: BytesMut) {
        buf.clear();
        let (list, max) = if buf.capacity() >= self.capacity {
            (&mut self.large, MAX_SPARE_LARGE)
        } else {
            (&mut self.small, MAX_SPARE_SMALL)
        };
        if list.len() < max {
            list.push(buf);
        }
    }

    /// Takes back every lent buffer nobody else refers to any more.
    fn reclaim(&mut self) {
        let mut i = 0;
        while i < self.lent.len() {
            if self.lent[i].is_unique() {
                if let Some(Ok(buf)) = self.lent.remove(i).map(Bytes::try_into_mut) {
                    self.keep(buf);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Buffers lent and not yet reclaimed, and spare (large, small).
    #[cfg(test)]
    fn counts(&self) -> (usize, usize, usize) {
        (self.lent.len(), self.large.len(), self.small.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: usize = 4096;

    fn lend_filled(pool: &mut PayloadPool, data: &[u8]) -> Bytes {
        let mut buf = pool.take();
        buf.extend_from_slice(data);
        pool.lend(buf)
    }

    #[test]
    fn a_payload_dropped_by_its_user_is_reused_for_the_next_frame() {
        let mut pool = PayloadPool::new(FULL);
        let payload = lend_filled(&mut pool, &[7; 1000]);
        let ptr = payload.as_ptr();
        drop(payload);
        let again = pool.take();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), ptr, "the buffer was not reused");
        assert!(again.capacity() >= FULL);
    }

    #[test]
    fn a_payload_still_held_is_not_reused() {
        let mut pool = PayloadPool::new(FULL);
        let held = lend_filled(&mut pool, &[1; 500]);
        let mut other = pool.take();
        assert_ne!(other.as_ptr(), held.as_ptr());
        other.extend_from_slice(&[2; 500]);
        assert_eq!(&held[..], &[1; 500][..], "a lent payload was overwritten");
    }

    #[test]
    fn a_small_frame_goes_out_in_a_small_buffer_and_frees_the_large_one() {
        let mut pool = PayloadPool::new(FULL);
        let ack = lend_filled(&mut pool, &[3; HEADER_LEN]);
        assert_eq!(&ack[..], &[3; HEADER_LEN][..]);
        assert_eq!(
            pool.counts(),
            (1, 1, 0),
            "the large buffer is spare at once"
        );
        drop(ack);
        let _ = pool.take();
        assert_eq!(pool.counts(), (0, 0, 1), "the small buffer came back");
    }

    #[test]
    fn spares_beyond_the_bound_are_freed_after_a_burst() {
        let mut pool = PayloadPool::new(FULL);
        let burst: Vec<Bytes> = (0..40)
            .map(|_| lend_filled(&mut pool, &[9; 1000]))
            .collect();
        drop(burst);
        let _ = pool.take();
        let (lent, large, _) = pool.counts();
        assert_eq!(lent, 0);
        assert_eq!(
            large,
            MAX_SPARE_LARGE - 1,
            "one of the kept spares was just taken"
        );
    }

    #[test]
    fn a_released_pool_holds_no_buffer_and_still_works() {
        let mut pool = PayloadPool::new(FULL);
        let held = lend_filled(&mut pool, &[4; 1000]);
        drop(lend_filled(&mut pool, &[4; 10]));
        pool.release();
        assert_eq!(pool.counts(), (0, 0, 0));
        drop(held);
        assert_eq!(&lend_filled(&mut pool, &[6; 3])[..], &[6; 3][..]);
    }

    #[test]
    fn the_pool_forgets_the_oldest_payloads_beyond_its_bound() {
        let mut pool = PayloadPool::new(FULL);
        let held: Vec<Bytes> = (0..MAX_LENT + 10)
            .map(|_| lend_filled(&mut pool, &[5; 1000]))
            .collect();
        assert_eq!(pool.counts().0, MAX_LENT);
        drop(held);
        let _ = pool.take();
        assert_eq!(pool.counts().0, 0);
    }
}
