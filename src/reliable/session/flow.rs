//! How much a session sends: the delay-based window toward a peer of this
//! program (`reliable::congestion`) fed from acknowledgements and
//! timestamps, frames sized to the path's rate, and the path it shares
//! with the process's other sessions (`reliable::paths`).

use std::time::{Duration, Instant};

use super::{PeerKind, Role, Session, MIN_SHARE_FRAMES};
use crate::protocol::frame::Header;
use crate::protocol::limits::{LEGACY_FRAME_DATA, PRE_ADAPTIVE_WINDOW};
use crate::protocol::stamps::{clock, round_trip, Stamps};
use crate::reliable::congestion::Ack;

/// The delay-based window before anything is measured: on a slow uplink a
/// burst of it waits about 0.1 s (256 KiB/s); where the path has room it
/// grows within a few round trips.
pub(super) const INITIAL_WINDOW: usize = 32 * 1024;
/// Frames before any round trip is measured: a quarter of the initial
/// window, so that the first acknowledgements come early.
const INITIAL_FRAME: usize = INITIAL_WINDOW / 4;
/// A frame takes about this long to cross the path at the rate the window
/// gives: on a slow uplink frames get smaller, so that a frame of another
/// session waits behind at most a few milliseconds of one at each link.
const FRAME_TIME: Duration = Duration::from_millis(5);
/// A path whose base round trip is below this is short: a LAN, or one
/// machine (see [`Session::set_shared_base`]).
const SHORT_PATH: Duration = Duration::from_millis(2);
/// Frames the windows of all sessions on a path are cut into at least: a
/// frame counts in the broker's in-flight limit toward the peer (at QoS 1
/// and 2; mosquitto's default is 20 publishes) for about half the round
/// trip (from the broker to the peer and its PUBACK back), so about half of
/// these are in the broker's count at once.
const BROKER_FRAMES: usize = 32;
/// Frames whose crossing time a round trip includes beyond the base: ours
/// on the uplink and on the peer's downlink, and the one that carries the
/// echo back, on two links too.
const SERIALIZED_FRAMES: usize = 4;
/// The smallest adaptive frame: below it the per-publish overhead (topic,
/// headers: about 80 bytes) would cost more than a tenth of the link.
const MIN_ADAPTIVE_FRAME: usize = 1024;

impl Session {
    /// Largest number of stream bytes the next frame may carry. Toward a
    /// peer of this program, what the path's rate carries in
    /// [`FRAME_TIME`], but large enough for the window to fit in the frames
    /// it allows, and the windows of all sessions on the path too: the
    /// broker has only so many publishes in flight toward the peer (at QoS
    /// 1 and 2, mosquitto 20 by default), however small they are.
    pub fn max_chunk(&self) -> usize {
        let full = self.full_chunk();
        if self.peer != PeerKind::Capable {
            return full;
        }
        let Some(srtt) = self.flow.recent().or(self.send.srtt()) else {
            return full.min(INITIAL_FRAME);
        };
        let bytes = self.flow.window(0, self.bytes_cap()) as f64;
        let by_time = bytes * FRAME_TIME.as_secs_f64() / srtt.as_secs_f64().max(1e-6);
        let by_frames = bytes / self.window() as f64;
        let by_path = self.path_windows as f64 / BROKER_FRAMES as f64;
        (by_time.max(by_frames).max(by_path) as usize)
            .max(self.frame_floor)
            .clamp(MIN_ADAPTIVE_FRAME.min(full), full)
    }

    /// The largest frame: the configured size within what the broker
    /// carries (and what a C peer accepts).
    pub(super) fn full_chunk(&self) -> usize {
        match self.peer {
            PeerKind::Capable => self.config.frame_data.min(self.frame_limit),
            _ => self.config.frame_data.min(LEGACY_FRAME_DATA),
        }
    }

    /// The most stream bytes the delay-based window may reach: the frame
    /// window of full frames, within the share of the buffer budget; on a
    /// short path the fixed window of earlier versions (1 MiB by default).
    pub(super) fn bytes_cap(&self) -> usize {
        let cap = (self.window() * self.full_chunk()).min(self.share.max(1));
        if self.short_path {
            cap.min(PRE_ADAPTIVE_WINDOW * self.full_chunk())
        } else {
            cap
        }
    }

    /// The smallest delay-based window: two frames.
    pub(super) fn bytes_floor(&self) -> usize {
        MIN_SHARE_FRAMES * self.max_chunk_floor()
    }

    pub(super) fn max_chunk_floor(&self) -> usize {
        MIN_ADAPTIVE_FRAME.min(self.full_chunk())
    }

    /// True when the delay-based window has room for more stream bytes
    /// (always toward a C peer, whose frame window is what it accepts; a
    /// peer not heard from yet gets no more than the initial window).
    pub(super) fn flow_has_room(&self) -> bool {
        self.peer == PeerKind::Legacy
            || self.send.bytes_in_flight() < self.flow.window(self.bytes_floor(), self.bytes_cap())
    }

    /// Feeds the delay-based window what the send window learnt from an
    /// acknowledgement or a timer; `limited_before` says whether the window
    /// was full before.
    pub(super) fn update_flow(&mut self, limited_before: bool, now: Instant) {
        if self.send.take_loss() {
            let srtt = self.send.srtt().unwrap_or(self.send.rto());
            self.flow.on_loss(self.bytes_floor(), srtt, now);
        }
        if let Some(progress) = self.send.take_progress() {
            let ack = Ack {
                bytes: progress.bytes,
                rtt: progress.rtt.filter(|_| !self.stamped),
                limited: limited_before,
                unit: self.max_chunk(),
                floor: self.bytes_floor(),
                cap: self.bytes_cap(),
                allowance: self.serialization(),
            };
            self.flow.on_ack(ack, now);
        }
    }

