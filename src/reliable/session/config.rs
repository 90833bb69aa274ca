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

/// What a broker's publish quota asks of a session (`--mqtt-max-rate`):
/// fewer, larger publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// How long an acknowledgement waits for a data frame to ride on.
    pub ack_delay: Duration,
    /// The smallest frame the adaptive sizing may choose, in stream bytes
    /// (within the largest the session may send).
    pub frame_floor: usize,
}

impl Quota {
    /// For a process that may publish `publishes` times and, if capped,
    /// `bytes` bytes per second: acknowledgements wait up to two publishes'
    /// time (2 ms to 200 ms), and frames carry at least what the bandwidth
    /// allows per publish (full frames without a bandwidth cap).
    pub fn for_caps(publishes: u32, bytes: Option<u64>) -> Quota {
        let per_publish = Duration::from_secs(2) / publishes.max(1);
        Quota {
            ack_delay: per_publish.clamp(Duration::from_millis(2), Duration::from_millis(200)),
            frame_floor: bytes.map_or(usize::MAX, |b| (b / u64::from(publishes.max(1))) as usize),
        }
    }
}
