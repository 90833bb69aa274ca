//! The client side's router: frames travelling toward this side go to
//! their sessions, local connections are admitted within
//! `--max-sessions`, and the server side's announcement tells what to say
//! when it never answers and, with a key, when it restarted (and lost every
//! session).

use std::rc::Rc;
use std::time::Instant;

use super::common::{Common, Message, Route, Router};
use super::counters::Counters;
use super::no_answer::NoAnswer;
use super::refusals::Refusal;
use super::replies::Layout;
use crate::protocol::instance::{self, Announcement, Challenged};
use crate::protocol::labels::INSTANCE_LABEL;
use crate::protocol::topic::{Direction, SessionId, Topics};
use crate::router::twins::Challenge;
use crate::secure::psk::{Psk, TAG_LEN};
use crate::secure::signed::{self, Signed};

/// What the shell does with a message, as the client router decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAction {
    /// Nothing.
    None,
    /// Hand the message to this session.
    Deliver(SessionId),
    /// A server process newer than any before announced itself with the
    /// key: every session is told, and those an earlier process served
    /// reset themselves (see `Channel::announced`).
    ServerAnnounced(Announcement, Option<Challenge>),
}

/// The client side's router.
#[derive(Debug)]
pub struct ClientRouter<H> {
    common: Common<H>,
    server_side_id: String,
    instance_topic: String,
    psk: Option<Psk>,
    max_sessions: usize,
    /// The newest server process known from a keyed announcement.
    server_instance: Option<Announcement>,
    /// When the newest challenge taken was published (its process's clock).
    challenge_at: u64,
    /// `--mqtt-max-subs`, for the line said when it binds.
    subscription_limit: usize,
    /// That line was said.
    said_subscriptions: bool,
}

impl<H> ClientRouter<H> {
    /// The router of a client side of `server_side_id` on `topics`, with
    /// the server side's key if any.
    pub fn new(
        server_side_id: &str,
        topics: Topics,
        psk: Option<Psk>,
        max_sessions: usize,
        counters: Rc<Counters>,
        now: Instant,
    ) -> ClientRouter<H> {
        ClientRouter {
            instance_topic: topics.instance(),
            common: Common::new(topics, counters, now),
            server_side_id: server_side_id.to_owned(),
            psk,
            max_sessions,
            server_instance: None,
            challenge_at: 0,
            subscription_limit: 0,
            said_subscriptions: false,
        }
    }

    /// The broker lets one connection hold `limit` subscriptions, of which
    /// `permanent` are the process's own: the rest may be sessions' own
    /// reply topics.
    pub fn set_subscription_limit(&mut self, limit: usize, permanent: usize) {
        self.subscription_limit = limit;
        let room = limit.saturating_sub(permanent);
        self.common.counters().own_topic_room.set(Some(room));
    }

    /// A local connection arrived: true if it may have a session; false
    /// (counted) if it must be reset, `--max-sessions` being in use.
    pub fn admit_local(&mut self, now: Instant) -> bool {
        self.common.absorb(now);
        let counters = self.common.counters();
        if counters.in_use() >= self.max_sessions {
            self.common.refusals.note(Refusal::ConnectionLimit, now);
            return false;
        }
        if !self.common.budget_admits(now) {
            return false;
        }
        let counters = self.common.counters();
        // Toward a server side that answers each session on its own topic,
        // every session needs a subscription of its own.
        let per_session = counters.replies.layout() == Layout::PerSession;
        if per_session && !counters.own_topic_fits() {
            if !self.said_subscriptions {
                self.said_subscriptions = true;
                log::warn!(
                    "the broker allows {} subscriptions per connection (--mqtt-max-subs, \
                     --broker-profile): toward this server side, which answers each session \
                     on its own topic (the C original or an earlier version), at most {} \
                     sessions at once; more connections are reset",
                    self.subscription_limit,
                    counters.own_topic_room.get().unwrap_or(0)
                );
            }
            self.common.refusals.note(Refusal::SubscriptionLimit, now);
            return false;
        }
        true
    }

