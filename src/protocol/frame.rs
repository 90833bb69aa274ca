//! Frame codec. Every MQTT payload is a 24-byte packed header followed by an
//! optional remote-config block and the stream bytes. All integers are
//! little-endian on the wire on every host (the C original writes its host
//! order, which is little-endian on the machines it runs on).

use std::fmt;
use std::net::Ipv4Addr;

use super::abort::AbortCode;
use super::limits::HEADER_LEN;

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

/// Header flag bits.
pub mod flags {
    /// End of stream (sequenced) or, with [`NO_DATA`], abort of the session.
    /// The C original ignores it.
    pub const DISCONNECT: u32 = 0x01;
    /// `ack` holds the highest sequence number delivered in order.
    pub const ACK_VALID: u32 = 0x02;
    /// Heartbeat/ack only: no stream bytes, `seq` is 0.
    pub const NO_DATA: u32 = 0x04;
    /// Server-side presence beacon; any frame with this bit is a beacon.
    pub const BEACON: u32 = 0x08;
    /// A remote-config block follows the header.
    pub const REMOTE_CONFIG: u32 = 0x10;
    /// Sent by this program on every frame so two instances recognise each
    /// other and may use the extensions (close propagation, larger frames and
    /// windows). The C original ignores unknown flags.
    pub const CAPABLE: u32 = 0x20;
    /// Ours: set by a client session on every frame until it has heard from
    /// the server side. Only such a frame may create a server session; any
    /// other frame for an unknown session is from a session the server side
    /// no longer has (it restarted), and is answered with an abort.
    pub const OPENING: u32 = 0x80;
}

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

/// Remote-config item type: IPv4 address, 4 bytes in network order.
const ITEM_IPV4: u16 = 0;
/// Remote-config item type: port, u16 little-endian.
const ITEM_PORT: u16 = 1;
/// Bytes of the remote-config block head: `config_size: u32, num_items: u32`.
const CONFIG_HEAD_LEN: usize = 8;
/// Largest remote-config block this program sends: head, address and port.
pub const MAX_CONFIG_LEN: usize = CONFIG_HEAD_LEN + (2 + 4) + (2 + 2);

/// The decoded 24-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Sequence number of the frame's stream bytes (0 on NO_DATA frames).
    pub seq: u64,
    /// Highest sequence number received in order, if [`flags::ACK_VALID`].
    pub ack: Option<u64>,
    /// All flag bits as received (unknown bits kept).
    pub flags: u32,
}

impl Header {
    /// True when every bit of `flag` is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag == flag
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `out`. The
    /// `ack` field is written as 0 and [`flags::ACK_VALID`] cleared when
    /// `ack` is `None`; `pad` is always 0.
    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        let mut flags = self.flags & !flags::ACK_VALID;
        if self.ack.is_some() {
            flags |= flags::ACK_VALID;
        }
        out[0..8].copy_from_slice(&self.seq.to_le_bytes());
        out[8..16].copy_from_slice(&self.ack.unwrap_or(0).to_le_bytes());
        out[16..20].copy_from_slice(&flags.to_le_bytes());
        out[20..24].copy_from_slice(&0u32.to_le_bytes());
    }

    /// Reads a header; `pad` and, without ACK_VALID, `ack` are ignored (the
    /// C original leaves them uninitialised).
    pub fn read(bytes: &[u8; HEADER_LEN]) -> Header {
        let seq = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
        let ack = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
        let flags = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or([0; 4]));
        Header {
            seq,
            ack: (flags & flags::ACK_VALID != 0).then_some(ack),
            flags,
        }
    }
}

/// The optional block that asks the server side to dial another target.
/// A field left `None` means "the server's default".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemoteConfig {
    /// Target IPv4 address.
    pub ip: Option<Ipv4Addr>,
    /// Target port.
    pub port: Option<u16>,
}

impl RemoteConfig {
    /// Bytes the encoded block takes.
    pub fn encoded_len(&self) -> usize {
        CONFIG_HEAD_LEN + self.ip.map_or(0, |_| 2 + 4) + self.port.map_or(0, |_| 2 + 2)
    }

    /// Appends the encoded block to `out`.
    pub fn write(&self, out: &mut impl FrameBuf) {
        let items = u32::from(self.ip.is_some()) + u32::from(self.port.is_some());
        out.put(&(self.encoded_len() as u32).to_le_bytes());
        out.put(&items.to_le_bytes());
        if let Some(ip) = self.ip {
            out.put(&ITEM_IPV4.to_le_bytes());
            out.put(&ip.octets());
        }
        if let Some(port) = self.port {
            out.put(&ITEM_PORT.to_le_bytes());
            out.put(&port.to_le_bytes());
        }
    }

