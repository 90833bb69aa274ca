//! Two server sides with the same server-side-id (a service and a forgotten
//! manual run). The id is their MQTT client id, so the broker hands the
//! connection to each in turn: both reconnect for ever and both serve
//! sessions. Sans-IO detection, fed by the server side's router: at every
//! connect, a server side publishes its announcement retained on
//! `P/S/instance`, to which it subscribes; the broker delivers the retained
//! message (the other process's, if one connected in between) at each
//! subscribe.
//!
//! Anyone on the broker can record an announcement and replay it, and can
//! take the id over (connect with it as client id) to make a server side
//! reconnect as often as it likes. So:
//!
//! - **With a key**, only a live proof counts: each connect's announcement
//!   carries a fresh challenge (tagged with the key, so unforgeable, and
//!   never used by an earlier process), and answers the newest challenge
//!   seen from another process. An announcement of another process that
//!   answers one of our last two challenges was made, with the key, after
//!   our last connect but one: a live twin, not a recording. The process
//!   that started first keeps serving (and answers, so that the other gets
//!   its proof); the newer one stops (exit code 2, so that systemd does not
//!   restart it into the same conflict: no one without the key can cause
//!   it).
//! - **Without a key** nothing proves anything: a foreign announcement seen
//!   at two later connects (not the first: it may be stale) is reported
//!   once as a suspected twin, and the side keeps serving.

use crate::protocol::instance::{Announcement, Challenged, CHALLENGE_LEN};

/// Connects at which a foreign unkeyed announcement must be seen before it
/// is reported.
const SIGHTINGS: u32 = 2;

/// A challenge of ours (one per connect).
pub type Challenge = [u8; CHALLENGE_LEN];

/// What the router should do after an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing (our own, stale, replayed, or not yet sure).
    Nothing,
    /// A live twin is proven; this process started first and keeps
    /// serving. Reported once.
    KeepServing(Announcement),
    /// A live twin that started first is proven: this process must stop.
    Stop(Announcement),
    /// Without a key: another process seems to use this id. Reported once;
    /// this process keeps serving.
    Suspected(Announcement),
}

#[derive(Debug)]
pub struct Twins {
    own: Announcement,
    connects: u64,
    first_announced: Option<u64>,
    sightings: u32,
    last_sighting: u64,
    reported: bool,
    /// This connect's challenge and the previous one's.
    challenges: [Option<Challenge>; 2],
    /// The newest challenge of another process seen, answered in ours.
    answer: Challenge,
    /// The connect at which an answer was last announced again (at most
    /// once per connect: replays cannot make this side publish more).
    answered_at: u64,
    answer_due: bool,
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
            challenges: [None; 2],
            answer: [0; CHALLENGE_LEN],
            answered_at: 0,
            answer_due: false,
        }
    }

    /// The broker connection is up: the unkeyed announcement to publish,
    /// retained.
    pub fn connected(&mut self) -> Vec<u8> {
        self.connects += 1;
        self.first_announced.get_or_insert(self.connects);
        self.own.encode()
    }

    /// The broker connection is up, with a key: this connect's challenge
    /// (made by the caller with the key). The announcement to tag and
    /// publish, retained, is [`Self::announcement`].
    pub fn connected_keyed(&mut self, challenge: Challenge) {
        self.connects += 1;
        self.challenges = [Some(challenge), self.challenges[0]];
    }

    /// A fresh challenge while connected (see
    /// `protocol::limits::CHALLENGE_PERIOD`); the previous one still counts.
    pub fn rotate(&mut self, challenge: Challenge) {
        self.challenges = [Some(challenge), self.challenges[0]];
    }

    /// True if `c` is one of our last two challenges.
    pub fn is_recent(&self, c: &Challenge) -> bool {
        self.challenges.contains(&Some(*c))
    }

    /// Our keyed announcement as it stands, published at `published_ns`.
    pub fn announcement(&self, published_ns: u64) -> Vec<u8> {
        Challenged {
            announcement: self.own,
            challenge: self.challenges[0].unwrap_or([0; CHALLENGE_LEN]),
            answer: self.answer,
            published_ns,
        }
        .encode()
    }

    /// True once after a new challenge of another process arrived: our
    /// announcement (see [`Self::announcement`]) goes out again to answer
    /// it.
    pub fn take_answer_due(&mut self) -> bool {
        std::mem::take(&mut self.answer_due)
    }

    /// An announcement made with our key arrived.
    pub fn received_keyed(&mut self, other: &Challenged) -> Verdict {
        if other.announcement.nonce == self.own.nonce {
            return Verdict::Nothing;
        }
        if other.challenge != self.answer {
            self.answer = other.challenge;
            if self.answered_at != self.connects {
                self.answered_at = self.connects;
                self.answer_due = true;
            }
        }
        if !self.challenges.contains(&Some(other.answer)) {
            return Verdict::Nothing;
        }
        let twin = other.announcement;
        if !self.own.is_older_than(&twin) {
            return Verdict::Stop(twin);
        }
        if std::mem::replace(&mut self.reported, true) {
            return Verdict::Nothing;
        }
        Verdict::KeepServing(twin)
    }

    /// An announcement without a key arrived (this side has none either).
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
        if self.sightings < SIGHTINGS || std::mem::replace(&mut self.reported, true) {
            return Verdict::Nothing;
        }
        Verdict::Suspected(other)
    }
}
