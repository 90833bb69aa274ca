//! What a session puts out: the next frame to publish, and the rules for
//! when the streams are over.

use std::time::Instant;

use super::{CloseReason, PeerKind, Role, Session, State};
use crate::protocol::frame::{encode_close_into, encode_into, flags, FrameBuf, Header};
use crate::protocol::sack::SackBlock;

impl Session {
    fn header(&mut self, seq: u64, extra: u32, now: Instant) -> Header {
        let mut f = flags::CAPABLE | extra;
        let mut pad = 0;
        if self.peer == PeerKind::Capable {
            let (stamp_flags, stamp_pad) = self.stamps(now).to_wire();
            f |= stamp_flags;
            pad = stamp_pad;
        }
        if matches!(self.role, Role::Client { .. }) && self.peer == PeerKind::Unknown {
            f |= flags::OPENING;
            if let Some(instance) = self.instance {
                f |= flags::INSTANCE;
                pad = instance;
            }
        }
        if std::mem::take(&mut self.gap_seen) {
            f |= flags::GAP;
        }
        self.ack_now = false;
        self.ack_deadline = None;
        self.frames_unacked = 0;
        Header {
            seq,
            ack: self.recv.ack(),
            flags: f,
            pad,
        }
    }

    /// Writes the next frame to publish into `out` and returns true, or
    /// returns false when there is nothing to send now. Call until false.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut impl FrameBuf) -> bool {
        // An open session that has just decided to close (a C peer's) sends
        // its close frame at once.
        let sent = (self.state == State::Open && self.open_frame(now, out))
            || self.closing_frame(now, out);
        if sent {
            self.last_sent = now;
        }
        sent
    }

    /// The next frame of a session that is no longer open: the close frame
    /// (again, for a peer that missed it), or a re-acknowledgement. None
    /// while open.
    fn closing_frame(&mut self, now: Instant, out: &mut impl FrameBuf) -> bool {
        match self.state {
            State::Open | State::Closed(_) => false,
            State::Closing(reason) => {
                encode_close_into(out, self.abort_code);
                self.state = State::CloseLingering(self.linger_until(now), reason);
                self.release_buffers();
                true
            }
            State::CloseLingering(..) => {
                if std::mem::take(&mut self.close_due) {
                    encode_close_into(out, self.abort_code);
                    return true;
                }
                false
            }
            State::Lingering(_) => {
                if self.ack_now {
                    let h = self.header(0, flags::NO_DATA, now);
                    encode_into(out, &h, None, &[]);
                    return true;
                }
                false
            }
        }
    }

    /// The next frame of an open session: the opening frame or its answer,
    /// data, an acknowledgement or a heartbeat. False also when the session
    /// has just started closing (a C peer's, once the streams are over).
    fn open_frame(&mut self, now: Instant, out: &mut impl FrameBuf) -> bool {
        if self.hello_due {
            self.hello_due = false;
            let config = match self.role {
                Role::Client { remote_config } => {
                    self.hello_deadline = Some(now + self.send.rto());
                    // The answer to a resent opening frame is no sample.
                    self.hello_sent = (!self.hello_resent).then_some(now);
                    self.hello_resent = true;
                    remote_config
                }
                Role::Server => None,
            };
            let h = self.header(0, flags::NO_DATA, now);
            encode_into(out, &h, config.as_ref(), &[]);
            return true;
        }
        if self.selective_ack(now, out) {
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
                self.header(seq, if fin { flags::DISCONNECT } else { 0 }, now)
            };
            encode_into(out, &h, None, self.send.frame(seq).0);
            self.send.on_sent(seq, now);
            return true;
        }
        if self.legacy_close_ready() {
            self.state = State::Closing(CloseReason::Finished);
            return false;
        }
        if self.ack_now || self.heartbeat_due(now) {
            let h = self.header(0, flags::NO_DATA, now);
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

    /// The selective acknowledgement that is due, ahead of data: the runs
    /// of frames held beyond the acknowledgement (a NO_DATA frame, whose
    /// payload an earlier version ignores).
    fn selective_ack(&mut self, now: Instant, out: &mut impl FrameBuf) -> bool {
        if !std::mem::take(&mut self.sack_due) {
            return false;
        }
        let mut block = SackBlock::new(self.recv.ack());
        self.recv.held_runs(|start, end| block.push(start, end));
        if block.is_empty() {
            return false;
        }
        let h = self.header(0, flags::NO_DATA | flags::SACK, now);
        encode_into(out, &h, None, block.as_bytes());
        true
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
}
