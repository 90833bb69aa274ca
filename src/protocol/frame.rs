//! Frame codec. Every MQTT payload is a 24-byte packed header followed by an
//! optional remote-config block and the stream bytes. All integers are
//! little-endian on the wire on every host (the C original writes its host
//! order, which is little-endian on the machines it runs on).

use super::abort::AbortCode;
pub use super::codec::{DecodeError, FrameBuf};
use super::limits::HEADER_LEN;
pub use super::remote_config::{RemoteConfig, MAX_CONFIG_LEN};

/// Header flag bits (see [`crate::protocol::flags`]).
pub use super::flags;

/// True if `header` (for a session id the server side does not know) may
/// create a session. From this program: [`flags::OPENING`]. From the C
/// original, which creates sessions from any first frame and sends nothing
/// of ours: a frame of a client that has received nothing yet (no
/// ACK_VALID) and has sent no data before it: a heartbeat, or data frame 1.
/// A restarted server side therefore never dials for a session it lost
/// (a C client that never received a byte and only heartbeats excepted).
pub fn opens_session(header: &Header) -> bool {
    if header.has(flags::BEACON) || is_close(header) || header.has(flags::DISCONNECT) {
        return false;
    }
    if header.has(flags::CAPABLE) {
        return header.has(flags::OPENING);
    }
    header.ack.is_none() && (header.seq == 1 || (header.seq == 0 && header.has(flags::NO_DATA)))
}

/// The decoded 24-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Sequence number of the frame's stream bytes (0 on NO_DATA frames).
    pub seq: u64,
    /// Highest sequence number received in order, if [`flags::ACK_VALID`].
    pub ack: Option<u64>,
    /// All flag bits as received (unknown bits kept).
    pub flags: u32,
    /// The `pad` field: on a close frame of this program the abort code
    /// ([`crate::protocol::abort`]), with [`flags::TIMESTAMP`] the
    /// timestamps ([`crate::protocol::stamps`]); otherwise 0, and ignored
    /// when read (the C original leaves it uninitialised).
    pub pad: u32,
}

impl Header {
    /// True when every bit of `flag` is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag == flag
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `out`. The
    /// `ack` field is written as 0 and [`flags::ACK_VALID`] cleared when
    /// `ack` is `None`.
    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        let mut flags = self.flags & !flags::ACK_VALID;
        if self.ack.is_some() {
            flags |= flags::ACK_VALID;
        }
        out[0..8].copy_from_slice(&self.seq.to_le_bytes());
        out[8..16].copy_from_slice(&self.ack.unwrap_or(0).to_le_bytes());
        out[16..20].copy_from_slice(&flags.to_le_bytes());
        out[20..24].copy_from_slice(&self.pad.to_le_bytes());
    }

    /// Reads a header; without ACK_VALID, `ack` is ignored (the C original
    /// leaves it uninitialised, and `pad` too: see [`Header::pad`]).
    pub fn read(bytes: &[u8; HEADER_LEN]) -> Header {
        let seq = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
        let ack = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
        let flags = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or([0; 4]));
        let pad = u32::from_le_bytes(bytes[20..24].try_into().unwrap_or([0; 4]));
        Header {
            seq,
            ack: (flags & flags::ACK_VALID != 0).then_some(ack),
            flags,
            pad,
        }
    }
}

/// A decoded frame borrowing its stream bytes from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: Header,
    /// The remote-config block, if [`flags::REMOTE_CONFIG`] was set.
    pub remote_config: Option<RemoteConfig>,
    /// Stream bytes (empty on NO_DATA frames and beacons).
    pub data: &'a [u8],
    /// Why the peer aborted, on a close frame of this program (the `pad`
    /// field; see [`crate::protocol::abort`]).
    pub abort_code: AbortCode,
    /// The selective acknowledgement block of a NO_DATA frame with
    /// [`flags::SACK`] (see [`crate::protocol::sack`]); empty otherwise.
    pub sack: &'a [u8],
}

