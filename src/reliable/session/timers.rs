//! The session's deadlines, as a table of named timers (quinn-proto's
//! `TimerTable` is the model): [`Session::deadline`] is the one place that
//! says when each timer runs out, and [`Session::timers`] which of them a
//! state has, in the order [`Session::handle_timeout`] acts on those that
//! are due. [`Session::poll_timeout`] is the earliest of the same list.

use std::time::{Duration, Instant};

use super::{CloseReason, PeerKind, Role, Session, State};
use crate::protocol::limits::{HEARTBEAT_INTERVAL, UNUSED_SESSION_TIMEOUT};

/// Longest time an acknowledgement is held back hoping to ride on a data
/// frame. Shorter than any retransmission timeout.
pub(super) const ACK_DELAY: Duration = Duration::from_millis(2);
/// Heartbeat period toward a peer of this program: it needs them only for
/// its silence timeout, so idle sessions cost the broker little.
const CAPABLE_HEARTBEAT: Duration = Duration::from_secs(5);
/// A C peer heartbeats every 500 ms, idle or not, and never says when it
/// closes; this much silence from it (ten heartbeats) means its session is
/// gone. Our own broker outages do not count: see [`Session::link_restored`].
const LEGACY_PEER_SILENCE: Duration = Duration::from_secs(5);
/// Silence after which a peer whose stream has ended is taken to be gone.
/// A peer still waiting for our data sends heartbeats every
/// [`CAPABLE_HEARTBEAT`]; one that is silent this long has lingered out
/// (so it had everything we sent) or died. This bounds the retransmission
/// of our end-of-stream frame.
const ENDED_PEER_SILENCE: Duration = Duration::from_secs(30);
/// How long a client waits for the first frame from the server side.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fully closed session stays after the last frame from its peer,
/// to re-acknowledge frames whose acknowledgement was lost. Twice the
/// largest retransmission timeout, so a peer still retransmitting is heard.
const LINGER: Duration = Duration::from_secs(10);
/// The longest a session may linger in all, however often the peer's
/// retransmissions extend [`LINGER`]: a peer that keeps sending to a closed
/// session (a bug, or a forger) cannot keep it, and its memory, for ever.
const MAX_LINGER: Duration = Duration::from_secs(60);

/// A deadline of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// The close frame is due at once ([`State::Closing`]); sent by
    /// [`Session::poll_transmit`].
    Close,
    /// The end of lingering: the session is closed.
    Linger,
    /// The peer has been silent too long: the session closes.
    PeerSilence,
    /// Our oldest unacknowledged frame has waited the whole peer timeout:
    /// the session closes.
    NoProgress,
    /// A server session has carried no stream byte since it opened: the
    /// session closes.
    Unused,
    /// The send window's retransmission timer.
    Retransmit,
    /// A client's opening frame went unanswered: it is sent again.
    Hello,
    /// An acknowledgement held back for [`ACK_DELAY`] goes out.
    AckDelay,
    /// Nothing sent for a heartbeat period: [`Session::poll_transmit`]
    /// sends a heartbeat.
    Heartbeat,
}

impl Timer {
    /// Whether only a frame going out meets this deadline (it stays due
    /// until then).
    fn needs_a_frame(self) -> bool {
        matches!(self, Timer::Close | Timer::AckDelay | Timer::Heartbeat)
    }
}

/// The timers of an open session, in the order the due ones are handled:
/// the ones that end the session first (and of those, silence before lack
/// of progress before disuse), then the ones that make frames go.
const OPEN: &[Timer] = &[
    Timer::PeerSilence,
    Timer::NoProgress,
    Timer::Unused,
    Timer::Retransmit,
    Timer::Hello,
    Timer::AckDelay,
    Timer::Heartbeat,
];

/// The timers of a lingering session: its end, then those of an open one.
/// Only the first is waited for ([`Session::poll_timeout`]); the others are
/// acted on when the session is woken anyway and they have run out (a peer
/// timeout shorter than the linger period).
const LINGERING: &[Timer] = &[
    Timer::Linger,
    Timer::PeerSilence,
    Timer::NoProgress,
    Timer::Unused,
    Timer::Retransmit,
    Timer::Hello,
    Timer::AckDelay,
    Timer::Heartbeat,
];

impl Session {
    /// When `timer` runs out, if it runs at all.
    fn deadline(&self, timer: Timer) -> Option<Instant> {
        match timer {
            // Due at once: any instant in the past makes the caller transmit.
            Timer::Close => matches!(self.state, State::Closing(_)).then_some(self.created),
            Timer::Linger => match self.state {
                State::Lingering(until) | State::CloseLingering(until, _) => Some(until),
                _ => None,
            },
            Timer::PeerSilence => Some(self.silence_deadline()),
            Timer::NoProgress => self.progress_deadline(),
            Timer::Unused => self.unused_deadline(),
            Timer::Retransmit => self.send.rto_deadline(),
            Timer::Hello => self.hello_deadline,
            Timer::AckDelay => self.ack_deadline,
            Timer::Heartbeat => Some(self.last_sent + self.heartbeat_interval()),
        }
    }

