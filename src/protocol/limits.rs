//! Protocol limits shared by both sides, each with the reason for its value.

use std::time::Duration;

/// Bytes of the packed frame header: `seq: u64, ack: u64, flags: u32, pad: u32`.
pub const HEADER_LEN: usize = 24;

/// Largest payload (header + stream bytes) the C original sends or accepts:
/// its receive buffer is 10,000 bytes.
pub const LEGACY_MAX_PAYLOAD: usize = 10_000;

/// Stream bytes per frame the C original sends (10,000 − 24 header bytes).
/// Frames toward a C peer never carry more.
pub const LEGACY_FRAME_DATA: usize = LEGACY_MAX_PAYLOAD - HEADER_LEN;

/// Largest number of stream bytes one frame may carry between two instances
/// of this program. Every instance accepts frames this large whatever its own
/// `--frame-size`, so peers with different settings interoperate.
pub const MAX_FRAME_DATA: usize = 64 * 1024;

/// Smallest `--frame-size` accepted: below this the header overhead dominates.
pub const MIN_FRAME_DATA: usize = 256;

/// The C original buffers at most 200 frames and drops a data frame more
/// than 198 ahead of the one it expects; so toward a C peer at most 199
/// frames may be unacknowledged.
pub const LEGACY_MAX_WINDOW: usize = 199;

/// Largest `--window` accepted (frames in flight per session and direction).
pub const MAX_WINDOW: usize = 4096;

/// Smallest `--window` accepted.
pub const MIN_WINDOW: usize = 2;

/// Default bound of the frames in flight per session and direction toward a
/// peer running this program: as many as the protocol allows. Within it the
/// window adapts (`reliable::congestion`): bytes in flight follow the path's
/// queueing delay, within the session's share of the buffer budget.
/// (Measured before it adapted, test/bench.sh, QoS 1, loopback mosquitto:
/// 32 KiB frames carry 2–3× the throughput of 9,976-byte ones.)
pub const DEFAULT_WINDOW: usize = MAX_WINDOW;

/// Frames of the peer a session holds at most (received ahead of a hole,
/// or not yet written to its TCP connection), of its own frame size, within
/// its share of the buffer budget: a window may be far larger on a long
/// fast path, but its frames arrive in order and are written out as they
/// come; only a loss makes the rest wait. Beyond this, frames are dropped
/// as a lossy link would, and the sender's window halves.
pub const HELD_WINDOW: usize = 32;

/// Frames in flight toward a peer of this program that sends no timestamps:
/// an earlier version, whose receive window was its own `--window`, 32 by
/// default.
pub const PRE_ADAPTIVE_WINDOW: usize = 32;

/// Default stream bytes per frame toward a peer running this program (a C
/// peer always gets at most [`LEGACY_FRAME_DATA`]). See [`DEFAULT_WINDOW`].
pub const DEFAULT_FRAME_DATA: usize = 32 * 1024;

/// Default number of sessions served (server side) or connections accepted
/// (client side) at once; `--max-sessions`. The C original allows 100.
pub const DEFAULT_MAX_SESSIONS: usize = 1024;
/// Largest `--max-sessions`: each session costs a task, a socket and its
/// buffers, and file descriptors run out long before this.
pub const MAX_MAX_SESSIONS: usize = 65_536;

/// Default `--max-buffer-memory`, in MiB: frame buffers of all sessions
/// together, per direction. 16 busy sessions with the default window share
/// it without a loss of throughput (each needs about 1 MiB); a 64 MB router
/// is better served by 8 (docs/tuning.rst).
pub const DEFAULT_MAX_BUFFER_MIB: usize = 32;
/// What an open session costs beyond its frames, in bytes: its task, inbox
/// and ring slots, its socket's state (measured: 1,024 sessions merely
/// open, each with a local connection, grew a server side by 37 MiB with
/// 32 KiB frames, of which 32 KiB each is the local read buffer, counted
/// apart as one frame; rounded up).
pub const SESSION_BASE_BYTES: usize = 8 * 1024;
/// Frames a session's reservation in the buffer budget counts: its local
/// read buffer (one frame) and the two frames it always may hold of its
/// peer's (see `reliable::session`), so that admitted sessions fit the
/// budget whatever their peers send.
pub const SESSION_RESERVED_FRAMES: usize = 3;
/// A keyed server side announces itself again with a fresh challenge this
/// often while connected; a HELLO naming one of its last two challenges
/// (see `protocol::keyed::KIND_HELLO_BOUND`) is from a client that saw it
/// live within two periods, so HELLOs recorded longer ago go to the budget
/// of the others, however long the process has run.
pub const CHALLENGE_PERIOD: Duration = Duration::from_secs(10 * 60);
/// New sessions a server side opens per second at most, beyond a burst of
/// [`NEW_SESSIONS_BURST`]: a publisher opening and closing sessions made
/// a server side dial its target 45,650 times in 10 s without a limit. An
/// interactive user opens a few per second; a script opening a few hundred
/// in a row (the benchmark's 200 session setups, one after the other), or
/// a client side reconnecting its sessions, fits the burst.
pub const NEW_SESSIONS_PER_SEC: f64 = 50.0;
/// New sessions a server side opens at once (see
/// [`NEW_SESSIONS_PER_SEC`]).
pub const NEW_SESSIONS_BURST: f64 = 256.0;
/// Largest `--max-buffer-memory`, in MiB.
pub const MAX_MAX_BUFFER_MIB: usize = 4096;

/// A server session that has carried no stream byte either way this long
/// after it opened is closed: a forged or abandoned opening frame cannot
/// hold a session slot for ever with heartbeats. Capped by `--peer-timeout`.
pub const UNUSED_SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// Default time after which a session whose peer has been silent is closed.
/// Peers send a heartbeat at least every [`HEARTBEAT_INTERVAL`], so only a
/// vanished peer or a long broker outage reaches it.
pub const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(180);

/// A session sends a heartbeat after this long without sending anything
/// (the C original's period, which it also uses).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);

/// How often a server side started with `-b` publishes its beacon: the C
/// original's period. A listing (`-l`) waits this and a margin, so it hears
/// every server side that beacons.
pub const BEACON_PERIOD: Duration = Duration::from_secs(3);

/// Maximum length of the topic prefix and of the server-side-id (the C
/// original's buffers are 50 and 100 bytes; MQTT topics are limited anyway).
pub const MAX_TOPIC_LEVEL_LEN: usize = 100;
