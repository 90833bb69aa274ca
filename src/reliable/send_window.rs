//! The send side of a session: a ring of frame slots (grown on demand up
//! to the window's capacity) holding every frame from the oldest
//! unacknowledged to the newest, sequence numbering,
//! acknowledgement processing, RTT sampling and the retransmission timer.
//! Frame buffers come from a [`BufferPool`] and go back to it when
//! acknowledged: a session holds as many as it had frames in flight at
//! most, and the steady state allocates nothing.

use std::time::{Duration, Instant};

use std::collections::VecDeque;

use super::buffer_pool::BufferPool;
use super::ring::Ring;
use super::rtt::RttEstimator;

mod sack;

/// Acknowledgements flagged as "gap seen" without progress that trigger a
/// fast retransmission of the oldest unacknowledged frame. The broker keeps
/// frames of one topic in order, so a gap is strong evidence of loss, and a
/// receiver that gets a burst of frames at once answers with a single ack:
/// one is enough. Fast retransmission happens once per recovery episode.
const DUP_ACK_THRESHOLD: u32 = 1;

#[derive(Debug, Default)]
struct Slot {
    data: Vec<u8>,
    fin: bool,
    /// When the frame was first sent; cleared when it is retransmitted so
    /// that no RTT sample is taken from it (Karn's rule).
    first_sent: Option<Instant>,
    /// The number of its last transmission (see
    /// [`SendWindow::transmissions`]): frames sent in one burst share an
    /// instant, not an order.
    last_sent: Option<u64>,
    /// The peer holds it (a selective acknowledgement said so).
    sacked: bool,
    /// Taken for lost and queued for retransmission.
    lost: bool,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// The ack acknowledged new frames.
    Progress,
    /// The ack is not newer than what was already acknowledged.
    Stale,
    /// The ack names a frame that was never sent: the frame is bogus.
    Invalid,
}

/// Frames in flight for one direction of one session.
#[derive(Debug)]
pub struct SendWindow {
    slots: Ring<Slot>,
    pool: BufferPool,
    /// Oldest unacknowledged sequence number.
    una: u64,
    /// Next sequence number to assign.
    next: u64,
    /// First assigned sequence number never sent yet.
    next_unsent: u64,
    /// Frame to retransmit at the next opportunity (always `una` when set).
    pending_rexmit: Option<u64>,
    /// While `una` is below this, each partial ack retransmits the new `una`.
    recovery_until: Option<u64>,
    dup_acks: u32,
    rto_deadline: Option<Instant>,
    rtt: RttEstimator,
    fin_seq: Option<u64>,
    retransmissions: u64,
    /// When a frame was last retransmitted. A frame first sent before that
    /// may have waited at the receiver behind the hole the retransmission
    /// filled, so its acknowledgement says nothing about the round trip.
    last_rexmit: Option<Instant>,
    /// Stream bytes pushed and not yet acknowledged.
    bytes_in_flight: usize,
    /// See [`Self::set_rto_floor`].
    rto_floor: Duration,
    /// What the last acknowledgement with progress acknowledged, for the
    /// window (see [`Self::take_progress`]).
    progress: Option<Progress>,
    /// A loss was detected since [`Self::take_loss`] was last asked.
    lost: bool,
    /// Frames taken for lost by selective acknowledgements, to retransmit
    /// (lowest first; entries since acknowledged are skipped).
    lost_queue: VecDeque<u64>,
    /// The peer sends selective acknowledgements: they, not partial
    /// acknowledgements, drive the recovery.
    sack_seen: bool,
    /// The latest transmission the peer is known to have had: a frame
    /// sent before it and not held is lost (the broker keeps one topic's
    /// frames in order).
    delivered_sent: Option<u64>,
    /// Frames put on the wire so far, retransmissions included.
    transmissions: u64,
}

/// What an acknowledgement with progress acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Stream bytes newly acknowledged.
    pub bytes: usize,
    /// The round trip of the newest frame acknowledged, if it may be
    /// sampled (Karn's rule, and not sent before a retransmission).
    pub rtt: Option<Duration>,
}

impl SendWindow {
    /// A window able to hold `capacity` frames.
    pub fn new(capacity: usize) -> SendWindow {
        SendWindow {
            slots: Ring::new(capacity),
            pool: BufferPool::default(),
            una: 1,
            next: 1,
            next_unsent: 1,
            pending_rexmit: None,
            recovery_until: None,
            dup_acks: 0,
            rto_deadline: None,
            rtt: RttEstimator::default(),
            fin_seq: None,
            retransmissions: 0,
            last_rexmit: None,
            bytes_in_flight: 0,
            rto_floor: Duration::ZERO,
            progress: None,
            lost: false,
            lost_queue: VecDeque::new(),
            sack_seen: false,
            delivered_sent: None,
            transmissions: 0,
        }
    }

