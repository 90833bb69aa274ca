//! Topic layout and session ids. With P = prefix, S = server-side-id and
//! X = session id: the client publishes on `P/S/X/tx`, the server on
//! `P/S/X/rx`, beacons go to `P/S/beacon/rx`. Sessions sealed with a
//! pre-shared key (`--psk-file`) use `ktx` and `krx` instead: neither the C
//! original nor an instance without a key subscribes to them, so keyed
//! frames never reach a program that cannot read them, and a server side
//! with a key never receives a session without one.
//!
//! A client process of this program names itself on its opening frames
//! (a random 32-bit number I, [`crate::protocol::flags::INSTANCE`]) and
//! begins its session ids with it (I as 8 lowercase hex digits: the other
//! 96 bits stay random); a server side of this program then answers on
//! `P/S/X/rx/I`, so that the client subscribes once, `P/S/+/rx/I`, whatever the
//! number of its sessions (cloud brokers allow 10 or 50 subscriptions per
//! connection). Five levels: no filter of the C original or of an earlier
//! version (`P/S/X/rx`, `P/S/+/tx`, `P/+/beacon/rx`) matches them. Toward
//! a server side that answers on `P/S/X/rx` (the C original, an earlier
//! version) the client subscribes per session, as before.

use std::fmt;

use super::flags;
use super::frame::Header;

/// Bytes of randomness in a session id.
const SESSION_ID_BYTES: usize = 16;
/// Characters of a session id on the wire: 32 lowercase hex digits.
pub const SESSION_ID_LEN: usize = 2 * SESSION_ID_BYTES;

/// Bytes of randomness in a probe topic's last level: 96 bits, so that no
/// one can guess it (and publish there) or tell two processes' apart.
pub const PROBE_TOKEN_BYTES: usize = 12;

/// The last level of a process's probe topic ([`Topics::probe`]): random
/// bytes as lowercase hex digits, drawn once per process; it names nothing
/// else (not the MQTT client id, not the process's session ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeToken(String);

impl ProbeToken {
    /// A token from `PROBE_TOKEN_BYTES` random bytes.
    pub fn from_random(bytes: [u8; PROBE_TOKEN_BYTES]) -> ProbeToken {
        ProbeToken(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// A session id: 16 random bytes shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; SESSION_ID_LEN]);

impl SessionId {
    /// Builds an id from 16 random bytes.
    pub fn from_random(bytes: [u8; SESSION_ID_BYTES]) -> SessionId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; SESSION_ID_LEN];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        SessionId(out)
    }

    /// An id of the client process `instance`: its number, then 12 random
    /// bytes.
    pub fn of_instance(instance: u32, random: [u8; SESSION_ID_BYTES - 4]) -> SessionId {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        bytes[..4].copy_from_slice(&instance.to_be_bytes());
        bytes[4..].copy_from_slice(&random);
        SessionId::from_random(bytes)
    }

    /// The client process an id names, if it begins with `instance`.
    fn begins_with(&self, instance: u32) -> bool {
        let hex = format!("{instance:08x}");
        self.0[..8] == *hex.as_bytes()
    }

    /// Parses an id from a topic level; only 32 lowercase hex digits pass.
    pub fn parse(s: &str) -> Option<SessionId> {
        let bytes: [u8; SESSION_ID_LEN] = s.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            .then_some(SessionId(bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("?")
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client side → server side (`tx`).
    ToServer,
    /// Server side → client side (`rx`).
    ToClient,
}

impl Direction {
    fn suffix(self, keyed: bool) -> &'static str {
        match (self, keyed) {
            (Direction::ToServer, false) => "tx",
            (Direction::ToClient, false) => "rx",
            (Direction::ToServer, true) => "ktx",
            (Direction::ToClient, true) => "krx",
        }
    }
}

/// Where a server side answers a frame of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTo {
    /// The session's own topic `P/S/X/rx`.
    Own,
    /// Its client process's `P/S/X/rx/I`.
    Instance,
    /// Either may be read: both (a refusal of a frame of this program that
    /// does not say which version sent it).
    Both,
}

impl ReplyTo {
    /// Where a frame of session `id` with `header` is answered: the
    /// opening frame of a client process that names itself (and whose id
    /// begins with its number) on the process's topic; any other frame of
    /// this program's, unknown here, on both; the C original's on its own.
    pub fn of(id: &SessionId, header: &Header) -> ReplyTo {
        if !header.has(flags::CAPABLE) {
            ReplyTo::Own
        } else if header.has(flags::OPENING | flags::INSTANCE) && id.begins_with(header.pad) {
            ReplyTo::Instance
        } else if header.has(flags::OPENING) {
            ReplyTo::Own
        } else {
            ReplyTo::Both
        }
    }
}

/// The topic names of one server side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
    server_id: String,
    /// Sessions use the keyed suffixes.
    keyed: bool,
    /// The client process these topics are read by, if any: its replies'
    /// five-level topics are accepted too (as 8 hex digits).
    instance: Option<String>,
}

/// What an incoming topic names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A session frame.
    Session(SessionId, Direction),
    /// A beacon from the named server side.
    Beacon(&'a str),
}

impl Topics {
    /// Topics for `prefix` and `server_id` (validated by the CLI: neither
    /// contains `/`, `+`, `#` or NUL).
    pub fn new(prefix: &str, server_id: &str) -> Topics {
        Topics {
            prefix: prefix.to_owned(),
            server_id: server_id.to_owned(),
            keyed: false,
            instance: None,
        }
    }

