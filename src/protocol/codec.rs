//! What the frame codec writes into and what decoding fails with, shared by
//! the frame and its remote-config block.

use std::fmt;

/// A growable byte buffer frames are encoded into: a `Vec<u8>`, or the
/// `BytesMut` buffers the shell recycles between publishes.
pub trait FrameBuf {
    /// Empties the buffer, keeping its allocation.
    fn clear(&mut self);
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl FrameBuf for Vec<u8> {
    fn clear(&mut self) {
        Vec::clear(self);
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl FrameBuf for bytes::BytesMut {
    fn clear(&mut self) {
        bytes::BytesMut::clear(self);
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Why a payload was rejected. The frame is dropped; nothing else happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than [`HEADER_LEN`](crate::protocol::limits::HEADER_LEN) bytes.
    Truncated(usize),
    /// More bytes than any peer may send.
    Oversized(usize),
    /// The remote-config block is malformed.
    BadRemoteConfig(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated(n) => write!(f, "payload of {n} bytes is shorter than a header"),
            DecodeError::Oversized(n) => write!(f, "payload of {n} bytes exceeds the frame limit"),
            DecodeError::BadRemoteConfig(why) => write!(f, "invalid remote config: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}