    fn slot(&self, seq: u64) -> &Slot {
        self.slots.get(seq)
    }

    fn slot_mut(&mut self, seq: u64) -> &mut Slot {
        self.slots.get_mut(seq)
    }

    /// Frames sent or queued and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        (self.next - self.una) as usize
    }

    /// True when another frame fits under `limit` (≤ capacity) and the
    /// stream has not been ended.
    pub fn can_push(&self, limit: usize) -> bool {
        self.fin_seq.is_none() && self.in_flight() < limit.min(self.slots.capacity())
    }

    /// Queues a frame with `data` (and the end-of-stream mark if `fin`);
    /// returns its sequence number. The caller checked [`Self::can_push`].
    pub fn push(&mut self, data: &[u8], fin: bool) -> u64 {
        let seq = self.next;
        // Within the capacity: the caller checked can_push.
        let _ = self.slots.reserve(self.una, seq);
        let buf = self.pool.filled(data);
        self.bytes_in_flight += data.len();
        let slot = self.slot_mut(seq);
        slot.data = buf;
        slot.fin = fin;
        slot.first_sent = None;
        slot.last_sent = None;
        slot.sacked = false;
        slot.lost = false;
        self.next += 1;
        if fin {
            self.fin_seq = Some(seq);
        }
        seq
    }

    /// The next frame to put on the wire: a pending retransmission first,
    /// then the lowest frame taken for lost, then the oldest never-sent
    /// frame. Returns its sequence number.
    pub fn next_to_send(&mut self) -> Option<u64> {
        self.pending_rexmit
            .or_else(|| self.next_lost())
            .or((self.next_unsent < self.next).then_some(self.next_unsent))
    }

    /// The stream bytes and end-of-stream mark of frame `seq`.
    pub fn frame(&self, seq: u64) -> (&[u8], bool) {
        let slot = self.slot(seq);
        (&slot.data, slot.fin)
    }

    /// Records that frame `seq` (from [`Self::next_to_send`]) went out at `now`.
    pub fn on_sent(&mut self, seq: u64, now: Instant) {
        self.transmissions += 1;
        let tx = self.transmissions;
        self.slot_mut(seq).last_sent = Some(tx);
        let lost = self.lost_queue.front() == Some(&seq);
        if self.pending_rexmit == Some(seq) || lost {
            if lost {
                self.lost_queue.pop_front();
            }
            if self.pending_rexmit == Some(seq) {
                self.pending_rexmit = None;
            }
            let slot = self.slot_mut(seq);
            slot.first_sent = None;
            slot.lost = false;
            self.retransmissions += 1;
            self.last_rexmit = Some(now);
            self.rto_deadline = Some(now + self.rto());
        } else {
            self.slot_mut(seq).first_sent = Some(now);
            self.next_unsent = seq + 1;
            if self.rto_deadline.is_none() {
                self.rto_deadline = Some(now + self.rto());
            }
        }
    }

    /// Processes a cumulative acknowledgement of every frame up to `ack`.
    /// `gap` is the peer's hint that it saw a hole or a duplicate.
    /// True if `ack` names a frame that was sent (or nothing: 0).
    pub fn is_valid_ack(&self, ack: u64) -> bool {
        ack < self.next_unsent
    }

    pub fn on_ack(&mut self, ack: u64, gap: bool, now: Instant) -> AckOutcome {
        if ack >= self.next_unsent {
            return AckOutcome::Invalid;
        }
        if ack < self.una {
            if gap && !self.sack_seen && ack + 1 == self.una && self.una < self.next_unsent {
                self.dup_acks += 1;
                let recovering = self.recovery_until.is_some_and(|r| self.una < r);
                if self.dup_acks >= DUP_ACK_THRESHOLD && !recovering {
                    self.enter_recovery();
                    self.lost = true;
                }
            }
            return AckOutcome::Stale;
        }
        let mut rtt = None;
        if let Some(sent) = self.slot(ack).first_sent {
            if self.last_rexmit.is_none_or(|r| sent > r) {
                let sample = now.saturating_duration_since(sent);
                self.rtt.sample(sample);
                rtt = Some(sample);
            }
        }
        let mut bytes = 0;
        let mut delivered_sent = self.delivered_sent;
        for seq in self.una..=ack {
            let slot = self.slot_mut(seq);
            let buf = std::mem::take(&mut slot.data);
            bytes += buf.len();
            delivered_sent = delivered_sent.max(slot.last_sent);
            slot.first_sent = None;
            slot.sacked = false;
            slot.lost = false;
            self.pool.give_back(buf);
        }
        self.delivered_sent = delivered_sent;
        self.bytes_in_flight = self.bytes_in_flight.saturating_sub(bytes);
        self.progress = Some(Progress { bytes, rtt });
        self.una = ack + 1;
        self.dup_acks = 0;
        // Progress: the backoff goes (a queue longer than the timeout does
        // not make it retransmit for ever: the timestamps' round trip is its
        // floor, see `set_rto_floor`).
        self.rtt.reset_backoff();
        if self.pending_rexmit.is_some_and(|s| s < self.una) {
            self.pending_rexmit = None;
        }
        while self.lost_queue.front().is_some_and(|&s| s < self.una) {
            self.lost_queue.pop_front();
        }
        match self.recovery_until {
            // Selective acknowledgements repair the holes.
            Some(r) if self.sack_seen && self.una < r => {}
            Some(r) if self.una < r && self.una < self.next_unsent => {
                // Partial ack: the peer's next hole starts at the new una.
                self.pending_rexmit = Some(self.una);
            }
            Some(_) => self.recovery_until = None,
            None => {}
        }
        self.rto_deadline = (self.una < self.next_unsent).then(|| now + self.rto());
        AckOutcome::Progress
    }

    fn enter_recovery(&mut self) {
        self.pending_rexmit = Some(self.una);
        self.recovery_until = Some(self.next_unsent);
    }

    /// When the retransmission timer fires next, if anything is in flight.
    pub fn rto_deadline(&self) -> Option<Instant> {
        self.rto_deadline
    }

    /// Handles an expired retransmission timer: retransmit the oldest frame,
    /// back off, and let partial acks drive the rest of the recovery.
    pub fn on_timeout(&mut self, now: Instant) {
        match self.rto_deadline {
            Some(d) if d <= now && self.una < self.next_unsent => {
                self.rtt.back_off();
                self.enter_recovery();
                self.all_lost();
                self.lost = true;
                self.rto_deadline = Some(now + self.rto());
            }
            Some(d) if d <= now => self.rto_deadline = None,
            _ => {}
        }
    }

    /// After the broker link comes back: retransmit the oldest frame now
    /// instead of waiting out a backed-off timer.
    pub fn kick(&mut self, now: Instant) {
        self.rtt.reset_backoff();
        if self.una < self.next_unsent {
            self.enter_recovery();
            self.rto_deadline = Some(now + self.rto());
        }
    }

    /// Stream bytes pushed and not yet acknowledged.
    pub fn bytes_in_flight(&self) -> usize {
        self.bytes_in_flight
    }

    /// What the last acknowledgement that made progress acknowledged, once.
    pub fn take_progress(&mut self) -> Option<Progress> {
        self.progress.take()
    }

    /// True once after a loss was detected (a gap reported by the peer, or
    /// the retransmission timer; not [`Self::kick`], which is a broker
    /// outage ending, not congestion).
    pub fn take_loss(&mut self) -> bool {
        std::mem::take(&mut self.lost)
    }

    /// True when every frame pushed has been acknowledged.
    pub fn all_acked(&self) -> bool {
        self.una == self.next
    }

    /// True once the end-of-stream frame has been acknowledged.
    pub fn fin_acked(&self) -> bool {
        self.fin_seq.is_some_and(|f| f < self.una)
    }

    /// True once the end-of-stream frame has been queued.
    pub fn fin_queued(&self) -> bool {
        self.fin_seq.is_some()
    }

    /// The current retransmission timeout: this window's own estimate
    /// (acknowledgement round trips, backed off), never below the floor.
    pub fn rto(&self) -> Duration {
        self.rtt.rto().max(self.rto_floor)
    }

    /// Sets the lowest retransmission timeout: the path's timeout from
    /// timestamps, which follow a growing queue at every frame, while the
    /// acknowledgements' samples stop after a retransmission (Karn's rule).
    pub fn set_rto_floor(&mut self, floor: Duration) {
        self.rto_floor = floor;
    }

    /// The RTT estimator (for backoff of other timers and statistics).
    pub fn rtt_mut(&mut self) -> &mut RttEstimator {
        &mut self.rtt
    }

    /// Smoothed round-trip time, if measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.rtt.srtt()
    }

    #[cfg(test)]
    pub(crate) fn summary(&self) -> String {
        format!(
            "una {} next {} unsent {} rexmit {:?} recovery {:?} fin {:?} rto {:?}",
            self.una,
            self.next,
            self.next_unsent,
            self.pending_rexmit,
            self.recovery_until,
            self.fin_seq,
            self.rto()
        )
    }

    /// Frees every slot's buffer (the session no longer carries data).
    pub fn release_buffers(&mut self) {
        for slot in self.slots.iter_mut() {
            slot.data = Vec::new();
        }
        self.bytes_in_flight = 0;
        self.pool.clear();
    }

    /// Frames retransmitted so far.
    pub fn retransmissions(&self) -> u64 {
        self.retransmissions
    }
}
