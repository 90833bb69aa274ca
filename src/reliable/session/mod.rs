//! The session state machine: one tunnelled TCP connection, seen from one
//! side. Sans-IO: it is fed frames, local stream bytes and the current time,
//! and asked for frames to publish, bytes to write and its next deadline.
//!
//! Peers are either *capable* (this program: every frame carries
//! [`flags::CAPABLE`]) or *legacy* (the C original). Until the peer has been
//! heard from, everything sent stays within what the C original accepts.
//!
//! The parts: what a session is set up with (`config`) and how it ends
//! (`outcome`), the frames it takes in (`receive`) and puts out
//! (`transmit`), how much it sends
//! (`flow`), and its deadlines (`timers`).

use std::time::{Duration, Instant};

use super::congestion::DelayWindow;
use super::recv_window::RecvWindow;
use super::rtt::RttEstimator;
use super::send_window::SendWindow;
use crate::protocol::abort::AbortCode;
#[cfg(doc)]
use crate::protocol::frame::flags;
use crate::protocol::limits::{
    HEADER_LEN, HELD_WINDOW, LEGACY_FRAME_DATA, LEGACY_MAX_WINDOW, MAX_WINDOW, PRE_ADAPTIVE_WINDOW,
};
use flow::INITIAL_WINDOW;

mod config;
mod flow;
mod outcome;
mod receive;
#[cfg(test)]
mod summary;
mod timers;
mod transmit;

/// The acknowledgement flag of a receiver that saw a gap (see
/// [`flags::GAP`]).
pub use crate::protocol::frame::flags::GAP as GAP_FLAG;
pub use config::{PeerKind, Quota, Role, SessionConfig};
pub use outcome::{CloseReason, Event};

/// The fewest frames a session may have in flight or buffered, whatever
/// its share of the process-wide buffer budget: every session progresses.
const MIN_SHARE_FRAMES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Fully closed; re-acknowledges stray frames until the deadline.
    Lingering(Instant),
    /// A close frame is to be sent, then the session lingers.
    Closing(CloseReason),
    /// The close frame went out; any frame the peer still sends (it missed
    /// the close) is answered with it again, until the peer has been quiet
    /// for the linger period. A C peer never times out on its own, so a
    /// single lost close frame would otherwise leave it open for good.
    CloseLingering(Instant, CloseReason),
    Closed(CloseReason),
}

/// One tunnelled connection, one side.
#[derive(Debug)]
pub struct Session {
    role: Role,
    config: SessionConfig,
    peer: PeerKind,
    send: SendWindow,
    /// Bytes in flight allowed toward a capable peer (see `congestion`).
    flow: DelayWindow,
    recv: RecvWindow,
    state: State,
    local_eof: bool,
    peer_eof_reported: bool,
    close_reported: bool,
    /// The opening frame still has to be (re)sent.
    hello_due: bool,
    hello_deadline: Option<Instant>,
    /// When the opening frame went out, if only once: its answer is the
    /// first round-trip sample.
    hello_sent: Option<Instant>,
    hello_resent: bool,
    /// The peer sends timestamps: it is a version whose receive window
    /// adapts too (see [`Self::window`]).
    peer_stamps: bool,
    /// The newest timestamp from the peer and when it arrived, to echo
    /// advanced by the time it was held (no arrival: it arrived behind
    /// frames the local reader had not taken yet, and its wait counts).
    peer_stamp: Option<(u16, Option<Instant>)>,
    /// The peer echoes our timestamps: the window runs on those round
    /// trips, not on the acknowledgements'.
    stamped: bool,
    /// Client: the random number naming this process, sent on opening
    /// frames ([`flags::INSTANCE`]).
    instance: Option<u32>,
    /// Server: the client process's number, if its opening frame had one.
    peer_instance: Option<u32>,
    /// The windows of all sessions on this session's path.
    path_windows: usize,
    /// How long an acknowledgement waits for a data frame (see [`Quota`]).
    ack_delay: Duration,
    /// The smallest adaptive frame (see [`Quota`]).
    frame_floor: usize,
    /// The path's base round trip is that of a LAN: the window is fixed.
    short_path: bool,
    /// The path's start (`set_path_start`) was taken, or is too late.
    path_started: bool,
    /// The round trip of the path alone, from timestamps: the floor of the
    /// retransmission timeout.
    path_rtt: RttEstimator,
    /// The close frame has to be sent again (see [`State::CloseLingering`]).
    close_due: bool,
    frames_unacked: u32,
    ack_deadline: Option<Instant>,
    ack_now: bool,
    gap_seen: bool,
    /// A frame arrived beyond a hole: a selective acknowledgement is due
    /// (toward a peer of this program).
    sack_due: bool,
    last_sent: Instant,
    last_heard: Option<Instant>,
    /// Since when the oldest unacknowledged frame has waited (the last
    /// acknowledgement that made progress, or the first frame queued after
    /// everything was acknowledged).
    progress_at: Instant,
    /// The absolute end of lingering, set when lingering starts.
    linger_limit: Option<Instant>,
    /// This session's share of the process-wide buffer budget, in bytes,
    /// per direction (see [`Self::set_buffer_share`]).
    share: usize,
    /// The largest frame the broker carries, in stream bytes (see
    /// [`Self::set_frame_limit`]).
    frame_limit: usize,
    created: Instant,
    bytes_sent: u64,
    /// Sent with our close frame (see [`Self::abort_with`]).
    abort_code: AbortCode,
    /// Client: no stream bytes before the server side has answered (see
    /// [`Self::hold_data_until_answered`]).
    hold_data: bool,
}

