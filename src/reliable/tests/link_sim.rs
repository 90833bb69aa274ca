//! The link simulator: several sessions between a client side and a server
//! side, every frame through the shared, rate-capped access links of
//! `link_model` and the broker, on virtual time. Applications: bulk
//! transfers (upload, download, echo) and an interactive session that
//! sends 64 bytes, waits for their echo and records the round trip.
//! What a test asserts: the interactive round trip under load against the
//! idle one, and the bulk sessions' share of the link.

use std::time::{Duration, Instant};

use super::link_model::{Network, Shape};
use super::sim_support::Rng;
use crate::protocol::frame::decode;
use crate::reliable::paths::{PathBases, Report};
use crate::reliable::session::{Role, Session, SessionConfig};

pub const CLIENT: usize = 0;
pub const SERVER: usize = 1;

/// What the application of one session does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// The client side sends without end; the server side reads.
    Upload,
    /// The server side sends without end; the client side reads.
    Download,
    /// The client side sends without end, the server side echoes it.
    Echo,
    /// 64 bytes from the client side, echoed, then a pause, again.
    Interactive,
}

/// Bytes of one interactive message, and the pause between two.
const PING: usize = 64;
const THINK: Duration = Duration::from_millis(30);
/// Bytes an echoing server holds before it stops reading (a pair of loopback sockets' worth).
const ECHO_BACKLOG: usize = 1024 * 1024;

/// One session's two ends and its application's state.
struct Pair {
    app: App,
    ends: [Option<Session>; 2],
    /// Stream bytes handed to each end's session so far.
    pushed: [u64; 2],
    /// Stream bytes each end has received and checked.
    received: [u64; 2],
    /// Bytes the echoing server has read and not yet sent back.
    echo: u64,
    /// Interactive: when the ping in flight was sent; when the next is due.
    ping_sent: Option<Instant>,
    next_ping: Instant,
    rtts: Vec<Duration>,
    /// The window each end last reported to its side's path table.
    reported: [usize; 2],
}

impl Pair {
    fn new(app: App, client: Session, next_ping: Instant) -> Pair {
        Pair {
            app,
            ends: [Some(client), None],
            pushed: [0; 2],
            received: [0; 2],
            echo: 0,
            ping_sent: None,
            next_ping,
            rtts: Vec::new(),
            reported: [0; 2],
        }
    }
}

/// A client session of the simulated client process.
fn client(config: SessionConfig, t0: Instant) -> Session {
    let role = Role::Client {
        remote_config: None,
    };
    let mut session = Session::new(role, config, t0);
    session.set_instance(0x5eed);
    session
}

/// The byte at offset `k` of the stream side `from` of session `i` sends.
fn pattern(i: usize, from: usize, k: u64) -> u8 {
    (k.wrapping_mul(31) ^ (i as u64 * 7 + from as u64)) as u8
}

pub struct LinkSim {
    pub seed: u64,
    rng: Rng,
    t0: Instant,
    pub now: Instant,
    net: Network,
    config: SessionConfig,
    pairs: Vec<Pair>,
    buf: Vec<u8>,
    /// Each side's base delays shared by its sessions, as the shell keeps
    /// them.
    shared: [PathBases; 2],
    /// Every session's share of the buffer budget, if set.
    share: Option<usize>,
}

impl LinkSim {
    pub fn new(seed: u64, shape: Shape, config: SessionConfig, apps: &[App]) -> LinkSim {
        let t0 = Instant::now();
        let mut rng = Rng::new(seed);
        let pairs = apps
            .iter()
            .map(|&app| {
                Pair::new(
                    app,
                    client(config, t0),
                    t0 + Duration::from_millis(rng.below(50)),
                )
            })
            .collect();
        LinkSim {
            seed,
            rng,
            t0,
            now: t0,
            net: Network::new(shape, t0),
            config,
            pairs,
            buf: Vec::new(),
            shared: [PathBases::default(), PathBases::default()],
            share: None,
        }
    }

    /// Starts one more session running `app` now; returns its index.
    pub fn add(&mut self, app: App) -> usize {
        let now = self.now;
        self.pairs
            .push(Pair::new(app, client(self.config, now), now));
        self.pairs.len() - 1
    }

