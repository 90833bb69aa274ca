//! What a router refuses (undecodable frames, frames for sessions it does
//! not know, retained messages, sessions or connections beyond the limit),
//! counted and summarised in at most one log line per [`REPORT_PERIOD`],
//! whatever arrives: a flood of bad frames from the broker, or of local
//! connections, cannot flood the log. Also bounds how many refusals are
//! answered (with an abort frame) per second, so that forged frames cannot
//! make this side publish without limit.

use std::time::{Duration, Instant};

/// At most one summary line this often.
pub const REPORT_PERIOD: Duration = Duration::from_secs(10);
/// Abort frames sent in answer to frames for unknown sessions, per second at
/// most. A restarted server side answers each client session once or twice
/// (every retransmission is answered until the client gives up), so even a
/// hundred live sessions get their answer within a second or two.
pub const MAX_ANSWERS_PER_SEC: u32 = 100;

/// Why a frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The payload is not a frame.
    Undecodable,
    /// A frame for a session this side does not know, that may not create
    /// one (the session was lost in a restart, or the frame is forged).
    UnknownSession,
    /// A frame that would open a session beyond the session limit.
    SessionLimit,
    /// A retained message on a session topic: delivered because we
    /// subscribed, not because a peer sent it now; stale by definition.
    Retained,
    /// A publish beyond the MQTT client's packet limit, dropped while it
    /// streamed in (counted by the MQTT client's reader).
    Oversized,
    /// A local TCP connection beyond the session limit (client side).
    ConnectionLimit,
    /// A local TCP connection whose session would need a subscription
    /// beyond the broker's limit (client side, toward a server side that
    /// answers each session on its own topic).
    SubscriptionLimit,
    /// A session asking for a target that no `--allow-remote` rule allows.
    TargetNotAllowed,
    /// A payload that failed authentication (`--psk-file`): forged,
    /// replayed, or made with another key. Never answered.
    Unauthenticated,
    /// A session (opening frame, or local connection) beyond what the
    /// buffer budget holds.
    BudgetFull,
    /// An opening frame beyond the new sessions allowed per second.
    OpeningRate,
    /// A session that ended without carrying a byte either way: counted
    /// here instead of a line each (a publisher opening and closing
    /// sessions cannot flood the log).
    Empty,
}

const KINDS: usize = 12;

/// Every kind, in the order of the summary.
const ALL: [Refusal; KINDS] = [
    Refusal::Undecodable,
    Refusal::UnknownSession,
    Refusal::SessionLimit,
    Refusal::Retained,
    Refusal::Oversized,
    Refusal::ConnectionLimit,
    Refusal::SubscriptionLimit,
    Refusal::TargetNotAllowed,
    Refusal::Unauthenticated,
    Refusal::BudgetFull,
    Refusal::OpeningRate,
    Refusal::Empty,
];

impl Refusal {
    pub(super) fn index(self) -> usize {
        self as usize
    }

    fn words(self) -> &'static str {
        match self {
            Refusal::Undecodable => "undecodable frames",
            Refusal::UnknownSession => {
                "frames for sessions this side does not have (answered with an abort)"
            }
            Refusal::SessionLimit => "frames opening sessions beyond --max-sessions",
            Refusal::Retained => "retained messages on session topics (stale)",
            Refusal::Oversized => "publishes over the packet limit",
            Refusal::ConnectionLimit => "local connections beyond --max-sessions (reset)",
            Refusal::SubscriptionLimit => {
                "local connections beyond the broker's subscription limit (reset)"
            }
            Refusal::Unauthenticated => {
                "payloads that failed authentication with the --psk-file key (forged, replayed \
                 or made with another key; dropped)"
            }
            Refusal::BudgetFull => {
                "sessions beyond what --max-buffer-memory holds (dropped, or the connection reset)"
            }
            Refusal::OpeningRate => {
                "frames opening sessions beyond the new sessions allowed per second (dropped; \
                 clients retry)"
            }
            Refusal::Empty => "sessions closed without carrying a byte (not logged one by one)",
            Refusal::TargetNotAllowed => {
                "sessions asking for a target not allowed by --allow-remote (answered with an abort)"
            }
        }
    }
}

/// Counters since the last summary, and the answer budget of this second.
#[derive(Debug)]
pub struct Refusals {
    pub(super) counts: [u64; KINDS],
    since: Instant,
    second: Instant,
    answers: u32,
}

impl Refusals {
    pub fn new(now: Instant) -> Refusals {
        Refusals {
            counts: [0; KINDS],
            since: now,
            second: now,
            answers: 0,
        }
    }

    /// Counts one refusal.
    pub fn note(&mut self, why: Refusal, now: Instant) {
        self.note_many(why, 1, now);
    }

    /// Counts `n` refusals.
    pub fn note_many(&mut self, why: Refusal, n: u64, now: Instant) {
        if n == 0 {
            return;
        }
        self.counts[why.index()] += n;
        self.report(now);
    }

    /// Adds what the session tasks counted in `counter` (payloads that did
    /// not open), and resets it. Called at every input of a router.
    pub fn take_count(&mut self, why: Refusal, counter: &std::cell::Cell<u64>, now: Instant) {
        self.note_many(why, counter.replace(0), now);
    }

    /// Refusals of one kind counted since the last summary.
    pub fn count(&self, why: Refusal) -> u64 {
        self.counts[why.index()]
    }

    /// True if one more refusal may be answered now (and counts it).
    pub fn may_answer(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.second) >= Duration::from_secs(1) {
            self.second = now;
            self.answers = 0;
        }
        self.answers += 1;
        self.answers <= MAX_ANSWERS_PER_SEC
    }

    /// When a summary of what was counted will be due (nothing counted: none).
    pub fn next_report(&self) -> Option<Instant> {
        self.counts
            .iter()
            .any(|&c| c > 0)
            .then_some(self.since + REPORT_PERIOD)
    }

    /// Logs the summary if it is due.
    pub fn report(&mut self, now: Instant) {
        if let Some(line) = self.summary(now) {
            log::warn!("{line}");
        }
    }

    /// The summary line, if one is due and anything was refused.
    pub fn summary(&mut self, now: Instant) -> Option<String> {
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed < REPORT_PERIOD || self.counts.iter().all(|&c| c == 0) {
            return None;
        }
        let parts: Vec<String> = ALL
            .into_iter()
            .filter(|why| self.counts[why.index()] > 0)
            .map(|why| format!("{} {}", self.counts[why.index()], why.words()))
            .collect();
        self.counts = [0; KINDS];
        self.since = now;
        Some(format!(
            "refused in the last {} s: {}",
            elapsed.as_secs(),
            parts.join(", ")
        ))
    }
}
