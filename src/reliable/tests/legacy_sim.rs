//! Interoperability simulator: one end is our [`Session`], the other a
//! model of one session of the C original ([`LegacySession`]), over a link
//! that drops, duplicates, delays and reorders frames, on virtual time.
//! Every test checks that the bytes written on one side are the bytes read
//! on the other, and that our side never sends what the C original drops
//! or misreads.
//!
//! The C original recovers a lost data frame only by retransmitting its
//! oldest unacknowledged frame once 101 frames are unacknowledged; a frame
//! lost among its last hundred is lost for good, whatever its peer does.
//! So the link drops a C data frame's first transmission only if the C
//! side will send at least a hundred more (its retransmissions and
//! heartbeats, and everything our side sends, may always be lost).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::legacy_model::{LegacyEnd, LegacyRole, LegacySession, LegacyStats, TX_WINDOW_LIMIT};
use super::sim_support::{seeds, Link, Rng, Wire, CLEAN};
use crate::protocol::frame::{close_header, decode, encode, flags, is_close, RemoteConfig};
use crate::protocol::limits::{
    LEGACY_FRAME_DATA, LEGACY_MAX_PAYLOAD, MAX_FRAME_DATA, MIN_FRAME_DATA,
};
use crate::reliable::session::{CloseReason, Event, Role, Session, SessionConfig};

const LOSSY: Link = Link { drop: 5, ..CLEAN };

const REORDERING: Link = Link {
    drop: 2,
    duplicate: 10,
    jitter: Duration::from_millis(3),
    delay: Duration::from_millis(1),
};

/// Which side of the tunnel our session is on (the C model is the other).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ours {
    Client,
    Server,
}

/// When the C side's TCP peer ends its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CEof {
    /// Never: the session ends when our side closes it.
    Never,
    /// As soon as it has written everything.
    AfterWriting,
    /// Once everything it wrote has been acknowledged.
    AfterAcked,
}

/// One run's set-up.
#[derive(Clone, Debug)]
struct Setup {
    ours: Ours,
    link: Link,
    config: SessionConfig,
    our_stream: Vec<u8>,
    /// Our side ends its stream once it has sent everything and received
    /// the whole C stream (the C original cannot half-close).
    our_eof: bool,
    /// ... or as soon as it has sent everything (its local peer half-closes
    /// and keeps reading).
    our_eof_at_once: bool,
    our_remote_config: Option<RemoteConfig>,
    /// The C stream as its TCP peer writes it: one chunk per read, so one
    /// frame each.
    c_chunks: Vec<Vec<u8>>,
    /// Pause of the C side's TCP peer before each chunk.
    c_gaps: Vec<Duration>,
    c_eof: CEof,
    c_remote_config: Option<RemoteConfig>,
    /// Bytes our local reader takes per step, 0 = everything.
    reader_chunk: usize,
}

impl Setup {
    fn c_stream(&self) -> Vec<u8> {
        self.c_chunks.concat()
    }
}

/// Our end: the session (a server one is created by the first frame), the
/// stream it writes, what it read, and what it put on the wire.
struct OurEnd {
    session: Option<Session>,
    sent: usize,
    eof_sent: bool,
    received: Vec<u8>,
    peer_eof: bool,
    closed: Option<(CloseReason, Instant)>,
    max_payload: usize,
    close_frames: u64,
    close_frames_lost: u64,
    /// Server: the remote config of the frame that created the session.
    creation_config: Option<Option<RemoteConfig>>,
    /// When a C frame last reached the live session.
    last_heard: Option<Instant>,
    /// Frames from the C side answered with a close frame after the session
    /// ended (the server shell's tombstones).
    tombstone_replies: u64,
    undecodable: u64,
}

/// The C end.
struct CEnd {
    model: Option<LegacySession>,
    next_chunk: usize,
    next_write: Option<Instant>,
    eof_sent: bool,
    received: Vec<u8>,
    /// Highest data seq it has published (later ones are first sends).
    highest_seq: u64,
    last_sent: Option<Instant>,
}

/// How long the run goes on after our session closed, waiting for the C
/// session to end (it never does if it missed our close frame).
const LEAK_WAIT: Duration = Duration::from_secs(20);

struct Sim {
    seed: u64,
    setup: Setup,
    c_len: usize,
    rng: Rng,
    t0: Instant,
    now: Instant,
    /// Frames in flight; the direction is "to the C side".
    wire: Wire,
    ours: OurEnd,
    c: CEnd,
    trace: bool,
}

mod engine;
mod scenarios;

fn bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next() as u8).collect()
}

