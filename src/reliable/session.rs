//! The session state machine: one tunnelled TCP connection, seen from one
//! side. Sans-IO: it is fed frames, local stream bytes and the current time,
//! and asked for frames to publish, bytes to write and its next deadline.
//!
//! Peers are either *capable* (this program: every frame carries
//! [`flags::CAPABLE`]) or *legacy* (the C original). Until the peer has been
//! heard from, everything sent stays within what the C original accepts.

use std::time::{Duration, Instant};

use super::recv_window::{Insert, RecvWindow};
use super::send_window::{AckOutcome, SendWindow};
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::{
    encode_close_into, encode_into, flags, is_close, Frame, FrameBuf, Header, RemoteConfig,
};
use crate::protocol::limits::{
    HEARTBEAT_INTERVAL, LEGACY_FRAME_DATA, LEGACY_MAX_WINDOW, UNUSED_SESSION_TIMEOUT,
};

/// Flag of ours: this acknowledgement was sent because a frame arrived out
/// of order or twice, i.e. the sender may have lost one (fast retransmit).
pub const GAP_FLAG: u32 = 0x40;

/// Longest time an acknowledgement is held back hoping to ride on a data
/// frame. Shorter than any retransmission timeout.
const ACK_DELAY: Duration = Duration::from_millis(2);
/// Frames written out that make an acknowledgement go at once.
const ACK_EVERY_FRAMES: u32 = 4;
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
/// The fewest frames a session may have in flight or buffered, whatever
/// its share of the process-wide buffer budget: every session progresses.
const MIN_SHARE_FRAMES: usize = 2;

/// The longest a session may linger in all, however often the peer's
/// retransmissions extend [`LINGER`]: a peer that keeps sending to a closed
/// session (a bug, or a forger) cannot keep it, and its memory, for ever.
const MAX_LINGER: Duration = Duration::from_secs(60);

/// Which side of the tunnel this session is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that accepted the TCP connection; it opens the session.
    Client {
        /// Target override sent in the first frame.
        remote_config: Option<RemoteConfig>,
    },
    /// The side that dials the target.
    Server,
}

/// Per-session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Frames in flight toward a capable peer.
    pub window: usize,
    /// Stream bytes per frame toward a capable peer.
    pub frame_data: usize,
    /// Silence after which the session is closed.
    pub peer_timeout: Duration,
}

/// What kind of program the peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// Not heard from yet.
    Unknown,
    /// The C original.
    Legacy,
    /// This program.
    Capable,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Both directions ended and were acknowledged.
    Finished,
    /// The peer aborted (its TCP peer reset, or its target was unreachable),
    /// saying why if it is this program.
    PeerAborted(AbortCode),
    /// This side aborted ([`Session::abort`]).
    LocalAbort,
    /// The peer was silent for too long.
    PeerTimeout,
    /// A C peer went silent: the only way it ends a session (it stops
    /// sending when its TCP connection closes), so this is a normal end.
    LegacyPeerSilent,
    /// Our oldest unacknowledged frame was not acknowledged for the whole
    /// peer timeout, although the peer may still be heard (heartbeats from a
    /// peer that lost the session, or that stopped reading).
    NoProgress,
    /// The peer acknowledged a frame that was never sent: it is not the
    /// peer of this session (a restarted process, or a forged frame).
    ProtocolViolation,
    /// A server session carried no stream byte either way for
    /// [`UNUSED_SESSION_TIMEOUT`] after it opened (a forged or abandoned
    /// opening frame holding a session slot).
    Unused,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Finished => f.write_str("finished"),
            CloseReason::PeerAborted(code) => write!(f, "{code}"),
            CloseReason::LocalAbort => f.write_str("aborted here"),
            CloseReason::PeerTimeout => f.write_str("the other side went silent"),
            CloseReason::LegacyPeerSilent => f.write_str("finished (the C peer stopped)"),
            CloseReason::NoProgress => f.write_str("the other side acknowledged nothing"),
            CloseReason::ProtocolViolation => {
                f.write_str("a frame that does not belong to this session")
            }
            CloseReason::Unused => f.write_str("unused"),
        }
    }
}

