//! Frame buffers recycled between the slots of a window. A window's ring has
//! a slot for every sequence number it may hold, but only the frames
//! actually in flight need a buffer: a buffer goes back to the pool when
//! its frame is acknowledged or written out, and the next frame takes it.
//! So a window holds at most as many buffers as it ever had frames in flight
//! at once, and the steady state allocates nothing.

/// A stack of spare buffers.
#[derive(Debug, Default)]
pub struct BufferPool {
    spare: Vec<Vec<u8>>,
}

impl BufferPool {
    /// A buffer holding a copy of `data`, reusing a spare one if any.
    pub fn filled(&mut self, data: &[u8]) -> Vec<u8> {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        buf
    }

    /// Takes back a buffer no longer in use.
    pub fn give_back(&mut self, buf: Vec<u8>) {
        if buf.capacity() > 0 {
            self.spare.push(buf);
        }
    }

    /// Frees every spare buffer.
    pub fn clear(&mut self) {
        self.spare = Vec::new();
    }
}
