//! Admission: what a frame for a session the server side does not have may
//! do. Only an opening frame (with a key, an authentic HELLO) of an id that
//! has not ended opens a session, within `--max-sessions` and the bound on
//! unconfirmed sealed sessions, for a target this side may dial; anything
//! else is dropped, counted, and (unsealed, within the answer budget)
//! answered with an abort.

use std::time::Instant;

use super::{ServerAction, ServerRouter};
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::{self, decode, flags, Header, RemoteConfig};
use crate::protocol::topic::{ReplyTo, SessionId};
use crate::router::counters::{Pending, Slot};
use crate::router::refusals::Refusal;
use crate::secure::channel::Channel;
use crate::targets::{AllowList, Requested};

/// Sealed sessions a recorded HELLO may open (they never dial, but hold a
/// session and answer until they give up) are at most this many, and a
/// quarter of --max-sessions: replays cannot crowd out real clients.
const MAX_UNCONFIRMED: usize = 64;

/// Where new sessions connect to by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `-a`.
    pub host: String,
    /// `-p`.
    pub port: u16,
}

impl Target {
    /// The host and port a session dials: the client's request, if any,
    /// over the defaults.
    pub fn resolve(&self, remote: Option<RemoteConfig>) -> (String, u16) {
        let remote = remote.unwrap_or_default();
        (
            remote.ip.map_or(self.host.clone(), |ip| ip.to_string()),
            remote.port.unwrap_or(self.port),
        )
    }

    /// True if the session may dial `host:port`: the defaults always, any
    /// other target only through an `--allow-remote` rule.
    fn permits(
        &self,
        host: &str,
        port: u16,
        remote: Option<RemoteConfig>,
        allow: &AllowList,
    ) -> bool {
        (host == self.host && port == self.port)
            || allow.permits(&Requested {
                host,
                ip: remote.and_then(|r| r.ip),
                port,
            })
    }
}

/// A session the router admitted: the shell starts it.
#[derive(Debug)]
pub struct Opening {
    /// Its id.
    pub id: SessionId,
    /// The opening frame (opened, if sealed).
    pub frame: Vec<u8>,
    /// Its keys, if sealed.
    pub channel: Option<Channel>,
    /// What to dial.
    pub host: String,
    /// The port to dial.
    pub port: u16,
    /// False: the client asked for a target that is not allowed; the
    /// session only tells it so (sealed sessions, whose abort must be
    /// sealed too).
    pub permitted: bool,
    /// Its `--max-sessions` slot.
    pub slot: Slot,
    /// Counted as unconfirmed until the client proves its key (sealed).
    pub pending: Option<Pending>,
}

impl<H> ServerRouter<H> {
    /// The frame of a payload for a session this side does not have, and
    /// its channel: with a key, only an authentic HELLO of an id that has
    /// not ended has one; any other payload is dropped unanswered (an answer
    /// would be an oracle, and an amplifier).
    fn open_payload(
        &mut self,
        id: &SessionId,
        payload: &[u8],
        now: Instant,
    ) -> Option<(Vec<u8>, Option<Channel>)> {
        let Some(psk) = &self.settings.psk else {
            return Some((payload.to_vec(), None));
        };
        if self.tombstones.contains(id) {
            return None;
        }
        let mut plain = Vec::new();
        match Channel::accept(psk, id, payload, &mut plain) {
            Ok(channel) => Some((plain, Some(channel))),
            Err(_) => {
                self.common.refusals.note(Refusal::Unauthenticated, now);
                None
            }
        }
    }

