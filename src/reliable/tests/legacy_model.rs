//! A sans-IO model of ONE session of the C original
//! (github.com/erstrom/mqtt-forward, `src/mqtt-forward.c` and
//! `src/session.c`), either role, for the interoperability simulator
//! (`legacy_sim.rs`). It has the same shape as our [`crate::reliable::session::Session`]:
//! frames and local stream bytes go in, frames to publish and stream bytes
//! to write come out, and the caller passes the virtual time.
//!
//! What the C code does, and so what this models:
//!
//! * Its TX thread (`tcp_session_rx_thread_fn`) loops: if more than
//!   `TX_WINDOW_LIMIT` (100) frames are unacknowledged
//!   (`tx_seq_nbr - acked_seq_nbr - 1 > 100`) it stops reading its TCP
//!   socket, republishes ONLY the oldest unacknowledged frame (its ack field
//!   refreshed; all flags cleared if it has received no data yet) and sleeps
//!   100 ms. Otherwise it `poll`s the socket for 500 ms: on timeout it
//!   publishes a heartbeat (NO_DATA, seq 0), so it heartbeats every 500 ms
//!   whenever its TCP peer is quiet, however busy the other direction is;
//!   on input it reads up to 10,000 − 24 bytes (less the remote-config
//!   block on a client's first frame) into one frame, seq from 1; on
//!   end-of-stream (`recv` returns 0) the thread ends and the session is
//!   cleared: nothing more is sent, frames for it are discarded, nothing
//!   tells the peer (no DISCONNECT, ever).
//! * Every frame it sends acks `expected_seq_nbr - 1` with ACK_VALID (0x02)
//!   once it has received data (`expected > 1`); before, the ack field is
//!   uninitialised stack memory, and so is `pad` always. Flags it sets:
//!   0x02, 0x04, 0x10 only.
//! * Its RX path (`handle_mqtt_message`): beacons are ignored; an ack
//!   (ACK_VALID) ≥ its `tx_seq_nbr` (the next seq it would send) closes the
//!   session silently (`request_session_close`) — so does our close frame,
//!   ack = `u64::MAX`; other acks free the TX backlog up to them. Then
//!   NO_DATA frames stop; a frame without data bytes, with seq < expected,
//!   or more than 198 ahead (`seq - expected > SESSION_BACKLOG_SIZE - 2`,
//!   computed in an `int`) is dropped; others go into a 200-slot ring
//!   (overwriting a duplicate) and whatever is in order is written to TCP.
//! * The remote-config block is skipped only in the frame that creates a
//!   server session; in any later frame with the flag it is taken for
//!   stream bytes.
//!
//! The C session lives in two threads; here both halves act at the instant
//! the caller passes. All the TX thread's timers are evaluated in
//! [`LegacySession::poll_transmit`].

use std::time::{Duration, Instant};

use crate::protocol::frame::{flags, Frame, RemoteConfig};
use crate::protocol::limits::{HEADER_LEN, LEGACY_MAX_PAYLOAD};

/// `SESSION_BACKLOG_SIZE`: slots in each backlog ring.
const BACKLOG_SIZE: usize = 200;
/// Largest `seq - expected` the C RX path stores (`SESSION_BACKLOG_SIZE - 2`).
pub(super) const MAX_AHEAD: u64 = BACKLOG_SIZE as u64 - 2;
/// `TX_WINDOW_LIMIT`: unacked frames beyond which the TX thread stops
/// reading and retransmits.
pub(super) const TX_WINDOW_LIMIT: u64 = 100;
/// The TX thread's `poll` timeout: a heartbeat after this long without input.
pub(super) const POLL_TIMEOUT: Duration = Duration::from_millis(500);
/// The TX thread's sleep between retransmissions while the window is full.
pub(super) const RETRANSMIT_SLEEP: Duration = Duration::from_millis(100);

/// Which side the C session is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LegacyRole {
    /// Accepted the TCP connection; its first frame carries the config.
    Client { remote_config: Option<RemoteConfig> },
    /// Created by the first (non-beacon) frame for an unknown session id.
    Server,
}

/// Why the C session ended. It tells the peer neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LegacyEnd {
    /// A received ack was ≥ the next seq it would send.
    AckBeyondTx { ack: u64, tx_seq: u64 },
    /// Its TCP peer ended its stream.
    LocalEof,
}

