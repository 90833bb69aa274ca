//! The instance announcement of a server side: who is serving a
//! server-side-id. Published retained on `P/S/instance` at every connect, so
//! that a second process with the same id (which the broker hands the
//! connection to in turn, the id being the MQTT client id) is told apart
//! from a stale message: see `src/router/twins.rs`. Not part of the C
//! original's protocol; it never subscribes to this topic.
//!
//! Payload: `MQFI`, version 1, 16 random bytes (this process), the process
//! start as nanoseconds since the Unix epoch (u64, big-endian): 29 bytes.

/// First bytes of every announcement.
const MAGIC: &[u8; 4] = b"MQFI";
/// Format version.
const VERSION: u8 = 1;
/// Encoded length.
pub const LEN: usize = 4 + 1 + 16 + 8;
/// Length of the body a server side with a key tags (see
/// `crate::secure::signed`): the announcement and when it was published
/// (ns since the Unix epoch, big-endian), so that a recorded one can be
/// told from a fresh one.
pub const KEYED_LEN: usize = LEN + 8;

/// Length of a live challenge and of its answer in a keyed announcement.
pub const CHALLENGE_LEN: usize = 16;
/// Length of the body a server side with a key tags since announcements
/// carry a live challenge (see `src/router/twins.rs`): the announcement,
/// this connection's challenge, the answer to the newest challenge seen
/// from another process (zeros for none), when it was published. Told from
/// the earlier keyed body ([`KEYED_LEN`], still read) by its length.
pub const CHALLENGED_LEN: usize = LEN + 2 * CHALLENGE_LEN + 8;

/// A keyed announcement with its live challenge: what a process with the
/// key proves it is alive with (it answers a challenge only seen live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenged {
    pub announcement: Announcement,
    /// Fresh at every connect of the announcing process.
    pub challenge: [u8; CHALLENGE_LEN],
    /// The newest challenge of another process this one saw.
    pub answer: [u8; CHALLENGE_LEN],
    /// When it was published (ns since the Unix epoch).
    pub published_ns: u64,
}

impl Challenged {
    /// The body to tag ([`CHALLENGED_LEN`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.announcement.encode();
        out.extend_from_slice(&self.challenge);
        out.extend_from_slice(&self.answer);
        out.extend_from_slice(&self.published_ns.to_be_bytes());
        out
    }

    /// `None` unless `body` is exactly such a body.
    pub fn decode(body: &[u8]) -> Option<Challenged> {
        if body.len() != CHALLENGED_LEN {
            return None;
        }
        let (challenge, rest) = body[LEN..].split_at(CHALLENGE_LEN);
        let (answer, published) = rest.split_at(CHALLENGE_LEN);
        Some(Challenged {
            announcement: Announcement::decode(&body[..LEN])?,
            challenge: challenge.try_into().ok()?,
            answer: answer.try_into().ok()?,
            published_ns: u64::from_be_bytes(published.try_into().ok()?),
        })
    }
}

/// The keyed body of `announcement` (encoded) published at `published_ns`.
pub fn with_published(mut announcement: Vec<u8>, published_ns: u64) -> Vec<u8> {
    announcement.extend_from_slice(&published_ns.to_be_bytes());
    announcement
}

/// When a keyed body was published.
pub fn published_ns(body: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = body.get(LEN..KEYED_LEN)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Nanoseconds since the Unix epoch now (0 with a clock before 1970).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// One process serving a server-side-id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    /// Random, per process.
    pub nonce: [u8; 16],
    /// When the process started (wall clock, ns since the Unix epoch).
    pub started_ns: u64,
}

impl Announcement {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.started_ns.to_be_bytes());
        out
    }

    /// `None` for anything that is not an announcement of this version
    /// (including the empty payload that clears the retained message).
    pub fn decode(payload: &[u8]) -> Option<Announcement> {
        if payload.len() != LEN || &payload[..4] != MAGIC || payload[4] != VERSION {
            return None;
        }
        Some(Announcement {
            nonce: payload[5..21].try_into().ok()?,
            started_ns: u64::from_be_bytes(payload[21..29].try_into().ok()?),
        })
    }

    /// True if this process started before `other` (ties broken by nonce, so
    /// that exactly one of two processes is the older).
    pub fn is_older_than(&self, other: &Announcement) -> bool {
        (self.started_ns, self.nonce) < (other.started_ns, other.nonce)
    }
}
