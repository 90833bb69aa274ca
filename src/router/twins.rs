//! Two server sides with the same server-side-id (a service and a forgotten
//! manual run). The id is their MQTT client id, so the broker hands the
//! connection to each in turn: both reconnect for ever and both serve
//! sessions. Sans-IO detection, fed by the server side's router:
//!
//! at every connect, a server side publishes its announcement (random
//! nonce, start time) retained on `P/S/instance`, to which it subscribes;
//! the broker delivers the retained message at each subscribe. A foreign
//! announcement at the first connect may be stale (a process that died
//! without clearing it), and is ignored. A foreign announcement at a later
//! connect was published after ours: another process with this id is
//! connected in between. Seen at two different later connects, it is a
//! twin for sure (one stale message from a broker restoring old retained
//! state is seen at most once: we overwrite it).
//!
//! The outcome is deterministic: the process that started first keeps
//! serving, the newer one stops (exit code 2, so that systemd does not
//! restart it into the same conflict).

use crate::protocol::instance::Announcement;

/// Connects at which a foreign announcement must be seen before it counts.
const SIGHTINGS: u32 = 2;

/// What the router should do after an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing (our own, stale, or not yet sure).
    Nothing,
    /// A twin is connected; this process started first and keeps serving.
    /// Reported once.
    KeepServing(Announcement),
    /// A twin that started first is connected: this process must stop.
    Stop(Announcement),
}

#[derive(Debug)]
pub struct Twins {
    own: Announcement,
    connects: u64,
    first_announced: Option<u64>,
    sightings: u32,
    last_sighting: u64,
    reported: bool,
}

impl Twins {
    pub fn new(own: Announcement) -> Twins {
        Twins {
            own,
            connects: 0,
            first_announced: None,
            sightings: 0,
            last_sighting: 0,
            reported: false,
        }
    }

    /// The broker connection is up: the announcement to publish, retained.
    pub fn connected(&mut self) -> Vec<u8> {
        self.connects += 1;
        self.first_announced.get_or_insert(self.connects);
        self.own.encode()
    }

    /// A message arrived on the instance topic.
    pub fn received(&mut self, payload: &[u8]) -> Verdict {
        let Some(other) = Announcement::decode(payload) else {
            return Verdict::Nothing;
        };
        if other.nonce == self.own.nonce
            || self
                .first_announced
                .is_none_or(|first| first >= self.connects)
        {
            return Verdict::Nothing;
        }
        if self.last_sighting != self.connects {
            self.last_sighting = self.connects;
            self.sightings += 1;
        }
        if self.sightings < SIGHTINGS {
            return Verdict::Nothing;
        }
        if !self.own.is_older_than(&other) {
            return Verdict::Stop(other);
        }
        if std::mem::replace(&mut self.reported, true) {
            return Verdict::Nothing;
        }
        Verdict::KeepServing(other)
    }
}