    /// The same topics, read by the client process `instance`.
    pub fn with_instance(mut self, instance: u32) -> Topics {
        self.instance = Some(format!("{instance:08x}"));
        self
    }

    /// The same topics, with the keyed session suffixes when `keyed`.
    pub fn with_key(mut self, keyed: bool) -> Topics {
        self.keyed = keyed;
        self
    }

    /// Topic of a session's frames travelling in `dir`.
    pub fn session(&self, id: &SessionId, dir: Direction) -> String {
        format!(
            "{}/{}/{}/{}",
            self.prefix,
            self.server_id,
            id,
            dir.suffix(self.keyed)
        )
    }

    /// Topic of a session's frames toward its client process (named by
    /// the id's first 8 digits).
    pub fn session_to_instance(&self, id: &SessionId) -> String {
        format!(
            "{}/{}",
            self.session(id, Direction::ToClient),
            &id.as_str()[..8]
        )
    }

    /// Where frames of session `id` toward its client go, as `reply` says.
    pub fn replies(&self, id: &SessionId, reply: ReplyTo) -> Vec<String> {
        let own = || self.session(id, Direction::ToClient);
        match reply {
            ReplyTo::Own => vec![own()],
            ReplyTo::Instance => vec![self.session_to_instance(id)],
            ReplyTo::Both => vec![own(), self.session_to_instance(id)],
        }
    }

    /// What the client process `instance` subscribes to once: the replies
    /// of every session of its own.
    pub fn instance_filter_for(&self, instance: u32) -> String {
        format!(
            "{}/{}/+/{}/{instance:08x}",
            self.prefix,
            self.server_id,
            Direction::ToClient.suffix(self.keyed)
        )
    }

    /// True if `topic` (already routed as ours) is a reply topic of a
    /// client process rather than of one session.
    pub fn is_instance_reply(topic: &str) -> bool {
        topic.split('/').count() == 5
    }

    /// What the server side subscribes to: every session's `tx`.
    pub fn server_filter(&self) -> String {
        format!(
            "{}/{}/+/{}",
            self.prefix,
            self.server_id,
            Direction::ToServer.suffix(self.keyed)
        )
    }

    /// Where this server side publishes its beacon.
    pub fn beacon(&self) -> String {
        format!("{}/{}/beacon/rx", self.prefix, self.server_id)
    }

    /// Where a server side announces itself, retained (see
    /// [`crate::protocol::instance`]): three levels, so that no session
    /// filter (`P/S/+/tx`, `P/S/+/rx`) of this program or the C original
    /// matches it.
    pub fn instance(&self) -> String {
        format!("{}/{}/instance", self.prefix, self.server_id)
    }

    /// Where a process probes the broker's message size limit
    /// (`src/shell/probe.rs`): `P/S/probe/T`, a topic of its own named by
    /// the random `token` it drew at start. Not its MQTT client id: any
    /// subscriber of `#` reads topics, and a client connecting with that id
    /// makes the broker drop this process's connection (one connection per
    /// client id). No session filter matches it (the last level is hex
    /// digits, never `tx` or `rx`).
    pub fn probe(&self, token: &ProbeToken) -> String {
        format!("{}/{}/probe/{}", self.prefix, self.server_id, token.0)
    }

    /// What `-l` also subscribes to: every server's announcement under the
    /// prefix (which of them are this program).
    pub fn instance_filter(prefix: &str) -> String {
        format!("{prefix}/+/instance")
    }

    /// What `-l` subscribes to: every server's beacon under the prefix.
    pub fn beacon_filter(prefix: &str) -> String {
        format!("{prefix}/+/beacon/rx")
    }

    /// Classifies an incoming topic `P/S/X/d` (or, read by a client
    /// process, `P/S/X/d/I` with its own I); `None` for anything that is
    /// not ours (another prefix, malformed id, wrong suffix, another
    /// process).
    pub fn parse<'a>(&self, topic: &'a str) -> Option<Incoming<'a>> {
        let mut levels = topic.split('/');
        let (p, s, x, d) = (
            levels.next()?,
            levels.next()?,
            levels.next()?,
            levels.next()?,
        );
        let five = levels.next();
        if let Some(i) = five {
            let ours = self.instance.as_deref() == Some(i);
            if !ours || levels.next().is_some() || d != Direction::ToClient.suffix(self.keyed) {
                return None;
            }
        }
        if p != self.prefix {
            return None;
        }
        if x == "beacon" && d == "rx" && five.is_none() {
            return Some(Incoming::Beacon(s));
        }
        if s != self.server_id {
            return None;
        }
        let dir = [Direction::ToServer, Direction::ToClient]
            .into_iter()
            .find(|dir| d == dir.suffix(self.keyed))?;
        Some(Incoming::Session(SessionId::parse(x)?, dir))
    }
}