    /// What to do with a message the broker delivered.
    pub fn handle_message(&mut self, msg: &Message<'_>, now: Instant) -> ClientAction {
        if msg.topic == self.instance_topic {
            self.common.absorb(now);
            return self.announcement(msg.payload);
        }
        match self.common.route(msg, Direction::ToClient, now) {
            Route::Known(id) => ClientAction::Deliver(id),
            Route::NotOurs | Route::Retained | Route::Unknown(_) => ClientAction::None,
        }
    }

    /// The server side's announcement: what it says about keys; with a key,
    /// an announcement (made with it: no one else can) of a process started
    /// after the one known means the server side restarted, and lost every
    /// session: a keyed server side cannot tell a client so (it cannot
    /// authenticate frames of sessions it lost). A recorded older one is
    /// ignored.
    fn announcement(&mut self, payload: &[u8]) -> ClientAction {
        let (keying, instance, challenged) = self.keying(payload);
        self.common.counters().no_answer.set(keying);
        let Some(new) = instance else {
            return ClientAction::None;
        };
        let newer = match &self.server_instance {
            Some(known) if new.started_ns > known.started_ns => new.nonce != known.nonce,
            Some(known) if *known != new => return ClientAction::None,
            _ => false,
        };
        self.server_instance = Some(new);
        let counters = self.common.counters();
        if let Some(c) = challenged.filter(|c| newer || c.published_ns > self.challenge_at) {
            // New sessions' HELLOs name its newest challenge; a recorded
            // older one of the same process is not taken back.
            self.challenge_at = c.published_ns;
            counters.server_challenge.set(Some(c.challenge));
        } else if newer && challenged.is_none() {
            // An earlier version, which would not know a bound HELLO.
            counters.server_challenge.set(None);
        }
        if !newer || self.common.is_empty() {
            return ClientAction::None;
        }
        log::debug!("a newer server process announced itself with the key");
        ClientAction::ServerAnnounced(new, counters.server_challenge.get())
    }

    /// What the server side's announcement says about its key, and the
    /// process it announces, if made with our key; its challenge, if it
    /// carries one (a server side of this version, which knows bound
    /// HELLOs).
    fn keying(&self, payload: &[u8]) -> (NoAnswer, Option<Announcement>, Option<Challenged>) {
        let psk = self.psk.as_ref();
        if payload.len() == instance::LEN {
            let keying = match psk {
                Some(_) => NoAnswer::ServerHasNoKey,
                None => NoAnswer::Unknown,
            };
            return (keying, None, None);
        }
        // A server side of this version announces with a live challenge,
        // an earlier one without.
        let len = if payload.len() == instance::CHALLENGED_LEN + TAG_LEN {
            instance::CHALLENGED_LEN
        } else {
            instance::KEYED_LEN
        };
        let signed = signed::classify(psk, &self.server_side_id, INSTANCE_LABEL, len, payload);
        match (signed, psk.is_some()) {
            (Signed::Foreign(_), false) => (NoAnswer::ServerNeedsKey, None, None),
            (Signed::Foreign(_), true) => (NoAnswer::KeysDiffer, None, None),
            (Signed::Ours(body), _) => (
                NoAnswer::SameKey,
                Announcement::decode(&body[..instance::LEN]),
                Challenged::decode(body),
            ),
            _ => (NoAnswer::Unknown, None, None),
        }
    }
}

impl<H> Router for ClientRouter<H> {
    type Handle = H;

    fn common(&self) -> &Common<H> {
        &self.common
    }

    fn common_mut(&mut self) -> &mut Common<H> {
        &mut self.common
    }

    fn link_up(&mut self, now: Instant) -> bool {
        self.common.link_up(now)
    }

    fn session_done(&mut self, id: &SessionId, now: Instant) {
        self.common.absorb(now);
        self.common.remove(id);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.common.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.common.handle_timeout(now);
    }
}