impl Session {
    /// A new session at `now`. A client session sends its opening frame
    /// (with the remote config, if any) at once; a server session answers
    /// the frame that created it at once, so the client learns what it is.
    pub fn new(role: Role, config: SessionConfig, now: Instant) -> Session {
        let window = config.window.max(1);
        let mut session = Session {
            role,
            config,
            peer: PeerKind::Unknown,
            send: SendWindow::new(window.max(LEGACY_MAX_WINDOW)),
            flow: DelayWindow::new(INITIAL_WINDOW),
            // Whatever the peer and our own window: a C peer may send 101
            // frames ahead, an instance that has not heard from us yet up to
            // 199, one that has as many as its window (adaptive, up to
            // MAX_WINDOW). The ring grows as frames arrive, within a reach
            // set by the buffer share.
            recv: RecvWindow::new(MAX_WINDOW),
            state: State::Open,
            local_eof: false,
            peer_eof_reported: false,
            close_reported: false,
            hello_due: true,
            hello_deadline: None,
            hello_sent: None,
            hello_resent: false,
            peer_stamps: false,
            peer_stamp: None,
            stamped: false,
            path_rtt: RttEstimator::default(),
            instance: None,
            peer_instance: None,
            path_windows: 0,
            ack_delay: timers::ACK_DELAY,
            frame_floor: 0,
            short_path: false,
            path_started: false,
            close_due: false,
            frames_unacked: 0,
            ack_deadline: None,
            ack_now: false,
            gap_seen: false,
            sack_due: false,
            last_sent: now,
            last_heard: match role {
                Role::Server => Some(now),
                Role::Client { .. } => None,
            },
            progress_at: now,
            linger_limit: None,
            share: usize::MAX,
            frame_limit: usize::MAX,
            created: now,
            bytes_sent: 0,
            abort_code: AbortCode::Unspecified,
            hold_data: false,
        };
        session.recv.set_limit(session.recv_limit());
        session
    }

    /// What a broker's publish quota asks of the session: acknowledgements
    /// that wait longer for data to ride on, larger frames.
    pub fn set_quota(&mut self, quota: Quota) {
        self.ack_delay = quota.ack_delay;
        self.frame_floor = quota.frame_floor;
    }

    /// Client: send no stream bytes until the server side has answered, and
    /// answer its first frame at once. With `--psk-file`, stream bytes go
    /// only under keys the server side contributed to, and the server side
    /// dials only when that first answer proves the client's key.
    pub fn hold_data_until_answered(&mut self) {
        self.hold_data = true;
    }

    /// What the peer is, as far as known.
    pub fn peer_kind(&self) -> PeerKind {
        self.peer
    }

    /// True for the server side's end of a session (opened by a frame
    /// from the broker, not by a local connection).
    pub fn is_server(&self) -> bool {
        matches!(self.role, Role::Server)
    }

    /// Frames in flight allowed now. A C peer acknowledges only in frames
    /// it sends anyway (its data, and a heartbeat every 500 ms), so toward it
    /// the window is as large as it accepts: [`LEGACY_MAX_WINDOW`]. Within
    /// the session's share of the buffer budget.
    fn window(&self) -> usize {
        let window = match self.peer {
            PeerKind::Capable if self.peer_stamps => self.config.window,
            PeerKind::Capable => self.config.window.min(PRE_ADAPTIVE_WINDOW),
            PeerKind::Unknown => self.config.window.min(LEGACY_MAX_WINDOW),
            PeerKind::Legacy => LEGACY_MAX_WINDOW,
        };
        let by_share = (self.share / self.full_chunk().max(1)).max(MIN_SHARE_FRAMES);
        window.min(by_share)
    }

    /// Sets this session's share of the process-wide buffer budget (bytes
    /// per direction): what it may hold of the peer's frames received ahead
    /// of a hole or not yet written out, and of its own frames in flight.
    /// Never below `MIN_SHARE_FRAMES` (2) frames.
    pub fn set_buffer_share(&mut self, bytes: usize) {
        self.share = bytes;
        self.recv.set_limit(self.recv_limit());
        // Slots for frames of at least 1 KiB within the share: a peer that
        // sends far ahead cannot make the ring itself outgrow the budget.
        let reach = (bytes / 1024).clamp(LEGACY_MAX_WINDOW, MAX_WINDOW);
        self.recv.set_reach(reach);
    }

