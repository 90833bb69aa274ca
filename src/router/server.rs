//! The server side's router: frames of known sessions go to them, an
//! opening frame of a new session id is admitted (or refused) here, ended
//! sessions are remembered so that late frames never recreate them, the
//! beacon and the instance announcement are published, and a twin (another
//! process with this server-side id) is told apart from a stale or replayed
//! announcement.

use std::fmt;
use std::rc::Rc;
use std::time::Instant;

mod admission;

pub use admission::{Opening, Target};

use super::common::{Common, Message, Route, Router};
use super::counters::Counters;
use super::openings::OpeningRate;
use super::tombstones::Tombstones;
use super::twins::{Challenge, Twins, Verdict};
use crate::protocol::frame;
use crate::protocol::instance::{self, Announcement, Challenged};
use crate::protocol::labels::{BEACON_LABEL, CHALLENGE_LABEL, INSTANCE_LABEL};
use crate::protocol::limits::{BEACON_PERIOD, CHALLENGE_PERIOD};
use crate::protocol::topic::{Direction, SessionId, Topics};
use crate::secure::psk::Psk;
use crate::secure::signed::{self, Signed};
use crate::targets::AllowList;

/// What the shell does with a message, as the server router decides.
#[derive(Debug)]
pub enum ServerAction {
    /// Nothing (counted or logged where worth it).
    None,
    /// Hand the message to this session.
    Deliver(SessionId),
    /// Start this session, then [`Common::insert`] its handle.
    Open(Box<Opening>),
    /// Another server side with this id, which started first, is connected:
    /// this process must stop.
    Stop(TwinStop),
}

/// Why a server side stops for a twin; `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwinStop {
    /// The id both use.
    pub server_side_id: String,
    /// The other process.
    pub other: Announcement,
}

impl fmt::Display for TwinStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "another server side with id '{}' (started {}, before this one) is connected to \
             the broker: stopping this one; run only one server side per --server-side-id",
            self.server_side_id,
            StartedAgo(&self.other)
        )
    }
}

/// When the process of an announcement started, as "N s ago" (or "by a
/// clock ahead of this one").
struct StartedAgo<'a>(&'a Announcement);

impl fmt::Display for StartedAgo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match instance::now_ns().checked_sub(self.0.started_ns) {
            Some(ago) => write!(f, "{} s ago", ago / 1_000_000_000),
            None => f.write_str("by a clock ahead of this one"),
        }
    }
}

/// The server side's settings the router needs.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `-s`'s id.
    pub server_side_id: String,
    /// `-a`/`-p`.
    pub target: Target,
    /// `--allow-remote`.
    pub allow: AllowList,
    /// `-b`.
    pub beacon: bool,
    /// `--max-sessions`.
    pub max_sessions: usize,
    /// This server side's key (scoped to its topics), if any.
    pub psk: Option<Psk>,
}

/// The server side's router.
#[derive(Debug)]
pub struct ServerRouter<H> {
    common: Common<H>,
    settings: ServerSettings,
    beacon_topic: String,
    instance_topic: String,
    tombstones: Tombstones,
    own: Announcement,
    twins: Twins,
    /// Challenges made so far (one per connect and per
    /// [`CHALLENGE_PERIOD`], with a key).
    challenges: u64,
    /// When the next challenge is due, while connected with a key.
    next_challenge: Instant,
    /// New sessions per second (see `openings.rs`); sessions whose HELLO
    /// named this process have a bucket of their own.
    openings: OpeningRate,
    bound_openings: OpeningRate,
    link_up: bool,
    next_beacon: Instant,
}