/// Largest payload accepted from the broker.
pub const MAX_PAYLOAD: usize = HEADER_LEN + MAX_CONFIG_LEN + super::limits::MAX_FRAME_DATA;

/// Decodes one MQTT payload. Never panics, whatever the input.
pub fn decode(payload: &[u8]) -> Result<Frame<'_>, DecodeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(DecodeError::Oversized(payload.len()));
    }
    let head: &[u8; HEADER_LEN] = payload
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(DecodeError::Truncated(payload.len()))?;
    let header = Header::read(head);
    let mut rest = &payload[HEADER_LEN..];
    let mut remote_config = None;
    if header.has(flags::BEACON) {
        rest = &[];
    } else if header.has(flags::REMOTE_CONFIG) {
        let (config, len) = RemoteConfig::read(rest)?;
        remote_config = Some(config);
        rest = &rest[len..];
    }
    let mut sack: &[u8] = &[];
    if header.has(flags::NO_DATA) {
        if header.has(flags::SACK) {
            sack = rest;
        }
        rest = &[];
    }
    let abort_code = if header.has(flags::CAPABLE) && is_close(&header) {
        AbortCode::from_wire(header.pad)
    } else {
        AbortCode::Unspecified
    };
    Ok(Frame {
        header,
        remote_config,
        data: rest,
        abort_code,
        sack,
    })
}

/// Encodes a frame into `out` (cleared first), reusing its allocation.
pub fn encode_into(
    out: &mut impl FrameBuf,
    header: &Header,
    config: Option<&RemoteConfig>,
    data: &[u8],
) {
    out.clear();
    let mut flags = header.flags & !flags::REMOTE_CONFIG;
    if config.is_some() {
        flags |= flags::REMOTE_CONFIG;
    }
    let mut head = [0u8; HEADER_LEN];
    Header { flags, ..*header }.write(&mut head);
    out.put(&head);
    if let Some(config) = config {
        config.write(out);
    }
    out.put(data);
}

/// Encodes a frame into a new buffer.
pub fn encode(header: &Header, config: Option<&RemoteConfig>, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + MAX_CONFIG_LEN + data.len());
    encode_into(&mut out, header, config, data);
    out
}

/// The header that ends a session on either kind of peer: DISCONNECT with
/// NO_DATA aborts a peer of this program; an ack of `u64::MAX` (beyond
/// anything it sent) makes the C original close its session.
pub fn close_header() -> Header {
    Header {
        seq: 0,
        ack: Some(u64::MAX),
        flags: flags::CAPABLE | flags::DISCONNECT | flags::NO_DATA,
        pad: 0,
    }
}

/// Encodes the close frame ([`close_header`]) carrying `code` in `pad`.
pub fn encode_close_into(out: &mut impl FrameBuf, code: AbortCode) {
    out.clear();
    let mut head = [0u8; HEADER_LEN];
    let header = Header {
        pad: code.to_wire(),
        ..close_header()
    };
    header.write(&mut head);
    out.put(&head);
}

/// The close frame carrying `code`, in a new buffer.
pub fn close_frame(code: AbortCode) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    encode_close_into(&mut out, code);
    out
}

/// True for frames that end a session (see [`close_header`]): an ack of
/// `u64::MAX`, or DISCONNECT with NO_DATA from a peer of this program.
pub fn is_close(header: &Header) -> bool {
    header.ack == Some(u64::MAX)
        || (header.has(flags::CAPABLE) && header.has(flags::DISCONNECT | flags::NO_DATA))
}

/// The beacon payload: a bare header with only [`flags::BEACON`] set (the C
/// original's exact bytes; a capable flag would not hurt but gains nothing).
pub fn beacon() -> Vec<u8> {
    encode(
        &Header {
            seq: 0,
            ack: None,
            flags: flags::BEACON,
            pad: 0,
        },
        None,
        &[],
    )
}
