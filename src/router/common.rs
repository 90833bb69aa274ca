//! The rules both routers share: the sessions they route to, refusals and
//! their summaries, link up and down, the frame limit, retained and
//! foreign messages, and the queue of what to publish.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Instant;

use super::counters::Counters;
use super::refusals::{Refusal, Refusals};
use crate::protocol::topic::{Direction, Incoming, SessionId, Topics};

/// A message the broker delivered.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Its topic.
    pub topic: &'a str,
    /// Its payload.
    pub payload: &'a [u8],
    /// Delivered because of a subscription to a retained message, not
    /// published now.
    pub retain: bool,
}

/// A message a router asks to publish (never one of a session's frames:
/// sessions publish their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Where.
    pub topic: String,
    /// What.
    pub payload: Vec<u8>,
    /// Kept by the broker for later subscribers.
    pub retain: bool,
}

/// Where a message on a session topic goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// Not a session frame travelling toward this side: ignored.
    NotOurs,
    /// A retained message on a session topic: stale, counted.
    Retained,
    /// A frame of a session this side has.
    Known(SessionId),
    /// A frame of a session this side does not have.
    Unknown(SessionId),
}

/// The state both routers hold.
#[derive(Debug)]
pub struct Common<H> {
    topics: Topics,
    sessions: HashMap<SessionId, H>,
    pub(super) refusals: Refusals,
    counters: Rc<Counters>,
    out: VecDeque<Outgoing>,
    was_up: bool,
}

impl<H> Common<H> {
    /// A router's state for `topics`, sharing `counters` with its sessions.
    pub(super) fn new(topics: Topics, counters: Rc<Counters>, now: Instant) -> Common<H> {
        Common {
            topics,
            sessions: HashMap::new(),
            refusals: Refusals::new(now),
            counters,
            out: VecDeque::new(),
            was_up: false,
        }
    }

    /// The topics of this router's server side.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// The state shared with the sessions.
    pub fn counters(&self) -> &Rc<Counters> {
        &self.counters
    }

    /// True if one more session fits the buffer budget; if not, it is
    /// counted, and the bound said once.
    pub(super) fn budget_admits(&mut self, now: Instant) -> bool {
        if self.counters.budget_has_room() {
            return true;
        }
        if !self.counters.said_budget.replace(true) {
            log::warn!(
                "--max-buffer-memory holds {} sessions at once with this --frame-size ({} KiB \
                 reserved each): more are refused (said once, counted in the summary)",
                self.counters.budget_sessions(),
                self.counters.session_reserve().div_ceil(1024)
            );
        }
        self.refusals.note(Refusal::BudgetFull, now);
        false
    }

    /// The handle of session `id`, if this side has it.
    pub fn session(&self, id: &SessionId) -> Option<&H> {
        self.sessions.get(id)
    }

    /// Every session's handle.
    pub fn handles(&self) -> impl Iterator<Item = &H> {
        self.sessions.values()
    }

    /// Sessions this side has (lingering ones included).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Registers a session the router asked for, under its handle.
    pub fn insert(&mut self, id: SessionId, handle: H) {
        self.sessions.insert(id, handle);
    }

    /// Forgets a session whose task ended; its handle, if it had one.
    pub(super) fn remove(&mut self, id: &SessionId) -> Option<H> {
        self.sessions.remove(id)
    }

    /// The next message to publish.
    pub fn poll_publish(&mut self) -> Option<Outgoing> {
        self.out.pop_front()
    }

    /// Queues a message to publish.
    pub(super) fn publish(&mut self, topic: String, payload: Vec<u8>, retain: bool) {
        self.out.push_back(Outgoing {
            topic,
            payload,
            retain,
        });
    }

    /// Takes what the sessions counted since the last input (payloads that
    /// did not open, sessions that carried nothing) into the summary. Every input calls it first.
    pub(super) fn absorb(&mut self, now: Instant) {
        self.refusals
            .take_count(Refusal::Unauthenticated, &self.counters.rejected, now);
        self.refusals
            .take_count(Refusal::Empty, &self.counters.empty, now);
    }

    /// The broker connection is up: true if it was up before (the sessions
    /// must resend what may have been lost meanwhile).
    pub(super) fn link_up(&mut self, now: Instant) -> bool {
        self.absorb(now);
        std::mem::replace(&mut self.was_up, true)
    }

    /// True once the broker connection has been up.
    pub fn was_up(&self) -> bool {
        self.was_up
    }

    /// The broker carries frames of up to `bytes` stream bytes.
    pub fn frame_limit(&mut self, bytes: usize) {
        self.counters.frame_limit.set(bytes);
    }

    /// `n` publishes over the packet limit were dropped as they came in.
    pub fn oversized(&mut self, n: u64, now: Instant) {
        self.absorb(now);
        self.refusals.note_many(Refusal::Oversized, n, now);
    }

    /// When the refusal summary is due (nothing counted: never).
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.refusals.next_report()
    }

    /// Logs the refusal summary if it is due.
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        self.absorb(now);
        self.refusals.report(now);
    }

    /// Where a message travelling toward this side (`toward`) goes.
    pub(super) fn route(&mut self, msg: &Message<'_>, toward: Direction, now: Instant) -> Route {
        self.absorb(now);
        match self.topics.parse(msg.topic) {
            Some(Incoming::Session(_, dir)) if dir == toward && msg.retain => {
                // Delivered because we subscribed, not sent now.
                self.refusals.note(Refusal::Retained, now);
                Route::Retained
            }
            Some(Incoming::Session(id, dir)) if dir == toward => {
                if self.sessions.contains_key(&id) {
                    Route::Known(id)
                } else {
                    Route::Unknown(id)
                }
            }
            _ => {
                log::debug!("ignoring message on topic {}", msg.topic);
                Route::NotOurs
            }
        }
    }
}

/// What the shell asks of either router, whatever its side.
pub trait Router {
    /// The shell's handle of a session.
    type Handle;
    /// The state both sides hold.
    fn common(&self) -> &Common<Self::Handle>;
    /// The same, to change.
    fn common_mut(&mut self) -> &mut Common<Self::Handle>;
    /// The broker connection is up: true if the sessions must resend what
    /// may have been lost while it was down.
    fn link_up(&mut self, now: Instant) -> bool;
    /// The broker connection dropped.
    fn link_down(&mut self) {}
    /// A session's task ended.
    fn session_done(&mut self, id: &SessionId, now: Instant);
    /// When [`Router::handle_timeout`] is due next.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Does what is due at `now`.
    fn handle_timeout(&mut self, now: Instant);
}