/// What the C session saw of its peer: counts of frames it would drop or
/// misread, checked by the tests.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LegacyStats {
    /// Non-beacon frames handled while open.
    pub frames_in: u64,
    /// Frames whose payload exceeds the C original's 10,000-byte buffer.
    pub oversized: u64,
    /// Largest payload seen.
    pub max_payload: usize,
    /// Data frames more than [`MAX_AHEAD`] ahead of the expected seq.
    pub beyond_backlog: u64,
    /// Data frames older than the expected seq.
    pub old: u64,
    /// Data frames without stream bytes.
    pub empty: u64,
    /// Data frames stored over an earlier copy of themselves.
    pub overwritten: u64,
    /// Frames after the first with REMOTE_CONFIG: the block became data.
    pub config_as_data: u64,
    /// Acks ≥ its next seq other than `u64::MAX` (they close it too).
    pub bogus_acks: u64,
    /// Frames it sent, by kind.
    pub data_out: u64,
    pub heartbeats_out: u64,
    pub retransmissions_out: u64,
}

/// State of the TX thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tx {
    /// In `poll` since then (a heartbeat is due [`POLL_TIMEOUT`] later).
    Polling { since: Instant },
    /// In `nanosleep` after a retransmission, until then.
    Sleeping { until: Instant },
}

/// One C session.
#[derive(Debug)]
pub(super) struct LegacySession {
    /// Client: the config block still to go in the first frame.
    config_block: Vec<u8>,
    /// Server: the next frame is the one that created the session.
    creating: bool,
    /// Server: the config of the frame that created it.
    received_config: Option<RemoteConfig>,
    /// `tx_seq_nbr`: the next seq to send.
    tx_seq: u64,
    /// `tx_backlog.acked_seq_nbr`.
    acked: u64,
    /// Unacked frames as published (header, config block, data), oldest
    /// first: the TX backlog ring from `first_unacked_idx`.
    tx_backlog: std::collections::VecDeque<Vec<u8>>,
    tx: Tx,
    /// Bytes its TCP peer wrote and it has not read yet.
    input: Vec<u8>,
    input_eof: bool,
    /// `rx_backlog.expected_seq_nbr`.
    expected: u64,
    read_idx: usize,
    rx_backlog: Vec<Option<Vec<u8>>>,
    /// Written to its TCP peer, not yet taken by the caller.
    output: Vec<u8>,
    output_offset: usize,
    end: Option<(LegacyEnd, Instant)>,
    /// Source of the uninitialised header fields.
    garbage: u64,
    stats: LegacyStats,
}

impl LegacySession {
    /// A session created at `now`: a client when its TCP connection was
    /// accepted, a server when the first frame for its id arrived (pass
    /// that frame to [`Self::handle_frame`] next). `seed` fills the header
    /// fields the C code leaves uninitialised.
    pub(super) fn new(role: LegacyRole, now: Instant, seed: u64) -> LegacySession {
        let mut config_block = Vec::new();
        if let LegacyRole::Client {
            remote_config: Some(config),
        } = role
        {
            config.write(&mut config_block);
        }
        let mut rx_backlog = Vec::with_capacity(BACKLOG_SIZE);
        rx_backlog.resize_with(BACKLOG_SIZE, || None);
        LegacySession {
            config_block,
            creating: role == LegacyRole::Server,
            received_config: None,
            tx_seq: 1,
            acked: 0,
            tx_backlog: std::collections::VecDeque::new(),
            tx: Tx::Polling { since: now },
            input: Vec::new(),
            input_eof: false,
            expected: 1,
            read_idx: 0,
            rx_backlog,
            output: Vec::new(),
            output_offset: 0,
            end: None,
            garbage: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            stats: LegacyStats::default(),
        }
    }

    fn garbage(&mut self) -> u64 {
        self.garbage ^= self.garbage << 13;
        self.garbage ^= self.garbage >> 7;
        self.garbage ^= self.garbage << 17;
        self.garbage
    }