    /// The timers of the current state, in the order the due ones are
    /// handled. Inlined into its two callers: out of line, its unwind data
    /// costs more than its code.
    #[inline(always)]
    fn timers(&self) -> &'static [Timer] {
        match self.state {
            State::Open => OPEN,
            State::Closing(_) => &[Timer::Close],
            State::Lingering(_) => LINGERING,
            State::CloseLingering(..) => &[Timer::Linger],
            State::Closed(_) => &[],
        }
    }

    /// The earliest time [`Self::handle_timeout`] or [`Self::poll_transmit`]
    /// has something to do; `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.waited()
            .iter()
            .filter_map(|&timer| self.deadline(timer))
            .min()
    }

    /// The timers waited for: all of the state's, but only the end of a
    /// lingering session's.
    fn waited(&self) -> &'static [Timer] {
        match self.state {
            State::Lingering(_) => &LINGERING[..1],
            _ => self.timers(),
        }
    }

    /// The earliest deadline [`Self::handle_timeout`] acts on without a
    /// frame going out: what to wait for while the session may not
    /// transmit (its last publish waits for its turn under a broker's
    /// quota). The close, a held acknowledgement and a heartbeat are frames:
    /// they stay due and go once the session may transmit again. `None`
    /// when nothing else is waited for, or once closed.
    pub fn poll_timeout_held(&self) -> Option<Instant> {
        self.waited()
            .iter()
            .filter(|timer| !timer.needs_a_frame())
            .filter_map(|&timer| self.deadline(timer))
            .min()
    }

    /// Handles expired timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        for &timer in self.timers() {
            if self.deadline(timer).is_some_and(|d| d <= now) && self.expire(timer, now) {
                return;
            }
        }
    }

    /// Acts on `timer`, which has run out; true if the session's state
    /// changed (no later timer is handled then).
    fn expire(&mut self, timer: Timer, now: Instant) -> bool {
        self.state = match (timer, self.state) {
            (Timer::Linger, State::CloseLingering(_, reason)) => State::Closed(reason),
            (Timer::Linger, _) => State::Closed(CloseReason::Finished),
            (Timer::PeerSilence, _) => State::Closing(match self.peer {
                PeerKind::Legacy => CloseReason::LegacyPeerSilent,
                _ => CloseReason::PeerTimeout,
            }),
            (Timer::NoProgress, _) => State::Closing(CloseReason::NoProgress),
            (Timer::Unused, _) => State::Closing(CloseReason::Unused),
            (Timer::Retransmit, _) => {
                self.send.on_timeout(now);
                self.update_flow(false, now);
                return false;
            }
            (Timer::Hello, _) => {
                self.send.rtt_mut().back_off();
                self.hello_due = true;
                self.hello_deadline = None;
                return false;
            }
            (Timer::AckDelay, _) => {
                self.ack_now = true;
                return false;
            }
            // Frames, not state changes: poll_transmit sends them.
            (Timer::Close | Timer::Heartbeat, _) => return false,
        };
        true
    }

    /// True when a heartbeat is due at `now`.
    pub(super) fn heartbeat_due(&self, now: Instant) -> bool {
        self.deadline(Timer::Heartbeat).is_some_and(|d| now >= d)
    }

    fn heartbeat_interval(&self) -> Duration {
        match self.peer {
            PeerKind::Capable => CAPABLE_HEARTBEAT,
            _ => HEARTBEAT_INTERVAL,
        }
    }

    /// When the peer's silence ends the session: a shorter wait for the
    /// first frame, for a C peer and for a peer whose stream has ended.
    fn silence_deadline(&self) -> Instant {
        let timeout = self.config.peer_timeout;
        match (self.last_heard, self.peer) {
            (None, _) => self.created + timeout.min(SETUP_TIMEOUT),
            (Some(t), PeerKind::Legacy) => t + timeout.min(LEGACY_PEER_SILENCE),
            (Some(t), _) if self.recv.fin_delivered() => t + timeout.min(ENDED_PEER_SILENCE),
            (Some(t), _) => t + timeout,
        }
    }

    /// When the session gives up on a peer that acknowledges nothing: the
    /// peer timeout after the oldest unacknowledged frame started waiting.
    fn progress_deadline(&self) -> Option<Instant> {
        (!self.send.all_acked()).then(|| self.progress_at + self.config.peer_timeout)
    }

    /// When a server session that has carried nothing yet gives up.
    fn unused_deadline(&self) -> Option<Instant> {
        let unused = self.bytes_sent == 0 && self.recv.bytes_delivered() == 0 && !self.local_eof;
        (matches!(self.role, Role::Server) && unused)
            .then(|| self.created + UNUSED_SESSION_TIMEOUT.min(self.config.peer_timeout))
    }

    /// The end of a linger period that starts (or is extended) at `now`,
    /// within [`MAX_LINGER`] of when lingering began.
    pub(super) fn linger_until(&mut self, now: Instant) -> Instant {
        let limit = *self.linger_limit.get_or_insert(now + MAX_LINGER);
        (now + LINGER).min(limit)
    }
}
