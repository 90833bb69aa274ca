//! Selective acknowledgements ([`crate::protocol::flags::SACK`]): the runs
//! of frames a receiver holds beyond a hole, so that the sender repairs
//! every hole of a round trip at once instead of one per round trip (at 20
//! % loss a window of a hundred frames has twenty).
//!
//! The block is the NO_DATA frame's payload after the header: up to
//! [`MAX_RUNS`] pairs of little-endian u32, each (first frame of the run
//! minus the first frame not acknowledged, frames in the run), lowest run
//! first. A receiver reports the lowest runs: the holes below them are the
//! ones to repair first. Bytes that do not make a whole pair are ignored.

/// Runs reported at most: 256 bytes of payload.
pub const MAX_RUNS: usize = 32;
/// Bytes of one run.
const RUN_LEN: usize = 8;

/// A block being built, in a fixed buffer.
#[derive(Debug, Clone)]
pub struct SackBlock {
    bytes: [u8; MAX_RUNS * RUN_LEN],
    runs: usize,
    /// The first frame not acknowledged: runs are counted from it.
    base: u64,
}

impl SackBlock {
    /// An empty block for a receiver whose acknowledgement is `ack`.
    pub fn new(ack: Option<u64>) -> SackBlock {
        SackBlock {
            bytes: [0; MAX_RUNS * RUN_LEN],
            runs: 0,
            base: ack.map_or(1, |a| a.saturating_add(1)),
        }
    }

    /// Adds the run of frames `start..end`; false once the block is full
    /// (or the run cannot be expressed: it is not added).
    pub fn push(&mut self, start: u64, end: u64) -> bool {
        let (Some(offset), Some(len)) = (
            start
                .checked_sub(self.base)
                .and_then(|o| u32::try_from(o).ok()),
            end.checked_sub(start).and_then(|l| u32::try_from(l).ok()),
        ) else {
            return false;
        };
        if self.runs == MAX_RUNS || len == 0 {
            return false;
        }
        let at = self.runs * RUN_LEN;
        self.bytes[at..at + 4].copy_from_slice(&offset.to_le_bytes());
        self.bytes[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        self.runs += 1;
        true
    }

    /// The encoded block.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.runs * RUN_LEN]
    }

    /// Whether it holds any run.
    pub fn is_empty(&self) -> bool {
        self.runs == 0
    }
}

/// The runs `start..end` of a received block, for a frame whose
/// acknowledgement is `ack`. Never panics; at most [`MAX_RUNS`] runs.
pub fn runs(block: &[u8], ack: Option<u64>) -> impl Iterator<Item = (u64, u64)> + '_ {
    let base = ack.map_or(1, |a| a.saturating_add(1));
    block.chunks_exact(RUN_LEN).take(MAX_RUNS).map(move |run| {
        let word = |i: usize| {
            u64::from(u32::from_le_bytes([
                run[i],
                run[i + 1],
                run[i + 2],
                run[i + 3],
            ]))
        };
        let start = base.saturating_add(word(0));
        (start, start.saturating_add(word(4)))
    })
}