    /// Its TCP peer wrote `data`.
    pub(super) fn push_input(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    /// Bytes written by its TCP peer that it has not read yet.
    pub(super) fn input_pending(&self) -> usize {
        self.input.len()
    }

    /// Its TCP peer ended its stream.
    pub(super) fn local_eof(&mut self) {
        self.input_eof = true;
    }

    /// Stream bytes it wrote to its TCP peer, not yet taken.
    pub(super) fn deliverable(&self) -> &[u8] {
        &self.output[self.output_offset..]
    }

    /// `n` bytes of [`Self::deliverable`] were taken.
    pub(super) fn consume(&mut self, n: usize) {
        self.output_offset += n.min(self.output.len() - self.output_offset);
        if self.output_offset == self.output.len() {
            self.output.clear();
            self.output_offset = 0;
        }
    }

    /// How and when the session ended, if it has.
    pub(super) fn end(&self) -> Option<(LegacyEnd, Instant)> {
        self.end
    }

    /// Every frame it sent has been acknowledged.
    pub(super) fn all_acked(&self) -> bool {
        self.tx_seq - self.acked == 1
    }

    /// The next seq it would send.
    pub(super) fn tx_seq(&self) -> u64 {
        self.tx_seq
    }

    /// Server: the remote config of the frame that created it.
    pub(super) fn received_config(&self) -> Option<RemoteConfig> {
        self.received_config
    }

    pub(super) fn stats(&self) -> LegacyStats {
        self.stats
    }

    /// `tx_seq_nbr - acked_seq_nbr - 1`: unacknowledged frames.
    fn backlog_offset(&self) -> u64 {
        self.tx_seq - self.acked - 1
    }

    /// Flags and ack of a frame it sends now.
    fn ack_fields(&self) -> Option<u64> {
        (self.expected > 1).then(|| self.expected - 1)
    }

    /// Writes a header the way the C code does: `ack` and `pad` are left
    /// uninitialised unless set.
    fn write_header(&mut self, out: &mut Vec<u8>, seq: u64, mut flag_bits: u32) {
        let ack = match self.ack_fields() {
            Some(ack) => {
                flag_bits |= flags::ACK_VALID;
                ack
            }
            None => self.garbage(),
        };
        let pad = self.garbage() as u32;
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&ack.to_le_bytes());
        out.extend_from_slice(&flag_bits.to_le_bytes());
        out.extend_from_slice(&pad.to_le_bytes());
    }

    /// The config flag and block for the frame being built; the block goes
    /// only into the first frame.
    fn take_config(&mut self) -> (u32, Vec<u8>) {
        let block = std::mem::take(&mut self.config_block);
        let flag = if block.is_empty() {
            0
        } else {
            flags::REMOTE_CONFIG
        };
        (flag, block)
    }