impl<H> ServerRouter<H> {
    /// The router of a server side on `topics`, announcing itself as `own`.
    pub fn new(
        settings: ServerSettings,
        topics: Topics,
        counters: Rc<Counters>,
        own: Announcement,
        now: Instant,
    ) -> ServerRouter<H> {
        ServerRouter {
            beacon_topic: topics.beacon(),
            instance_topic: topics.instance(),
            common: Common::new(topics, counters, now),
            settings,
            tombstones: Tombstones::default(),
            own,
            twins: Twins::new(own),
            challenges: 0,
            next_challenge: now,
            openings: OpeningRate::new(now),
            bound_openings: OpeningRate::new(now),
            link_up: false,
            next_beacon: now,
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &ServerSettings {
        &self.settings
    }

    /// What to do with a message the broker delivered.
    pub fn handle_message(&mut self, msg: &Message<'_>, now: Instant) -> ServerAction {
        if msg.topic == self.instance_topic {
            self.common.absorb(now);
            return self.announcement(msg.payload);
        }
        match self.common.route(msg, Direction::ToServer, now) {
            Route::NotOurs | Route::Retained => ServerAction::None,
            Route::Known(id) => ServerAction::Deliver(id),
            Route::Unknown(id) => self.admit(id, msg.payload, now),
        }
    }

    /// A message on the instance topic: with a key, only announcements made
    /// with it count, and only a live one (answering our challenge) can
    /// make this side stop; without a key a twin is only suspected (see
    /// `twins.rs`).
    fn announcement(&mut self, payload: &[u8]) -> ServerAction {
        let id = &self.settings.server_side_id;
        let verdict = match &self.settings.psk {
            Some(psk) => {
                let len = instance::CHALLENGED_LEN;
                let signed = signed::classify(Some(psk), id, INSTANCE_LABEL, len, payload);
                match signed {
                    Signed::Ours(body) => match Challenged::decode(body) {
                        Some(other) => self.twins.received_keyed(&other),
                        None => Verdict::Nothing,
                    },
                    _ => Verdict::Nothing,
                }
            }
            None => match signed::classify(None, id, INSTANCE_LABEL, instance::LEN, payload) {
                Signed::Plain(body) => self.twins.received(body),
                _ => Verdict::Nothing,
            },
        };
        if self.twins.take_answer_due() {
            self.announce();
        }
        self.verdict(verdict)
    }

    /// Says what a twin verdict means; the action to take.
    fn verdict(&self, verdict: Verdict) -> ServerAction {
        let id = &self.settings.server_side_id;
        match verdict {
            Verdict::Nothing => ServerAction::None,
            Verdict::KeepServing(other) => {
                log::warn!(
                    "another server side with id '{id}' and this key (started {}) connects to \
                     this broker too, which hands the connection to each in turn; this one \
                     started first and keeps serving, the other one stops",
                    StartedAgo(&other)
                );
                ServerAction::None
            }
            Verdict::Suspected(other) => {
                log::warn!(
                    "another server side with id '{id}' (announced as started {}) seems to \
                     connect to this broker too, which hands the connection to each in turn, \
                     or someone replays its announcement; without --psk-file that cannot be \
                     told apart, so this one keeps serving (said once); run only one server \
                     side per --server-side-id",
                    StartedAgo(&other)
                );
                ServerAction::None
            }
            Verdict::Stop(other) => ServerAction::Stop(TwinStop {
                server_side_id: self.settings.server_side_id.clone(),
                other,
            }),
        }
    }

    /// The next challenge, with a key: fresh for every connect and period
    /// of every process (its nonce is random), unforgeable without the key.
    fn next_challenge(&mut self) -> Option<Challenge> {
        let psk = self.settings.psk.as_ref()?;
        self.challenges += 1;
        Some(psk.tag(
            &[&self.own.nonce, &self.challenges.to_be_bytes()],
            CHALLENGE_LABEL,
        ))
    }

    /// Whether a HELLO naming `named` is from a client that saw one of our
    /// last two challenges.
    pub(super) fn names_us(&self, named: Option<Challenge>) -> bool {
        named.is_some_and(|c| self.twins.is_recent(&c))
    }

    /// Publishes this process's announcement, retained: with a key, with
    /// this connect's challenge and the newest answer, tagged.
    fn announce(&mut self) {
        let payload = match &self.settings.psk {
            Some(psk) => signed::sign(
                psk,
                &self.settings.server_side_id,
                INSTANCE_LABEL,
                self.twins.announcement(instance::now_ns()),
            ),
            None => self.own.encode(),
        };
        self.common
            .publish(self.instance_topic.clone(), payload, true);
    }

    /// `payload`, tagged with the key if there is one.
    fn signed(&self, label: &[u8], payload: Vec<u8>) -> Vec<u8> {
        match &self.settings.psk {
            Some(psk) => signed::sign(psk, &self.settings.server_side_id, label, payload),
            None => payload,
        }
    }
}

impl<H> Router for ServerRouter<H> {
    type Handle = H;

    fn common(&self) -> &Common<H> {
        &self.common
    }

    fn common_mut(&mut self) -> &mut Common<H> {
        &mut self.common
    }

    /// Announces this process (retained; with a key, with the time of
    /// publishing), and beacons at once.
    fn link_up(&mut self, now: Instant) -> bool {
        self.link_up = true;
        match self.next_challenge() {
            Some(challenge) => {
                self.twins.connected_keyed(challenge);
                self.next_challenge = now + CHALLENGE_PERIOD;
            }
            None => {
                let _ = self.twins.connected();
            }
        }
        self.announce();
        self.next_beacon = now;
        self.common.link_up(now)
    }

    fn link_down(&mut self) {
        self.link_up = false;
    }

    /// Remembers the id, so that late frames never recreate the session.
    fn session_done(&mut self, id: &SessionId, now: Instant) {
        self.common.absorb(now);
        self.common.remove(id);
        self.tombstones.bury(*id);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let beacon = (self.settings.beacon && self.link_up).then_some(self.next_beacon);
        let challenge =
            (self.settings.psk.is_some() && self.link_up).then_some(self.next_challenge);
        [beacon, challenge, self.common.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.link_up && now >= self.next_challenge {
            if let Some(challenge) = self.next_challenge() {
                self.twins.rotate(challenge);
                self.announce();
                self.next_challenge = now + CHALLENGE_PERIOD;
            }
        }
        if self.settings.beacon && self.link_up && now >= self.next_beacon {
            let beacon = self.signed(BEACON_LABEL, frame::beacon());
            self.common
                .publish(self.beacon_topic.clone(), beacon, false);
            self.next_beacon = now + BEACON_PERIOD;
        }
        self.common.handle_timeout(now);
    }
}
