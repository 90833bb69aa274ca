//! How a session ends and what it tells the I/O shell.

use crate::protocol::abort::AbortCode;
#[cfg(doc)]
use crate::protocol::limits::UNUSED_SESSION_TIMEOUT;

#[cfg(doc)]
use super::Session;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Both directions ended and were acknowledged.
    Finished,
    /// The peer aborted (its TCP peer reset, or its target was unreachable),
    /// saying why if it is this program.
    PeerAborted(AbortCode),
    /// This side aborted ([`Session::abort`]).
    LocalAbort,
    /// The peer was silent for too long.
    PeerTimeout,
    /// A C peer went silent: the only way it ends a session (it stops
    /// sending when its TCP connection closes), so this is a normal end.
    LegacyPeerSilent,
    /// Our oldest unacknowledged frame was not acknowledged for the whole
    /// peer timeout, although the peer may still be heard (heartbeats from a
    /// peer that lost the session, or that stopped reading).
    NoProgress,
    /// The peer acknowledged a frame that was never sent: it is not the
    /// peer of this session (a restarted process, or a forged frame).
    ProtocolViolation,
    /// A server session carried no stream byte either way for
    /// [`UNUSED_SESSION_TIMEOUT`] after it opened (a forged or abandoned
    /// opening frame holding a session slot).
    Unused,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Finished => f.write_str("finished"),
            CloseReason::PeerAborted(code) => write!(f, "{code}"),
            CloseReason::LocalAbort => f.write_str("aborted here"),
            CloseReason::PeerTimeout => f.write_str("the other side went silent"),
            CloseReason::LegacyPeerSilent => f.write_str("finished (the C peer stopped)"),
            CloseReason::NoProgress => f.write_str("the other side acknowledged nothing"),
            CloseReason::ProtocolViolation => {
                f.write_str("a frame that does not belong to this session")
            }
            CloseReason::Unused => f.write_str("unused"),
        }
    }
}

impl CloseReason {
    /// True for the ends after which the local TCP connection is closed
    /// normally; after the others it is reset, so that the local peer does
    /// not mistake a cut-off stream for a complete one.
    pub fn is_graceful(self) -> bool {
        matches!(self, CloseReason::Finished | CloseReason::LegacyPeerSilent)
    }
}

/// Something the I/O shell must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The peer's stream ended: shut down the write half of the TCP socket.
    PeerEof,
    /// The session is over: close the TCP socket and forget the session.
    Closed(CloseReason),
}