    /// The most bytes held of the peer's frames: our own window of our own
    /// frame size (a C peer, or an instance that has not heard from us, may
    /// send 199 frames of 9,976 bytes), within the share of the budget.
    fn recv_limit(&self) -> usize {
        let own = self.config.window.clamp(1, HELD_WINDOW) * self.config.frame_data;
        let expected = match self.peer {
            PeerKind::Capable => own,
            _ => own.max(LEGACY_MAX_WINDOW * LEGACY_FRAME_DATA),
        };
        // Two frames of our own size (or a C peer's) whatever the share:
        // what admission reserves for every session (see
        // `protocol::limits::SESSION_RESERVED_FRAMES`).
        let frame = self.config.frame_data.max(LEGACY_FRAME_DATA) + HEADER_LEN;
        expected.min(self.share).max(MIN_SHARE_FRAMES * frame)
    }

    /// Limits new frames to `bytes` of stream data: the largest the broker
    /// carries, as probed (never below what the C original sends).
    pub fn set_frame_limit(&mut self, bytes: usize) {
        self.frame_limit = bytes.max(LEGACY_FRAME_DATA);
    }

    /// True when the shell should read more from the local TCP socket: the
    /// session is open, the local stream has not ended and the window has
    /// room for another frame.
    pub fn wants_data(&self) -> bool {
        self.state == State::Open
            && !self.local_eof
            && self.send.can_push(self.window())
            && self.flow_has_room()
    }

    /// Queues stream bytes read from the local TCP socket (at most
    /// [`Self::max_chunk`], only while [`Self::wants_data`]). Returns how
    /// many bytes were taken: all of them when the caller keeps to that, the
    /// first [`Self::max_chunk`] or none otherwise (never a panic).
    pub fn push_data(&mut self, data: &[u8], now: Instant) -> usize {
        if !self.wants_data() || data.is_empty() {
            return 0;
        }
        let data = &data[..data.len().min(self.max_chunk())];
        if self.send.all_acked() {
            self.progress_at = now;
        }
        self.bytes_sent += data.len() as u64;
        self.send.push(data, false);
        data.len()
    }

    /// The local TCP peer ended its stream (read returned 0).
    pub fn local_eof(&mut self) {
        self.local_eof = true;
    }

    /// The local TCP connection failed or could not be made: tell the peer
    /// and end the session.
    pub fn abort(&mut self) {
        self.abort_with(AbortCode::Unspecified);
    }

    /// [`Self::abort`], telling a peer of this program why.
    pub fn abort_with(&mut self, code: AbortCode) {
        if matches!(self.state, State::Open | State::Lingering(_)) {
            self.abort_code = code;
            self.state = State::Closing(CloseReason::LocalAbort);
        }
    }

    /// The broker connection came back: resend what may have been lost now
    /// rather than after a backed-off timer.
    pub fn link_restored(&mut self, now: Instant) {
        self.send.kick(now);
        // The peer could not be heard while the link was down.
        if self.last_heard.is_some() {
            self.last_heard = Some(now);
        }
        if self.peer == PeerKind::Unknown && matches!(self.role, Role::Client { .. }) {
            self.hello_due = true;
        }
    }

    /// Stream bytes accepted from the local socket so far.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Stream bytes written to the local socket so far.
    pub fn bytes_received(&self) -> u64 {
        self.recv.bytes_delivered()
    }

    /// Frames retransmitted so far.
    pub fn retransmissions(&self) -> u64 {
        self.send.retransmissions()
    }

    /// Smoothed round-trip time through the broker, if measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.send.srtt()
    }

    /// The next event for the shell, each reported once. [`Event::Closed`]
    /// comes as soon as the stream is over; the session may linger after it
    /// (see [`Self::is_done`]) to re-acknowledge retransmitted frames.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.recv.fin_delivered() && !self.peer_eof_reported {
            self.peer_eof_reported = true;
            return Some(Event::PeerEof);
        }
        let reason = match self.state {
            State::Closed(reason) | State::CloseLingering(_, reason) => reason,
            State::Lingering(_) => CloseReason::Finished,
            _ => return None,
        };
        if self.close_reported {
            return None;
        }
        self.close_reported = true;
        Some(Event::Closed(reason))
    }

    /// True while its close frame is due: it goes out even out of turn.
    pub fn close_due(&self) -> bool {
        matches!(self.state, State::Closing(_))
    }

    /// True once the session has nothing left to do, lingering included:
    /// the shell may drop it.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }
}