    /// Ends session `i` on both sides at once (both programs drop it, as
    /// when its TCP connections end), leaving the path tables as the shell
    /// does.
    pub fn drop_session(&mut self, i: usize) {
        for side in [CLIENT, SERVER] {
            if let Some(s) = self.pairs[i].ends[side].take() {
                if let Some(key) = s.path_key() {
                    self.shared[side].leave(key, self.pairs[i].reported[side], self.now);
                }
            }
        }
    }

    /// Gives every session `bytes` of the buffer budget (the shell's
    /// `--max-buffer-memory` share).
    pub fn set_share(&mut self, bytes: usize) {
        self.share = Some(bytes);
    }

    /// Runs for `span` of virtual time.
    pub fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        while self.now < end {
            for i in 0..self.pairs.len() {
                self.pump(i);
                for side in [CLIENT, SERVER] {
                    self.transmit(i, side);
                }
            }
            let next = self.next_event().unwrap_or(end).min(end);
            self.now = self.now.max(next);
            while let Some((i, to, payload)) = self.net.pop_delivered(self.now) {
                self.deliver(i, to, &payload);
            }
            for pair in &mut self.pairs {
                for s in pair.ends.iter_mut().flatten() {
                    s.handle_timeout(self.now);
                }
            }
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let mut next = self.net.next_event();
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        for pair in &self.pairs {
            for s in pair.ends.iter().flatten() {
                if let Some(t) = s.poll_timeout() {
                    consider(t);
                }
            }
            if pair.app == App::Interactive && pair.ping_sent.is_none() {
                consider(pair.next_ping);
            }
        }
        next
    }

    fn transmit(&mut self, i: usize, side: usize) {
        let pair = &mut self.pairs[i];
        if let (Some(s), Some(share)) = (pair.ends[side].as_mut(), self.share) {
            s.set_buffer_share(share);
        }
        if let Some(s) = pair.ends[side].as_mut() {
            if let Some(key) = s.path_key() {
                let report = Report {
                    rtt: s.recent_rtt(),
                    window: s.flow_window(),
                    before: pair.reported[side],
                };
                pair.reported[side] = report.window;
                let view = self.shared[side].record(key, report, self.now);
                s.set_shared_base(view.base);
                s.set_path_windows(view.windows);
                s.set_path_start(view.start);
            }
        }
        loop {
            let Some(s) = self.pairs[i].ends[side].as_mut() else {
                return;
            };
            self.buf.clear();
            if !s.poll_transmit(self.now, &mut self.buf) {
                return;
            }
            let frame = std::mem::take(&mut self.buf);
            self.net.send(side, self.now, i, frame);
        }
    }

    fn deliver(&mut self, i: usize, to: usize, payload: &[u8]) {
        let frame = decode(payload).expect("own frames decode");
        let now = self.now;
        let config = self.config;
        let end = &mut self.pairs[i].ends[to];
        let s = end.get_or_insert_with(|| Session::new(Role::Server, config, now));
        s.handle_frame(&frame, now);
        self.pump(i);
    }

    /// Moves the applications' bytes in and out of pair `i`'s sessions.
    fn pump(&mut self, i: usize) {
        let now = self.now;
        let jitter = Duration::from_millis(self.rng.below(10));
        let pair = &mut self.pairs[i];
        for side in [CLIENT, SERVER] {
            pair.read(i, side, now);
        }
        match pair.app {
            App::Upload => pair.write(i, CLIENT, u64::MAX, now),
            App::Download => pair.write(i, SERVER, u64::MAX, now),
            App::Echo => {
                pair.write(i, CLIENT, u64::MAX, now);
                let backlog = pair.echo;
                pair.write(i, SERVER, backlog, now);
            }
            App::Interactive => {
                if pair.ping_sent.is_none() && now >= pair.next_ping {
                    pair.ping_sent = Some(now);
                    pair.write(i, CLIENT, PING as u64, now);
                }
                let backlog = pair.echo;
                pair.write(i, SERVER, backlog, now);
                let echoed = pair.received[CLIENT];
                if let Some(sent) = pair.ping_sent {
                    if echoed == pair.pushed[CLIENT] && pair.pushed[CLIENT] > 0 {
                        pair.rtts.push(now - sent);
                        pair.ping_sent = None;
                        pair.next_ping = now + THINK + jitter;
                    }
                }
            }
        }
    }

