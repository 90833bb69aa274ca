//! The bits of a frame header's `flags` field, all in one place. The C
//! original ignores the bits it does not know, so the bits of this program
//! ([`CAPABLE`], [`GAP`], [`OPENING`]) ride on frames that it still reads as
//! its own.

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
/// Ours: this acknowledgement was sent because a frame arrived out of order
/// or twice, i.e. the sender may have lost one (fast retransmit). Heeded
/// only on frames that also carry [`CAPABLE`]: the C original does not know it.
pub const GAP: u32 = 0x40;
/// Ours: set by a client session on every frame until it has heard from
/// the server side. Only such a frame may create a server session; any
/// other frame for an unknown session is from a session the server side
/// no longer has (it restarted), and is answered with an abort.
pub const OPENING: u32 = 0x80;
/// Ours: the low 16 bits of `pad` carry the sender's clock when it sent the
/// frame ([`crate::protocol::stamps`]). Never on close frames, whose `pad`
/// is the abort code; sent only to a peer known to be this program.
pub const TIMESTAMP: u32 = 0x100;
/// Ours: the high 16 bits of `pad` echo the newest timestamp received from
/// the peer, advanced by the time it was held before this frame went out.
pub const ECHO: u32 = 0x200;
/// Ours: on a client's frames with [`OPENING`], `pad` holds a random number
/// naming the client process, so that the server side's sessions from one
/// client process share what they measure of the path (`reliable::paths`).
/// The C original ignores `pad`.
pub const INSTANCE: u32 = 0x400;
/// Ours: a selective acknowledgement, on a NO_DATA frame only (so that the
/// C original and earlier versions of this program, which ignore a NO_DATA
/// frame's payload, ignore it too): the payload after the header lists the
/// runs of frames the receiver holds beyond its acknowledgement
/// ([`crate::protocol::sack`]). Sent only to a peer known to be this
/// program, while frames are held beyond a hole.
pub const SACK: u32 = 0x800;