    /// Parses a block at the start of `bytes`; returns it and its length.
    /// Rejects what the C original rejects: a size smaller than the head or
    /// beyond the payload, items overrunning the block, unknown item types,
    /// and a block whose items do not end exactly at `config_size`.
    fn read(bytes: &[u8]) -> Result<(RemoteConfig, usize), DecodeError> {
        let head = bytes
            .get(..CONFIG_HEAD_LEN)
            .ok_or(DecodeError::BadRemoteConfig("block shorter than its head"))?;
        let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let items = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if size < CONFIG_HEAD_LEN || size > bytes.len() {
            return Err(DecodeError::BadRemoteConfig("size out of range"));
        }
        let block = &bytes[..size];
        let mut pos = CONFIG_HEAD_LEN;
        let mut config = RemoteConfig::default();
        for _ in 0..items {
            let kind = block
                .get(pos..pos + 2)
                .ok_or(DecodeError::BadRemoteConfig("item overruns block"))?;
            pos += 2;
            match u16::from_le_bytes([kind[0], kind[1]]) {
                ITEM_IPV4 => {
                    let v = block
                        .get(pos..pos + 4)
                        .ok_or(DecodeError::BadRemoteConfig("item overruns block"))?;
                    config.ip = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3]));
                    pos += 4;
                }
                ITEM_PORT => {
                    let v = block
                        .get(pos..pos + 2)
                        .ok_or(DecodeError::BadRemoteConfig("item overruns block"))?;
                    config.port = Some(u16::from_le_bytes([v[0], v[1]]));
                    pos += 2;
                }
                _ => return Err(DecodeError::BadRemoteConfig("unknown item type")),
            }
        }
        if pos != size {
            return Err(DecodeError::BadRemoteConfig("items do not fill the block"));
        }
        // An address or port of 0 means "not set" to the C original.
        config.ip = config.ip.filter(|ip| !ip.is_unspecified());
        config.port = config.port.filter(|p| *p != 0);
        Ok((config, size))
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
}

/// Why a payload was rejected. The frame is dropped; nothing else happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than [`HEADER_LEN`] bytes.
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
    if header.has(flags::NO_DATA) {
        rest = &[];
    }
    let abort_code = if header.has(flags::CAPABLE) && is_close(&header) {
        AbortCode::from_wire(u32::from_le_bytes([head[20], head[21], head[22], head[23]]))
    } else {
        AbortCode::Unspecified
    };
    Ok(Frame {
        header,
        remote_config,
        data: rest,
        abort_code,
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
    }
}