    /// Bytes received by side `side` of each session, per session.
    pub fn received(&self, side: usize) -> Vec<u64> {
        self.pairs.iter().map(|p| p.received[side]).collect()
    }

    /// The interactive round trips recorded so far (all sessions).
    pub fn rtts(&self) -> Vec<Duration> {
        self.pairs.iter().flat_map(|p| p.rtts.clone()).collect()
    }

    /// Forgets the round trips recorded so far (after a warm-up).
    pub fn clear_rtts(&mut self) {
        for p in &mut self.pairs {
            p.rtts.clear();
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Every session's state, one line each (for tracing).
    pub fn trace(&self) -> String {
        let mut out = format!(
            "t={:?} backlog [up, down] per side {:?}",
            self.elapsed(),
            self.net.backlogs(self.now)
        );
        for (i, p) in self.pairs.iter().enumerate() {
            for (side, s) in p.ends.iter().enumerate() {
                if let Some(s) = s {
                    out += &format!("\n  {i}.{side} {}", s.summary());
                }
            }
        }
        out
    }

    /// What the sessions are doing, for a failure message.
    pub fn describe(&self) -> String {
        let mut out = format!("seed {} t={:?}", self.seed, self.elapsed());
        for (i, p) in self.pairs.iter().enumerate() {
            out += &format!(
                "\n  {i} {:?}: received {:?} pushed {:?}",
                p.app, p.received, p.pushed
            );
            for s in p.ends.iter().flatten() {
                out += &format!(
                    " | srtt {:?} chunk {} rexmit {}",
                    s.srtt(),
                    s.max_chunk(),
                    s.retransmissions()
                );
            }
        }
        out
    }
}

impl Pair {
    /// Takes what side `side` has to deliver (an echoing server only while
    /// its backlog has room), checking every byte.
    fn read(&mut self, i: usize, side: usize, now: Instant) {
        let Some(s) = self.ends[side].as_mut() else {
            return;
        };
        let echoes = side == SERVER && matches!(self.app, App::Echo | App::Interactive);
        loop {
            let d = s.deliverable();
            let room = if echoes {
                (ECHO_BACKLOG as u64).saturating_sub(self.echo) as usize
            } else {
                usize::MAX
            };
            let n = d.len().min(room);
            if n == 0 {
                return;
            }
            for (k, &b) in d[..n].iter().enumerate() {
                let at = self.received[side] + k as u64;
                let from = if echoes { CLIENT } else { 1 - side };
                let expected = match (self.app, side) {
                    (App::Echo | App::Interactive, CLIENT) => pattern(i, CLIENT, at),
                    _ => pattern(i, from, at),
                };
                assert_eq!(b, expected, "pair {i} side {side} byte {at} corrupted");
            }
            self.received[side] += n as u64;
            if echoes {
                self.echo += n as u64;
            }
            s.consume(n, now);
        }
    }

    /// Hands side `side`'s session up to `limit` more bytes of its stream
    /// (for an echoing server: what it has read).
    fn write(&mut self, i: usize, side: usize, limit: u64, now: Instant) {
        let Some(s) = self.ends[side].as_mut() else {
            return;
        };
        let echoes = side == SERVER && matches!(self.app, App::Echo | App::Interactive);
        let mut left = limit;
        let mut chunk = Vec::new();
        while left > 0 && s.wants_data() {
            let n = (s.max_chunk() as u64).min(left) as usize;
            let from = if echoes { CLIENT } else { side };
            let start = self.pushed[side];
            chunk.clear();
            chunk.extend((0..n as u64).map(|k| pattern(i, from, start + k)));
            let taken = s.push_data(&chunk, now);
            self.pushed[side] += taken as u64;
            left -= taken as u64;
            if echoes {
                self.echo -= taken as u64;
            }
            if taken == 0 {
                break;
            }
        }
    }
}

/// The median of `values` (zero if none).
pub fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}