    /// What full frames add to a round trip beyond the base measured on
    /// small ones: [`SERIALIZED_FRAMES`] frames' time at the rate the
    /// window gives, at most [`FRAME_TIME`] each.
    pub(super) fn serialization(&self) -> Duration {
        let Some(rtt) = self.flow.recent() else {
            return Duration::ZERO;
        };
        let window = self
            .flow
            .window(self.bytes_floor(), self.bytes_cap())
            .max(1);
        let share = (SERIALIZED_FRAMES * self.max_chunk()) as f64 / window as f64;
        // At the session's own rate: sharing the link with others, its
        // frames cross it faster than that, and frames are sized to take
        // about FRAME_TIME anyway.
        rtt.mul_f64(share.min(1.0))
            .min(FRAME_TIME * SERIALIZED_FRAMES as u32)
    }

    /// True when the window, not the application, limits what is in
    /// flight: less than a frame of room is left.
    pub(super) fn flow_limited(&self) -> bool {
        let window = self.flow.window(self.bytes_floor(), self.bytes_cap());
        self.send.bytes_in_flight() + self.max_chunk() > window
    }

    /// Client: names this process to the server side (a random number, the
    /// same for all its sessions), so that its sessions there share what
    /// they measure of the path.
    pub fn set_instance(&mut self, instance: u32) {
        self.instance = Some(instance);
    }

    /// Which path this session runs on, among the process's sessions: a
    /// client's all run to the one server side; a server's, to the client
    /// process its opening frame named (none if it named none).
    pub fn path_key(&self) -> Option<u32> {
        match self.role {
            Role::Client { .. } => Some(0),
            Role::Server => self.peer_instance,
        }
    }

    /// The recent round trip of the path (the minimum of the last few
    /// samples), for the base delay the process's sessions share.
    pub fn recent_rtt(&self) -> Option<Duration> {
        self.flow.recent()
    }

    /// Sets the base delay the process's sessions measured together (see
    /// `congestion`): a session that started behind a standing queue takes
    /// it instead of its own.
    pub fn set_shared_base(&mut self, base: Option<Duration>) {
        self.flow.set_shared_base(base);
        // On a path known to be short (a LAN, one machine) the window is
        // the one sessions had before it adapted, from the start: a slow
        // start there costs a tenth of a fast transfer, and 25 ms of queue
        // would be megabytes held for nothing.
        self.short_path = base.is_some_and(|b| b < SHORT_PATH);
        if self.short_path && self.bytes_sent == 0 && self.peer != PeerKind::Legacy {
            self.flow.start_at(self.bytes_cap());
        }
    }

    /// When its peer has just turned out to be this program (its first
    /// report to the path table after that), a session starts its window
    /// at `bytes` if larger (what the path carried lately, see
    /// `reliable::paths`), within its own cap; once.
    pub fn set_path_start(&mut self, bytes: usize) {
        if self.path_started || self.peer == PeerKind::Unknown {
            return;
        }
        self.path_started = true;
        if bytes > 0 && self.peer == PeerKind::Capable {
            self.flow.start_at(bytes.min(self.bytes_cap()));
        }
    }

    /// Sets the windows of all sessions on this session's path, in bytes
    /// (see [`Self::max_chunk`]).
    pub fn set_path_windows(&mut self, bytes: usize) {
        self.path_windows = bytes;
    }

    /// This session's delay-based window now, in bytes (0 toward a C
    /// peer, which the path's frame sizes need not count).
    pub fn flow_window(&self) -> usize {
        if self.peer == PeerKind::Legacy || self.is_done() {
            return 0;
        }
        self.flow.window(self.bytes_floor(), self.bytes_cap())
    }

    /// The peer's timestamps: the newest to echo, and a round trip from
    /// the echo of ours.
    pub(super) fn take_stamps(&mut self, h: &Header, now: Instant) {
        let Some(stamps) = Stamps::from_wire(h.flags, h.pad) else {
            return;
        };
        // Frames still wait to be written out: this one waits behind them.
        let backlogged = !self.recv.all_delivered();
        self.peer_stamp = Some((stamps.sent, (!backlogged).then_some(now)));
        self.peer_stamps = true;
        let Some(echo) = stamps.echo else {
            return;
        };
        let Some(rtt) = round_trip(clock(now.saturating_duration_since(self.created)), echo) else {
            return;
        };
        self.stamped = true;
        self.flow.sample(rtt, now);
        self.path_rtt.sample(rtt);
        self.send.set_rto_floor(self.path_rtt.rto());
        if self.send.srtt().is_none() {
            self.send.rtt_mut().sample(rtt);
        }
    }

    /// This frame's timestamps: our clock, and the newest of the peer's
    /// advanced by how long we held it.
    pub(super) fn stamps(&self, now: Instant) -> Stamps {
        Stamps {
            sent: clock(now.saturating_duration_since(self.created)),
            echo: self.peer_stamp.map(|(sent, at)| {
                // Behind a local reader that does not keep up, the wait is
                // not taken out: the sender must see it and slow down.
                let held = at.map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
                sent.wrapping_add(clock(held))
            }),
        }
    }
}

impl Session {
    /// How much the session sends, in words: its window, what is in
    /// flight, the path's base delay and queueing, the frame size.
    pub fn flow_summary(&self) -> String {
        let ms = |d: Option<Duration>| {
            d.map_or("-".to_owned(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1e3)
            })
        };
        format!(
            "window {} bytes ({} in flight), base delay {}, queueing {}, frames of {} bytes",
            self.flow_window(),
            self.send.bytes_in_flight(),
            ms(self.flow.base_delay()),
            ms(self.flow.queueing()),
            self.max_chunk()
        )
    }
}