impl CloseReason {
    /// True for the ends after which the local TCP connection is closed
    /// normally; after the others it is reset, so that the local peer does
    /// not mistake a cut-off stream for a complete one.
    pub fn is_graceful(self) -> bool {
        matches!(self, CloseReason::Finished | CloseReason::LegacyPeerSilent)
    }
}

/// Something the I/O shell must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The peer's stream ended: shut down the write half of the TCP socket.
    PeerEof,
    /// The session is over: close the TCP socket and forget the session.
    Closed(CloseReason),
}

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
    recv: RecvWindow,
    state: State,
    local_eof: bool,
    peer_eof_reported: bool,
    close_reported: bool,
    /// The opening frame still has to be (re)sent.
    hello_due: bool,
    hello_deadline: Option<Instant>,
    /// The close frame has to be sent again (see [`State::CloseLingering`]).
    close_due: bool,
    frames_unacked: u32,
    ack_deadline: Option<Instant>,
    ack_now: bool,
    gap_seen: bool,
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
            // Whatever the peer: a C peer may send 101 frames ahead, and an
            // instance that has not heard from us yet up to 199.
            recv: RecvWindow::new(window.max(LEGACY_MAX_WINDOW)),
            state: State::Open,
            local_eof: false,
            peer_eof_reported: false,
            close_reported: false,
            hello_due: true,
            hello_deadline: None,
            close_due: false,
            frames_unacked: 0,
            ack_deadline: None,
            ack_now: false,
            gap_seen: false,
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

    /// Frames in flight allowed now. A C peer acknowledges only in frames
    /// it sends anyway (its data, and a heartbeat every 500 ms), so toward it
    /// the window is as large as it accepts: [`LEGACY_MAX_WINDOW`]. Within
    /// the session's share of the buffer budget.
    fn window(&self) -> usize {
        let window = match self.peer {
            PeerKind::Capable => self.config.window,
            PeerKind::Unknown => self.config.window.min(LEGACY_MAX_WINDOW),
            PeerKind::Legacy => LEGACY_MAX_WINDOW,
        };
        let by_share = (self.share / self.max_chunk().max(1)).max(MIN_SHARE_FRAMES);
        window.min(by_share)
    }

    /// Sets this session's share of the process-wide buffer budget (bytes
    /// per direction): what it may hold of the peer's frames received ahead
    /// of a hole or not yet written out, and of its own frames in flight.
    /// Never below [`MIN_SHARE_FRAMES`] frames.
    pub fn set_buffer_share(&mut self, bytes: usize) {
        self.share = bytes;
        self.recv.set_limit(self.recv_limit());
    }

    /// The most bytes held of the peer's frames: our own window of our own
    /// frame size (a C peer, or an instance that has not heard from us, may
    /// send 199 frames of 9,976 bytes), within the share of the budget.
    fn recv_limit(&self) -> usize {
        let own = self.config.window.max(1) * self.config.frame_data;
        let expected = match self.peer {
            PeerKind::Capable => own,
            _ => own.max(LEGACY_MAX_WINDOW * LEGACY_FRAME_DATA),
        };
        expected
            .min(self.share)
            .max(MIN_SHARE_FRAMES * crate::protocol::limits::MAX_FRAME_DATA)
    }

    /// Largest number of stream bytes the next frame may carry.
    pub fn max_chunk(&self) -> usize {
        match self.peer {
            PeerKind::Capable => self.config.frame_data.min(self.frame_limit),
            _ => self.config.frame_data.min(LEGACY_FRAME_DATA),
        }
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
        self.state == State::Open && !self.local_eof && self.send.can_push(self.window())
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

    /// Stream bytes ready to be written to the local TCP socket.
    pub fn deliverable(&self) -> &[u8] {
        self.recv.deliverable()
    }

    /// `n` bytes of [`Self::deliverable`] were written to the local socket.
    pub fn consume(&mut self, n: usize, now: Instant) {
        let frames = self.recv.consume(n);
        self.note_delivered(frames, now);
    }

    fn note_delivered(&mut self, frames: u32, now: Instant) {
        if frames == 0 {
            return;
        }
        self.frames_unacked += frames;
        if self.frames_unacked >= ACK_EVERY_FRAMES || self.recv.fin_delivered() {
            self.ack_now = true;
        } else if self.ack_deadline.is_none() {
            self.ack_deadline = Some(now + ACK_DELAY);
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

    /// Processes a frame received for this session.
    pub fn handle_frame(&mut self, frame: &Frame<'_>, now: Instant) {
        let h = frame.header;
        match self.state {
            State::Closed(_) | State::Closing(_) => return,
            State::CloseLingering(_, reason) => {
                if !is_close(&h) && !h.has(flags::BEACON) {
                    self.close_due = true;
                    self.state = State::CloseLingering(self.linger_until(now), reason);
                }
                return;
            }
            _ => {}
        }
        if h.has(flags::BEACON) {
            return;
        }
        let capable = h.has(flags::CAPABLE);
        // An acknowledgement of a frame never sent cannot come from the
        // peer of this session: not "heard", and the session is over.
        if h.ack
            .is_some_and(|ack| !is_close(&h) && !self.send.is_valid_ack(ack))
        {
            if self.state == State::Open {
                log::debug!("aborting: the peer acknowledged unsent frame {:?}", h.ack);
                self.state = State::Closing(CloseReason::ProtocolViolation);
            }
            return;
        }
        if self.peer == PeerKind::Unknown {
            self.peer = if capable {
                PeerKind::Capable
            } else {
                PeerKind::Legacy
            };
            self.recv.set_limit(self.recv_limit());
            self.ack_now |= self.hold_data;
        }
        self.last_heard = Some(now);
        self.hello_due &= matches!(self.role, Role::Server);
        self.hello_deadline = None;
        // An opening frame means the client has not heard us yet: our answer
        // was lost. Answer again at once; a client that waits for it before
        // sending data (a key, a remote config) would wait for a heartbeat.
        if matches!(self.role, Role::Server) && h.has(flags::OPENING) {
            self.ack_now = true;
        }

        if let State::Lingering(_) = self.state {
            // The peer is not done yet (a peer that is done sends nothing):
            // stay until it has been quiet for the whole linger period, and
            // answer retransmitted frames, whose acknowledgement it missed.
            // Pure acks and heartbeats are not answered: two lingering
            // sessions would otherwise ping-pong forever.
            self.state = State::Lingering(self.linger_until(now));
            if !h.has(flags::NO_DATA) {
                self.ack_now = true;
            }
            return;
        }
        if is_close(&h) {
            self.state = State::Closed(CloseReason::PeerAborted(frame.abort_code));
            return;
        }
        if let Some(ack) = h.ack {
            if self.send.on_ack(ack, capable && h.has(GAP_FLAG), now) == AckOutcome::Progress {
                self.progress_at = now;
            }
        }
        if h.has(flags::NO_DATA) {
            return;
        }
        let fin = capable && h.has(flags::DISCONNECT);
        if h.seq == 0 || (frame.data.is_empty() && !fin) {
            return;
        }
        match self.recv.insert(h.seq, frame.data, fin) {
            Insert::InOrder => {
                // An empty end-of-stream frame at the head is retired at once.
                if fin && self.recv.fin_delivered() {
                    self.note_delivered(1, now);
                }
            }
            Insert::OutOfOrder | Insert::Duplicate => {
                self.ack_now = true;
                self.gap_seen = true;
            }
            Insert::BeyondWindow | Insert::OverLimit => {}
        }
    }

    /// Handles expired timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Closed(_) | State::Closing(_) => return,
            State::Lingering(until) if until <= now => {
                self.state = State::Closed(CloseReason::Finished);
                return;
            }
            State::CloseLingering(until, reason) => {
                if until <= now {
                    self.state = State::Closed(reason);
                }
                return;
            }
            _ => {}
        }
        if self.silence_deadline().is_some_and(|d| d <= now) {
            self.state = State::Closing(match self.peer {
                PeerKind::Legacy => CloseReason::LegacyPeerSilent,
                _ => CloseReason::PeerTimeout,
            });
            return;
        }
        if self.progress_deadline().is_some_and(|d| d <= now) {
            self.state = State::Closing(CloseReason::NoProgress);
            return;
        }
        if self.unused_deadline().is_some_and(|d| d <= now) {
            self.state = State::Closing(CloseReason::Unused);
            return;
        }
        self.send.on_timeout(now);
        if self.hello_deadline.is_some_and(|d| d <= now) {
            self.send.rtt_mut().back_off();
            self.hello_due = true;
            self.hello_deadline = None;
        }
        if self.ack_deadline.is_some_and(|d| d <= now) {
            self.ack_now = true;
        }
    }

    fn heartbeat_interval(&self) -> Duration {
        match self.peer {
            PeerKind::Capable => CAPABLE_HEARTBEAT,
            _ => HEARTBEAT_INTERVAL,
        }
    }

    fn silence_deadline(&self) -> Option<Instant> {
        let timeout = self.config.peer_timeout;
        match (self.last_heard, self.peer) {
            (None, _) => Some(self.created + timeout.min(SETUP_TIMEOUT)),
            (Some(t), PeerKind::Legacy) => Some(t + timeout.min(LEGACY_PEER_SILENCE)),
            (Some(t), _) if self.recv.fin_delivered() => Some(t + timeout.min(ENDED_PEER_SILENCE)),
            (Some(t), _) => Some(t + timeout),
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
    fn linger_until(&mut self, now: Instant) -> Instant {
        let limit = *self.linger_limit.get_or_insert(now + MAX_LINGER);
        (now + LINGER).min(limit)
    }

    /// The earliest time [`Self::handle_timeout`] or [`Self::poll_transmit`]
    /// has something to do; `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed(_) => return None,
            // Due at once: any instant in the past makes the caller transmit.
            State::Closing(_) => return Some(self.created),
            State::Lingering(until) | State::CloseLingering(until, _) => return Some(until),
            State::Open => {}
        }
        [
            self.send.rto_deadline(),
            self.hello_deadline,
            self.ack_deadline,
            Some(self.last_sent + self.heartbeat_interval()),
            self.silence_deadline(),
            self.progress_deadline(),
            self.unused_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn header(&mut self, seq: u64, extra: u32) -> Header {
        let mut f = flags::CAPABLE | extra;
        if matches!(self.role, Role::Client { .. }) && self.peer == PeerKind::Unknown {
            f |= flags::OPENING;
        }
        if std::mem::take(&mut self.gap_seen) {
            f |= GAP_FLAG;
        }
        self.ack_now = false;
        self.ack_deadline = None;
        self.frames_unacked = 0;
        Header {
            seq,
            ack: self.recv.ack(),
            flags: f,
        }
    }

    /// Writes the next frame to publish into `out` and returns true, or
    /// returns false when there is nothing to send now. Call until false.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut impl FrameBuf) -> bool {
        let sent = self.next_frame(now, out);
        if sent {
            self.last_sent = now;
        }
        sent
    }

    fn next_frame(&mut self, now: Instant, out: &mut impl FrameBuf) -> bool {
        match self.state {
            State::Closed(_) => return false,
            State::Closing(reason) => {
                encode_close_into(out, self.abort_code);
                self.state = State::CloseLingering(self.linger_until(now), reason);
                self.release_buffers();
                return true;
            }
            State::CloseLingering(..) => {
                if std::mem::take(&mut self.close_due) {
                    encode_close_into(out, self.abort_code);
                    return true;
                }
                return false;
            }
            State::Lingering(_) => {
                if self.ack_now {
                    let h = self.header(0, flags::NO_DATA);
                    encode_into(out, &h, None, &[]);
                    return true;
                }
                return false;
            }
            State::Open => {}
        }
        if self.hello_due {
            self.hello_due = false;
            let config = match self.role {
                Role::Client { remote_config } => {
                    self.hello_deadline = Some(now + self.send.rto());
                    remote_config
                }
                Role::Server => None,
            };
            let h = self.header(0, flags::NO_DATA);
            encode_into(out, &h, config.as_ref(), &[]);
            return true;
        }
        self.queue_end_of_stream();
        if let Some(seq) = self
            .send
            .next_to_send()
            .filter(|_| !self.config_unconfirmed())
        {
            let h = {
                let fin = self.send.frame(seq).1;
                self.header(seq, if fin { flags::DISCONNECT } else { 0 })
            };
            encode_into(out, &h, None, self.send.frame(seq).0);
            self.send.on_sent(seq, now);
            return true;
        }
        if self.legacy_close_ready() {
            self.state = State::Closing(CloseReason::Finished);
            return self.next_frame(now, out);
        }
        if self.ack_now || now >= self.last_sent + self.heartbeat_interval() {
            let h = self.header(0, flags::NO_DATA);
            // Until the server side has answered, any frame may be the one
            // that creates its session: each carries the remote config.
            let config = match self.role {
                Role::Client { remote_config } if self.peer == PeerKind::Unknown => remote_config,
                _ => None,
            };
            encode_into(out, &h, config.as_ref(), &[]);
            self.check_finished(now);
            return true;
        }
        self.check_finished(now);
        false
    }

    /// A client with a remote config sends no data until the server side has
    /// answered: both the C original and this program read the config only
    /// from the frame that creates the session, so a data frame overtaking a
    /// lost opening frame would make the server dial its default target.
    fn config_unconfirmed(&self) -> bool {
        let waits = self.hold_data
            || matches!(
                self.role,
                Role::Client {
                    remote_config: Some(_)
                }
            );
        waits && matches!(self.role, Role::Client { .. }) && self.peer == PeerKind::Unknown
    }

    /// Toward a capable peer, the end of the local stream is a sequenced
    /// DISCONNECT frame after the last data.
    fn queue_end_of_stream(&mut self) {
        if self.local_eof
            && self.peer == PeerKind::Capable
            && !self.send.fin_queued()
            && self.send.can_push(self.window())
        {
            self.send.push(&[], true);
        }
    }

    /// A C peer cannot half-close: once everything sent is acknowledged,
    /// the only way to end is to close its whole session. Not before what it
    /// sent us has been written out: the local peer may have half-closed and
    /// still be reading its answer.
    fn legacy_close_ready(&self) -> bool {
        self.local_eof
            && self.peer == PeerKind::Legacy
            && self.send.all_acked()
            && self.recv.all_delivered()
    }

    fn check_finished(&mut self, now: Instant) {
        if self.state == State::Open
            && self.send.fin_acked()
            && self.recv.fin_delivered()
            && !self.ack_now
        {
            self.state = State::Lingering(self.linger_until(now));
            self.release_buffers();
        }
    }

    /// Once the streams are over only the acknowledgement state matters:
    /// give the frame buffers back while lingering.
    fn release_buffers(&mut self) {
        self.send.release_buffers();
        self.recv.release_buffers();
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

    /// True once the session has nothing left to do, lingering included:
    /// the shell may drop it.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    #[cfg(test)]
    pub(crate) fn summary(&self) -> String {
        format!(
            "state {:?} peer {:?} local_eof {} send {} recv_ack {:?} fin_delivered {} hello_due {} last_heard {:?}",
            self.state,
            self.peer,
            self.local_eof,
            self.send.summary(),
            self.recv.ack(),
            self.recv.fin_delivered(),
            self.hello_due,
            self.last_heard.map(|t| t - self.created)
        )
    }
}