    /// A frame for a session this side does not have: only an opening
    /// frame (with a key: an authentic HELLO) may create one.
    pub(super) fn admit(&mut self, id: SessionId, payload: &[u8], now: Instant) -> ServerAction {
        let Some((plain, mut channel)) = self.open_payload(&id, payload, now) else {
            return ServerAction::None;
        };
        // A HELLO naming one of this process's last two challenges comes
        // from a client that saw its announcement within two challenge
        // periods: a budget of its own, apart from HELLOs recorded before
        // (naming an earlier challenge or process, or none).
        let bound = self.names_us(channel.as_ref().and_then(Channel::named));
        if let Some(c) = channel.as_mut() {
            c.answer_as(self.own);
        }
        let (header, remote) = match decode(&plain) {
            Ok(frame) => (frame.header, frame.remote_config),
            Err(_) => {
                log::debug!("session {id}: dropping undecodable frame");
                self.common.refusals.note(Refusal::Undecodable, now);
                return ServerAction::None;
            }
        };
        if header.has(flags::BEACON) || frame::is_close(&header) {
            return ServerAction::None;
        }
        let sealed = channel.is_some();
        let ended = self.tombstones.contains(&id);
        if ended || !frame::opens_session(&header) {
            // The peer still thinks the session is alive: it ended here (a
            // straggler: expected, not counted), or this process restarted
            // since. Never dial.
            log::debug!("session {id}: unknown or ended, answering with an abort");
            if !ended {
                self.common.refusals.note(Refusal::UnknownSession, now);
            }
            if !sealed {
                let close = frame::encode(&frame::close_header(), None, &[]);
                self.answer(&id, &header, close, now);
            }
            return ServerAction::None;
        }
        let (host, port) = self.settings.target.resolve(remote);
        let permitted = self
            .settings
            .target
            .permits(&host, port, remote, &self.settings.allow);
        if !permitted && !self.refuse_target(&id, &header, (&host, port), sealed, now) {
            return ServerAction::None;
        }
        if !self.has_room(sealed, bound) {
            // Dropped: the client retries, then times out.
            log::debug!(
                "session {id}: refused, {} sessions open",
                self.common.counters().in_use()
            );
            self.common.refusals.note(Refusal::SessionLimit, now);
            return ServerAction::None;
        }
        if !self.common.budget_admits(now) {
            return ServerAction::None;
        }
        let openings = if bound {
            &mut self.bound_openings
        } else {
            &mut self.openings
        };
        if !openings.try_take(now) {
            log::debug!("session {id}: refused, too many new sessions per second");
            self.common.refusals.note(Refusal::OpeningRate, now);
            return ServerAction::None;
        }
        let counters = self.common.counters();
        ServerAction::Open(Box::new(Opening {
            id,
            frame: plain,
            pending: sealed.then(|| Pending::new(counters, bound)),
            slot: Slot::take(counters),
            channel,
            host,
            port,
            permitted,
        }))
    }

    /// A session asks for a target no rule allows: one line names it, more
    /// within the report period are only counted. Unsealed, it is refused
    /// without a session (every retransmission of the opening frame gets
    /// the same answer): false. Sealed, the abort must be sealed too, by a
    /// session: true.
    fn refuse_target(
        &mut self,
        id: &SessionId,
        header: &Header,
        (host, port): (&str, u16),
        sealed: bool,
        now: Instant,
    ) -> bool {
        let refusals = &mut self.common.refusals;
        if refusals.count(Refusal::TargetNotAllowed) == 0 {
            log::warn!(
                "session {id}: refused to dial {host}:{port} for a client: not this server \
                 side's target, and no --allow-remote rule allows it"
            );
        }
        refusals.note(Refusal::TargetNotAllowed, now);
        if !sealed {
            self.answer(
                id,
                header,
                frame::close_frame(AbortCode::TargetNotAllowed),
                now,
            );
        }
        sealed
    }

    /// True if one more session fits: `--max-sessions` in all, and a
    /// bounded number of unconfirmed sealed ones, counted apart for HELLOs
    /// naming this process (`bound`) and the others.
    fn has_room(&self, sealed: bool, bound: bool) -> bool {
        let counters = self.common.counters();
        let unconfirmed_cap = (self.settings.max_sessions / 4).clamp(1, MAX_UNCONFIRMED);
        let unconfirmed = if bound {
            counters.unconfirmed_bound()
        } else {
            counters.unconfirmed()
        };
        counters.in_use() < self.settings.max_sessions
            && !(sealed && unconfirmed >= unconfirmed_cap)
    }

    /// Answers a refused frame of session `id` (with `header`) with
    /// `frame`, within the answer budget, where its client reads.
    fn answer(&mut self, id: &SessionId, header: &Header, frame: Vec<u8>, now: Instant) {
        if self.common.refusals.may_answer(now) {
            for topic in self.common.topics().replies(id, ReplyTo::of(id, header)) {
                self.common.publish(topic, frame.clone(), false);
            }
        }
    }
}