/// Encodes the close frame ([`close_header`]) carrying `code` in `pad`.
pub fn encode_close_into(out: &mut impl FrameBuf, code: AbortCode) {
    out.clear();
    let mut head = [0u8; HEADER_LEN];
    close_header().write(&mut head);
    head[20..24].copy_from_slice(&code.to_wire().to_le_bytes());
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
        },
        None,
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(seq: u64, ack: Option<u64>, flags: u32) -> Header {
        Header { seq, ack, flags }
    }

    #[test]
    fn a_data_frame_is_little_endian_on_the_wire() {
        let bytes = encode(&hdr(0x0102, Some(0x0304), flags::CAPABLE), None, b"hi");
        let expected: [u8; 26] = [
            0x02, 0x01, 0, 0, 0, 0, 0, 0, // seq
            0x04, 0x03, 0, 0, 0, 0, 0, 0, // ack
            0x22, 0, 0, 0, // flags: CAPABLE | ACK_VALID
            0, 0, 0, 0, // pad
            b'h', b'i',
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn the_beacon_is_a_bare_header_with_only_the_beacon_flag() {
        let mut expected = [0u8; 24];
        expected[16] = 0x08;
        assert_eq!(beacon(), expected);
        let bytes = beacon();
        assert!(decode(&bytes).unwrap().header.has(flags::BEACON));
    }

    #[test]
    fn remote_config_matches_the_c_layout() {
        let config = RemoteConfig {
            ip: Some(Ipv4Addr::new(10, 1, 2, 3)),
            port: Some(2222),
        };
        let bytes = encode(&hdr(0, None, flags::NO_DATA), Some(&config), &[]);
        assert_eq!(bytes[16], (flags::NO_DATA | flags::REMOTE_CONFIG) as u8);
        let block = &bytes[24..];
        let expected: [u8; 18] = [
            18, 0, 0, 0, // config_size
            2, 0, 0, 0, // num_items
            0, 0, 10, 1, 2, 3, // type 0, IPv4 in network order
            1, 0, 0xae, 0x08, // type 1, port 2222 little-endian
        ];
        assert_eq!(block, expected);
        let frame = decode(&bytes).unwrap();
        assert_eq!(frame.remote_config, Some(config));
        assert!(frame.data.is_empty());
    }

    #[test]
    fn remote_config_with_only_a_port_round_trips_before_data() {
        let config = RemoteConfig {
            ip: None,
            port: Some(80),
        };
        let bytes = encode(&hdr(1, None, 0), Some(&config), b"GET /");
        assert_eq!(bytes.len(), 24 + 12 + 5);
        let frame = decode(&bytes).unwrap();
        assert_eq!(frame.remote_config, Some(config));
        assert_eq!(frame.data, b"GET /");
        assert_eq!(frame.header.seq, 1);
    }

    #[test]
    fn every_flag_round_trips() {
        for bit in 0..32 {
            let f = 1u32 << bit;
            if f == flags::REMOTE_CONFIG || f == flags::ACK_VALID {
                continue;
            }
            let bytes = encode(&hdr(7, Some(5), f), None, b"x");
            let frame = decode(&bytes).unwrap();
            assert_eq!(frame.header.flags, f | flags::ACK_VALID, "bit {bit}");
            assert_eq!(frame.header.ack, Some(5));
            assert_eq!(frame.header.seq, 7);
        }
    }

    #[test]
    fn ack_and_pad_are_ignored_without_ack_valid() {
        let mut bytes = encode(&hdr(3, None, 0), None, b"abc");
        bytes[8..16].copy_from_slice(&[0xde; 8]);
        bytes[20..24].copy_from_slice(&[0xad; 4]);
        let frame = decode(&bytes).unwrap();
        assert_eq!(frame.header.ack, None);
        assert_eq!(frame.data, b"abc");
    }

    #[test]
    fn a_close_frame_carries_its_abort_code_in_the_pad_field() {
        let bytes = close_frame(AbortCode::TargetRefused);
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(&bytes[20..24], &[2, 0, 0, 0]);
        let frame = decode(&bytes).unwrap();
        assert!(is_close(&frame.header));
        assert_eq!(frame.abort_code, AbortCode::TargetRefused);
        // From the C original (no CAPABLE flag), pad is uninitialised.
        let mut legacy = bytes.clone();
        legacy[16] &= !(flags::CAPABLE as u8);
        assert_eq!(decode(&legacy).unwrap().abort_code, AbortCode::Unspecified);
    }

    #[test]
    fn no_data_frames_carry_no_stream_bytes() {
        let bytes = encode(&hdr(0, Some(9), flags::NO_DATA), None, b"junk");
        assert!(decode(&bytes).unwrap().data.is_empty());
    }

    #[test]
    fn truncated_and_oversized_payloads_are_rejected() {
        for n in 0..HEADER_LEN {
            assert_eq!(decode(&vec![0; n]), Err(DecodeError::Truncated(n)));
        }
        let big = vec![0; MAX_PAYLOAD + 1];
        assert_eq!(decode(&big), Err(DecodeError::Oversized(MAX_PAYLOAD + 1)));
        assert!(decode(&vec![0; MAX_PAYLOAD]).is_ok());
    }

    #[test]
    fn malformed_remote_config_blocks_are_rejected() {
        let mut base = encode(&hdr(0, None, 0), None, &[]);
        base[16] = flags::REMOTE_CONFIG as u8;
        let cases: Vec<Vec<u8>> = vec![
            vec![],                                    // no block
            vec![8, 0, 0],                             // short head
            vec![7, 0, 0, 0, 0, 0, 0, 0],              // size below head
            vec![20, 0, 0, 0, 0, 0, 0, 0],             // size beyond payload
            vec![12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], // unknown type
            vec![10, 0, 0, 0, 1, 0, 0, 0, 0, 0],       // IPv4 overruns
            vec![12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], // trailing bytes
            vec![8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],  // huge item count
        ];
        for (i, block) in cases.into_iter().enumerate() {
            let mut bytes = base.clone();
            bytes.extend_from_slice(&block);
            assert!(
                matches!(decode(&bytes), Err(DecodeError::BadRemoteConfig(_))),
                "case {i}"
            );
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 80) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| (state.rotate_left(i as u32 * 7) & 0xff) as u8)
                .collect();
            let _ = decode(&bytes);
        }
    }
}
