//! What a router and its sessions share: counts the router's admission
//! rules read and the sessions change as they open and close, the frame
//! size the router learns from the broker, and what the server side's
//! announcement says about keys, and the paths' base delays the sessions
//! measure together. One thread owns them all (the shell runs every task
//! on one executor), so plain cells suffice.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::no_answer::NoAnswer;
use super::replies::Replies;
use crate::protocol::instance::CHALLENGE_LEN;
use crate::protocol::limits::{
    HEADER_LEN, LEGACY_FRAME_DATA, SESSION_BASE_BYTES, SESSION_RESERVED_FRAMES,
};
use crate::reliable::paths::PathBases;
use crate::reliable::session::Quota;

/// The state a router shares with its sessions.
#[derive(Debug)]
pub struct Counters {
    /// Sessions carrying a connection now (see [`Slot`]).
    in_use: Cell<usize>,
    /// Sealed server sessions whose client has not proven its key yet (see
    /// [`Pending`]).
    unconfirmed: Cell<usize>,
    /// Of those, sessions whose HELLO named this server process (a fresh
    /// client): counted in a budget of their own.
    unconfirmed_bound: Cell<usize>,
    /// Payloads of open sessions that did not open (forged, replayed, made
    /// with another key), for the router's refusal summary.
    pub rejected: Cell<u64>,
    /// The largest frame the broker carries, in stream bytes (probed, or
    /// the configured size).
    pub frame_limit: Cell<usize>,
    /// What to say when a client session's server side never answers.
    pub no_answer: Cell<NoAnswer>,
    /// Bytes of frame buffers all sessions together may hold per direction
    /// (`--max-buffer-memory`), shared equally among the slots in use.
    budget: usize,
    /// What one session reserves of the budget (see
    /// [`Counters::set_session_frame`]); 0: sessions are not admitted by
    /// the budget.
    reserve: Cell<usize>,
    /// The budget turned a session away once (said once).
    pub said_budget: Cell<bool>,
    /// Sessions closed without carrying a byte, for the router's summary.
    pub empty: Cell<u64>,
    /// The newest challenge of the newest server process that announced
    /// itself with the key (client side): new sessions' HELLOs name it.
    pub server_challenge: Cell<Option<[u8; CHALLENGE_LEN]>>,
    /// A random number naming this process to server sides (client
    /// sessions send it on their opening frames).
    pub instance: u32,
    /// The base delays of the paths the sessions run on, shared by the
    /// sessions of each path.
    pub paths: RefCell<PathBases>,
    /// The path table was full once (said once).
    pub said_paths_full: Cell<bool>,
    /// What the broker's publish quota asks of every session, if capped.
    pub quota: Cell<Option<Quota>>,
    /// Where the server side answers this (client) process's sessions.
    pub replies: Replies,
    /// Sessions subscribed to their own reply topic now (client side).
    pub own_topics: Cell<usize>,
    /// How many may be, within the broker's subscription limit
    /// (`--mqtt-max-subs`, less the process's permanent subscriptions).
    pub own_topic_room: Cell<Option<usize>>,
}

impl Counters {
    /// Nothing open yet; sessions start with frames of `frame_limit` stream
    /// bytes and share `budget` bytes of buffers.
    pub fn new(frame_limit: usize, budget: usize) -> Rc<Counters> {
        Rc::new(Counters {
            in_use: Cell::new(0),
            unconfirmed: Cell::new(0),
            unconfirmed_bound: Cell::new(0),
            rejected: Cell::new(0),
            frame_limit: Cell::new(frame_limit),
            no_answer: Cell::new(NoAnswer::Unknown),
            budget,
            reserve: Cell::new(0),
            said_budget: Cell::new(false),
            empty: Cell::new(0),
            server_challenge: Cell::new(None),
            instance: random_u32(),
            paths: RefCell::new(PathBases::default()),
            said_paths_full: Cell::new(false),
            quota: Cell::new(None),
            replies: Replies::default(),
            own_topics: Cell::new(0),
            own_topic_room: Cell::new(None),
        })
    }

    /// Whether one more session may subscribe its own reply topic within
    /// the broker's subscription limit.
    pub fn own_topic_fits(&self) -> bool {
        self.own_topic_room
            .get()
            .is_none_or(|room| self.own_topics.get() < room)
    }

    /// Sessions carry frames of up to `frame_data` stream bytes (the
    /// configured size, at least what a C peer sends): each reserves its
    /// fixed cost and [`SESSION_RESERVED_FRAMES`] frames of the budget.
    pub fn set_session_frame(&self, frame_data: usize) {
        let frame = frame_data.max(LEGACY_FRAME_DATA) + HEADER_LEN;
        self.reserve
            .set(SESSION_BASE_BYTES + SESSION_RESERVED_FRAMES * frame);
    }

    /// True if one more session's reservation fits the budget.
    pub fn budget_has_room(&self) -> bool {
        (self.in_use() + 1).saturating_mul(self.reserve.get()) <= self.budget
    }

    /// How many sessions the budget holds at once.
    pub fn budget_sessions(&self) -> usize {
        self.budget / self.reserve.get().max(1)
    }

    /// What one session reserves of the budget, in bytes.
    pub fn session_reserve(&self) -> usize {
        self.reserve.get()
    }

    /// Sessions carrying a connection now.
    pub fn in_use(&self) -> usize {
        self.in_use.get()
    }

    /// Sealed sessions waiting for their client's proof.
    pub fn unconfirmed(&self) -> usize {
        self.unconfirmed.get()
    }

    /// Sealed sessions waiting for their client's proof whose HELLO named
    /// this server process.
    pub fn unconfirmed_bound(&self) -> usize {
        self.unconfirmed_bound.get()
    }

    /// One session's share of the buffer budget now.
    pub fn share(&self) -> usize {
        self.budget / self.in_use.get().max(1)
    }
}

/// A random number (0 without a source of randomness: it only groups
/// sessions for their measurements).
fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

/// One of `--max-sessions` slots, held while the session carries a TCP
/// connection: given back when the session closes (a lingering session,
/// which only answers stray frames, holds none) or when its task ends.
/// The sessions holding a slot share the buffer budget equally.
#[derive(Debug)]
pub struct Slot(Rc<Counters>);

impl Slot {
    /// Takes a slot (the caller checked the limit).
    pub fn take(counters: &Rc<Counters>) -> Slot {
        counters.in_use.set(counters.in_use.get() + 1);
        Slot(counters.clone())
    }

    /// This session's share of the budget now: an equal share (which also
    /// bounds its inbox).
    pub fn share(&self) -> usize {
        self.0.share()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_use.set(self.0.in_use.get().saturating_sub(1));
    }
}

/// One of the unconfirmed sessions, counted while held.
#[derive(Debug)]
pub struct Pending(Rc<Counters>, bool);

impl Pending {
    /// Counts one more unconfirmed session; `bound` if its HELLO named
    /// this server process.
    pub fn new(counters: &Rc<Counters>, bound: bool) -> Pending {
        let n = if bound {
            &counters.unconfirmed_bound
        } else {
            &counters.unconfirmed
        };
        n.set(n.get() + 1);
        Pending(counters.clone(), bound)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let n = if self.1 {
            &self.0.unconfirmed_bound
        } else {
            &self.0.unconfirmed
        };
        n.set(n.get().saturating_sub(1));
    }
}