    /// One iteration of the TX thread's loop at `now`, if it does something
    /// then: writes the frame to publish into `out` and returns true. Call
    /// until false.
    pub(super) fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        if self.end.is_some() {
            return false;
        }
        if let Tx::Sleeping { until } = self.tx {
            if now < until {
                return false;
            }
            // Back at the top of the loop; if the window opened, it polls.
            self.tx = Tx::Polling { since: until };
        }
        if self.backlog_offset() > TX_WINDOW_LIMIT {
            self.retransmit_oldest(out);
            self.tx = Tx::Sleeping {
                until: now + RETRANSMIT_SLEEP,
            };
            return true;
        }
        let Tx::Polling { since } = self.tx else {
            return false;
        };
        if !self.input.is_empty() {
            self.send_data(out);
            self.tx = Tx::Polling { since: now };
            return true;
        }
        if self.input_eof {
            // recv() returned 0: the thread ends, the session is cleared.
            self.end = Some((LegacyEnd::LocalEof, now));
            return false;
        }
        if now >= since + POLL_TIMEOUT {
            out.clear();
            let (config_flag, block) = self.take_config();
            self.write_header(out, 0, flags::NO_DATA | config_flag);
            out.extend_from_slice(&block);
            self.stats.heartbeats_out += 1;
            self.tx = Tx::Polling { since: now };
            return true;
        }
        false
    }

    fn send_data(&mut self, out: &mut Vec<u8>) {
        out.clear();
        let (config_flag, block) = self.take_config();
        let room = LEGACY_MAX_PAYLOAD - HEADER_LEN - block.len();
        let n = self.input.len().min(room);
        let seq = self.tx_seq;
        self.write_header(out, seq, config_flag);
        out.extend_from_slice(&block);
        out.extend_from_slice(&self.input[..n]);
        self.input.drain(..n);
        self.tx_backlog.push_back(out.clone());
        self.tx_seq += 1;
        self.stats.data_out += 1;
    }

    /// Republishes the oldest unacked frame with its header refreshed in
    /// place (so a later retransmission keeps the change).
    fn retransmit_oldest(&mut self, out: &mut Vec<u8>) {
        let ack = self.ack_fields();
        let frame = self
            .tx_backlog
            .front_mut()
            .expect("a full window holds frames");
        let mut f = u32::from_le_bytes(frame[16..20].try_into().expect("4 bytes"));
        match ack {
            Some(ack) => {
                f |= flags::ACK_VALID;
                frame[8..16].copy_from_slice(&ack.to_le_bytes());
            }
            None => f = 0,
        }
        frame[16..20].copy_from_slice(&f.to_le_bytes());
        out.clear();
        out.extend_from_slice(frame);
        self.stats.retransmissions_out += 1;
    }

    /// The earliest time [`Self::poll_transmit`] may act; a time ≤ now
    /// means at once. `None` once the session has ended.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        if self.end.is_some() {
            return None;
        }
        Some(match self.tx {
            Tx::Sleeping { until } => until,
            Tx::Polling { since }
                if !self.input.is_empty()
                    || self.input_eof
                    || self.backlog_offset() > TX_WINDOW_LIMIT =>
            {
                since
            }
            Tx::Polling { since } => since + POLL_TIMEOUT,
        })
    }

    /// Timers act in [`Self::poll_transmit`] (the C thread's own loop); kept
    /// for the same shape as our session.
    pub(super) fn handle_timeout(&mut self, _now: Instant) {}

    /// `handle_mqtt_message` for a frame of this session.
    pub(super) fn handle_frame(&mut self, frame: &Frame<'_>, now: Instant) {
        let h = frame.header;
        if h.has(flags::BEACON) || self.end.is_some() {
            return;
        }
        let creating = std::mem::take(&mut self.creating);
        self.stats.frames_in += 1;
        let config_len = frame.remote_config.map_or(0, |c| c.encoded_len());
        let payload = HEADER_LEN + config_len + frame.data.len();
        self.stats.max_payload = self.stats.max_payload.max(payload);
        if payload > LEGACY_MAX_PAYLOAD {
            self.stats.oversized += 1;
        }
        if creating {
            self.received_config = frame.remote_config;
        }
        if let Some(ack) = h.ack {
            if ack >= self.tx_seq {
                if ack != u64::MAX {
                    self.stats.bogus_acks += 1;
                }
                self.end = Some((
                    LegacyEnd::AckBeyondTx {
                        ack,
                        tx_seq: self.tx_seq,
                    },
                    now,
                ));
                return;
            }
            while self.acked < ack {
                self.tx_backlog.pop_front();
                self.acked += 1;
            }
        }
        if h.has(flags::NO_DATA) {
            return;
        }
        // The block is skipped only in the frame that created the session.
        let mut data = Vec::new();
        if let (Some(config), false) = (frame.remote_config, creating) {
            config.write(&mut data);
            self.stats.config_as_data += 1;
        }
        data.extend_from_slice(frame.data);
        if data.is_empty() {
            self.stats.empty += 1;
            return;
        }
        if self.expected > h.seq {
            self.stats.old += 1;
            return;
        }
        if h.seq - self.expected > MAX_AHEAD {
            self.stats.beyond_backlog += 1;
        }
        // `int backlog_offset = seq - expected`, truncated like the C code.
        let offset = (h.seq - self.expected) as i32;
        if offset < 0 || offset as u64 > MAX_AHEAD {
            return;
        }
        let i = (self.read_idx + offset as usize) % BACKLOG_SIZE;
        if self.rx_backlog[i].replace(data).is_some() {
            self.stats.overwritten += 1;
        }
        while let Some(buf) = self.rx_backlog[self.read_idx].take() {
            self.output.extend_from_slice(&buf);
            self.expected += 1;
            self.read_idx = (self.read_idx + 1) % BACKLOG_SIZE;
        }
    }
}

#[cfg(test)]
mod tests;
