//! What a session is set up with: its side of the tunnel and its settings,
//! and what it learns of its peer.

use std::time::Duration;

use crate::protocol::frame::RemoteConfig;

/// Which side of the tunnel this session is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that accepted the TCP connection; it opens the session.
    Client {
        /// Target override sent in the first frame.
        remote_config: Option<RemoteConfig>,
    },
    /// The side that dials the target.
    Server,
}

/// Per-session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Frames in flight toward a capable peer.
    pub window: usize,
    /// Stream bytes per frame toward a capable peer.
    pub frame_data: usize,
    /// Silence after which the session is closed.
    pub peer_timeout: Duration,
}

/// What kind of program the peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// Not heard from yet.
    Unknown,
    /// The C original.
    Legacy,
    /// This program.
    Capable,
}