/// A random set-up: streams of up to `max_bytes` each way, in chunks and at
/// a pace the C side's TCP peer might write them.
fn setup(seed: u64, ours: Ours, link: Link, max_bytes: u64) -> Setup {
    let mut rng = Rng::new(seed ^ 0x1e9a_c0de);
    let our_len = rng.below(max_bytes + 1) as usize;
    let our_stream = bytes(&mut rng, our_len);
    // Remote config only where the C original itself handles it: its first
    // frame, if lost or overtaken, is later taken for data.
    let clean = link.drop == 0 && !link.reorders();
    let c_remote_config =
        (ours == Ours::Server && clean && rng.chance(50)).then_some(RemoteConfig {
            ip: Some(Ipv4Addr::new(10, 0, 0, 7)),
            port: Some(2222),
        });
    let our_remote_config = (ours == Ours::Client && rng.chance(50)).then_some(RemoteConfig {
        ip: None,
        port: Some(8022),
    });
    let c_len = rng.below(max_bytes + 1) as usize;
    let largest = match rng.below(3) {
        0 => 1500,
        1 => LEGACY_FRAME_DATA,
        _ => 0, // full reads
    };
    let mut c_chunks = Vec::new();
    let mut c_gaps = Vec::new();
    let mut left = c_len;
    while left > 0 {
        let cap = if c_chunks.is_empty() {
            LEGACY_FRAME_DATA - c_remote_config.map_or(0, |c| c.encoded_len())
        } else {
            LEGACY_FRAME_DATA
        };
        let n = if largest == 0 {
            cap
        } else {
            1 + rng.below(largest as u64) as usize
        }
        .min(cap)
        .min(left);
        c_chunks.push(bytes(&mut rng, n));
        left -= n;
        let r = rng.below(100);
        c_gaps.push(match r {
            0..=84 => Duration::ZERO,
            85..=97 => Duration::from_micros(rng.below(5_000)),
            // Quiet long enough for a heartbeat mid-stream.
            _ => Duration::from_millis(500 + rng.below(400)),
        });
    }
    let config = SessionConfig {
        window: [16, 64, 256][rng.below(3) as usize],
        frame_data: [MIN_FRAME_DATA, 1000, LEGACY_FRAME_DATA, MAX_FRAME_DATA]
            [rng.below(4) as usize],
        peer_timeout: Duration::from_secs(60),
    };
    Setup {
        ours,
        link,
        config,
        our_stream,
        our_eof: true,
        our_eof_at_once: false,
        our_remote_config,
        c_chunks,
        c_gaps,
        c_eof: CEof::Never,
        c_remote_config,
        reader_chunk: [0, 0, 97, 1500][rng.below(4) as usize],
    }
}

/// What a bidirectional run found that is not a failure of ours to check
/// on every seed (see [`exchange`]).
#[derive(Debug, Default)]
struct Findings {
    /// Our client's close frame was lost, and the C server session lived on.
    c_session_left_open: Vec<u64>,
    /// The C server session was created without our client's remote config.
    remote_config_lost: Vec<u64>,
}

/// Runs one seed to its end and checks what holds in every scenario: the
/// run ends, no frame breaks a rule of the C original, and the C side's
/// stream arrived whole. Returns the finished simulation and its summary.
fn run_checked(seed: u64, setup: Setup) -> (Sim, String) {
    let mut sim = Sim::new(seed, setup);
    let ended = sim.run(Duration::from_secs(600));
    let ctx = sim.ctx();
    if std::env::var("SIM_SUMMARY").is_ok() {
        eprintln!("{ctx}");
    }
    assert!(ended, "did not end: {ctx}");
    sim.check_invariants();
    assert!(
        sim.ours.received == sim.setup.c_stream(),
        "C stream incomplete: {ctx}"
    );
    (sim, ctx)
}

/// Both streams cross in full, then our side ends its stream, which closes
/// both sessions: ours with `Finished`, the C one by our ack of `u64::MAX`.
fn exchange(seed: u64, setup: Setup, findings: &mut Findings) {
    let ours = setup.ours;
    let (sim, ctx) = run_checked(seed, setup);
    assert!(
        sim.c.received == sim.setup.our_stream,
        "our stream incomplete: {ctx}"
    );
    assert!(
        matches!(sim.ours.closed, Some((CloseReason::Finished, _))) && sim.ours.session.is_none(),
        "our session did not finish: {ctx}"
    );
    match sim.c_ended() {
        Some(LegacyEnd::AckBeyondTx { ack: u64::MAX, .. }) => {}
        None if ours == Ours::Client && sim.ours.close_frames_lost > 0 => {
            findings.c_session_left_open.push(seed);
        }
        other => panic!("C session ended by {other:?}: {ctx}"),
    }
    match ours {
        Ours::Client => {
            let got = sim.c.model.as_ref().and_then(|m| m.received_config());
            if got != sim.setup.our_remote_config {
                assert!(
                    sim.setup.link.drop > 0,
                    "remote config lost on a clean link: {ctx}"
                );
                findings.remote_config_lost.push(seed);
            }
        }
        Ours::Server => assert_eq!(
            sim.ours.creation_config,
            Some(sim.setup.c_remote_config),
            "{ctx}"
        ),
    }
}

fn exchanges(ours: Ours, link: Link, seeds: std::ops::Range<u64>, max_bytes: u64) -> Findings {
    let mut findings = Findings::default();
    for seed in seeds {
        exchange(seed, setup(seed, ours, link, max_bytes), &mut findings);
    }
    if !findings.c_session_left_open.is_empty() || !findings.remote_config_lost.is_empty() {
        eprintln!("{ours:?} over {link:?}: {findings:?}");
    }
    findings
}
