//! What a session takes in: frames from the peer, and the local socket's
//! progress in writing out what they carried.

use std::time::Instant;

use super::{CloseReason, PeerKind, Role, Session, State};
use crate::protocol::frame::{flags, is_close, Frame, Header};
use crate::protocol::sack;

use crate::reliable::recv_window::Insert;
use crate::reliable::send_window::AckOutcome;

/// Frames written out that make an acknowledgement go at once.
const ACK_EVERY_FRAMES: u32 = 4;

impl Session {
    /// Processes a frame received for this session.
    pub fn handle_frame(&mut self, frame: &Frame<'_>, now: Instant) {
        let h = frame.header;
        if !self.admits(&h, now) {
            return;
        }
        self.heard(&h, now);
        self.take_stamps(&h, now);
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
        let capable = h.has(flags::CAPABLE);
        let sacked = capable && !frame.sack.is_empty();
        if h.ack.is_some() || sacked {
            let limited = self.flow_limited();
            if let Some(ack) = h.ack {
                let gap = capable && h.has(flags::GAP);
                if self.send.on_ack(ack, gap, now) == AckOutcome::Progress {
                    self.progress_at = now;
                }
            }
            if sacked {
                self.send.on_sack(sack::runs(frame.sack, h.ack));
            }
            self.update_flow(limited, now);
        }
        if !h.has(flags::NO_DATA) {
            self.receive_data(frame, capable, now);
        }
    }

    /// True when a frame with header `h` is for the session as it is now:
    /// not once it is closing, not a beacon, and not acknowledging a frame
    /// never sent. A session lingering after its close frame answers any
    /// other frame with the close frame again.
    fn admits(&mut self, h: &Header, now: Instant) -> bool {
        match self.state {
            State::Closed(_) | State::Closing(_) => return false,
            State::CloseLingering(_, reason) => {
                if !is_close(h) && !h.has(flags::BEACON) {
                    self.close_due = true;
                    self.state = State::CloseLingering(self.linger_until(now), reason);
                }
                return false;
            }
            _ => {}
        }
        if h.has(flags::BEACON) {
            return false;
        }
        // An acknowledgement of a frame never sent cannot come from the
        // peer of this session: not "heard", and the session is over.
        if h.ack
            .is_some_and(|ack| !is_close(h) && !self.send.is_valid_ack(ack))
        {
            if self.state == State::Open {
                log::debug!("aborting: the peer acknowledged unsent frame {:?}", h.ack);
                self.state = State::Closing(CloseReason::ProtocolViolation);
            }
            return false;
        }
        true
    }

    /// The peer was heard at `now`: what it is (from its first frame), and
    /// that the opening frame needs no resending.
    fn heard(&mut self, h: &Header, now: Instant) {
        if self.peer == PeerKind::Unknown {
            self.peer = if h.has(flags::CAPABLE) {
                PeerKind::Capable
            } else {
                PeerKind::Legacy
            };
            self.recv.set_limit(self.recv_limit());
            // Answered at once: a client that holds its data waits for it,
            // and the server side's first round trip (its answer, echoed)
            // is taken before its data queues on the path, so that its base
            // delay is the path's.
            self.ack_now |= self.hold_data || h.has(flags::CAPABLE);
            if let Some(sent) = self.hello_sent.take() {
                let rtt = now.saturating_duration_since(sent);
                self.send.rtt_mut().sample(rtt);
                self.flow.sample(rtt, now);
            }
        }
        self.last_heard = Some(now);
        self.hello_due &= matches!(self.role, Role::Server);
        self.hello_deadline = None;
        // An opening frame means the client has not heard us yet: our answer
        // was lost. Answer again at once; a client that waits for it before
        // sending data (a key, a remote config) would wait for a heartbeat.
        if matches!(self.role, Role::Server) && h.has(flags::OPENING) {
            self.ack_now = true;
            if h.has(flags::CAPABLE | flags::INSTANCE) && self.peer_instance.is_none() {
                self.peer_instance = Some(h.pad);
            }
        }
    }

    /// The stream bytes (or end of stream) of a data frame.
    fn receive_data(&mut self, frame: &Frame<'_>, capable: bool, now: Instant) {
        let h = frame.header;
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
            Insert::OutOfOrder => {
                self.ack_now = true;
                self.gap_seen = true;
                self.sack_due = self.peer == PeerKind::Capable;
            }
            // A frame had twice: its acknowledgement was lost or came late.
            // Answered at once, but no gap: a retransmission that was not
            // needed must not make the sender retransmit again (after a
            // spurious timeout, every duplicate would start a new recovery).
            Insert::Duplicate => self.ack_now = true,
            Insert::BeyondWindow | Insert::OverLimit => {}
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
            self.ack_deadline = Some(now + self.ack_delay);
        }
    }
}
