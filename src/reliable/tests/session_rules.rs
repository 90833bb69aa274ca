//! Frame-sequence tests of the rules that keep a session from hanging or
//! living for ever: who may open a server session, what a restarted server
//! side does to its old clients, acknowledgements of frames never sent, the
//! progress timeout and the bound on lingering. Deterministic: frames go
//! straight from one session to the other at chosen virtual times.

use std::time::{Duration, Instant};

use super::legacy_model::{LegacyRole, LegacySession};
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::{
    close_header, decode, encode, flags, is_close, opens_session, Header,
};
use crate::reliable::session::{CloseReason, Event, Role, Session, SessionConfig};

const TIMEOUT: Duration = Duration::from_secs(60);

fn config() -> SessionConfig {
    SessionConfig {
        window: 8,
        frame_data: 1000,
        peer_timeout: TIMEOUT,
    }
}

fn client(now: Instant) -> Session {
    Session::new(
        Role::Client {
            remote_config: None,
        },
        config(),
        now,
    )
}

/// Every frame `s` wants to publish at `now`.
fn drain(s: &mut Session, now: Instant) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut buf = Vec::new();
    while s.poll_transmit(now, &mut buf) {
        frames.push(std::mem::take(&mut buf));
    }
    frames
}

fn header(frame: &[u8]) -> Header {
    decode(frame).expect("a frame").header
}

/// Delivers every frame of `frames` to `to` at `now`.
fn deliver(to: &mut Session, frames: &[Vec<u8>], now: Instant) {
    for f in frames {
        to.handle_frame(&decode(f).unwrap(), now);
    }
}

/// The events `s` reports until it has none.
fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Runs `s` alone (its peer silent or gone) from `from` until `until`,
/// firing every timer it asks for; returns the frames it sent and when.
fn run_alone(s: &mut Session, from: Instant, until: Instant) -> Vec<(Instant, Vec<u8>)> {
    let mut sent = Vec::new();
    let mut now = from;
    while now <= until {
        s.handle_timeout(now);
        for f in drain(s, now) {
            sent.push((now, f));
        }
        match s.poll_timeout() {
            Some(t) if t > now => now = t,
            Some(_) => now += Duration::from_millis(1),
            None => break,
        }
    }
    sent
}

/// A connected client/server pair that exchanged some data both ways.
fn established(t0: Instant) -> (Session, Session) {
    let mut c = client(t0);
    let hello = drain(&mut c, t0);
    let mut s = Session::new(Role::Server, config(), t0);
    deliver(&mut s, &hello, t0);
    s.push_data(b"banner", t0);
    c.push_data(b"request", t0);
    for _ in 0..4 {
        let to_client = drain(&mut s, t0);
        deliver(&mut c, &to_client, t0);
        let to_server = drain(&mut c, t0);
        deliver(&mut s, &to_server, t0);
    }
    (c, s)
}

#[test]
fn a_client_marks_its_frames_opening_until_the_server_answers_then_never() {
    let t0 = Instant::now();
    let (mut c, _s) = established(t0);
    // Later frames of an established client: data, acks, heartbeats.
    c.push_data(b"more", t0);
    let mut later = drain(&mut c, t0);
    later.extend(
        run_alone(&mut c, t0, t0 + Duration::from_secs(12))
            .into_iter()
            .map(|(_, f)| f),
    );
    assert!(!later.is_empty());
    for f in &later {
        assert!(!header(f).has(flags::OPENING), "{:?}", header(f));
        assert!(!opens_session(&header(f)), "{:?}", header(f));
    }
    // Its first frames, before any answer, all open.
    let mut fresh = client(t0);
    let first = run_alone(&mut fresh, t0, t0 + Duration::from_secs(3));
    assert!(first.len() >= 2, "the hello is retransmitted");
    for (_, f) in &first {
        assert!(opens_session(&header(f)), "{:?}", header(f));
    }
}

#[test]
fn a_server_answers_a_repeated_opening_frame_at_once_when_its_answer_was_lost() {
    let t0 = Instant::now();
    let mut c = client(t0);
    c.hold_data_until_answered();
    assert!(c.push_data(b"held until answered", t0) > 0);
    let hello = drain(&mut c, t0);
    let mut s = Session::new(Role::Server, config(), t0);
    deliver(&mut s, &hello, t0);
    let lost = drain(&mut s, t0);
    assert_eq!(lost.len(), 1, "the first answer");
    // It is lost; the client repeats its opening frame after its timer.
    let t1 = t0 + Duration::from_secs(1);
    c.handle_timeout(t1);
    let again = drain(&mut c, t1);
    assert!(
        again.iter().all(|f| header(f).has(flags::OPENING)),
        "no data before an answer"
    );
    assert!(!again.is_empty());
    deliver(&mut s, &again, t1);
    let answer = drain(&mut s, t1);
    assert!(!answer.is_empty(), "no answer until the next heartbeat");
    deliver(&mut c, &answer, t1);
    let data = drain(&mut c, t1);
    assert!(data.iter().any(|f| !decode(f).unwrap().data.is_empty()));
}

#[test]
fn the_c_originals_first_frames_open_a_session_and_its_later_ones_do_not() {
    let t0 = Instant::now();
    let client_role = LegacyRole::Client {
        remote_config: None,
    };
    // Idle: its first frame is a heartbeat after 500 ms.
    let mut idle = LegacySession::new(client_role, t0, 1);
    let mut buf = Vec::new();
    let t = t0 + Duration::from_millis(500);
    assert!(idle.poll_transmit(t, &mut buf));
    assert!(opens_session(&header(&buf)), "{:?}", header(&buf));
    // With input: its first frame is data frame 1.
    let mut busy = LegacySession::new(client_role, t0, 2);
    busy.push_input(b"hello");
    buf.clear();
    assert!(busy.poll_transmit(t0, &mut buf));
    assert_eq!(header(&buf).seq, 1);
    assert!(opens_session(&header(&buf)), "{:?}", header(&buf));
    // Once it has received data, every frame acknowledges it: no opening.
    let mut ours = Session::new(Role::Server, config(), t0);
    deliver(&mut ours, std::slice::from_ref(&buf), t0);
    ours.push_data(b"answer", t0);
    for f in drain(&mut ours, t0) {
        busy.handle_frame(&decode(&f).unwrap(), t0);
    }
    busy.push_input(b"second");
    let mut later = Vec::new();
    for n in 1..=4u64 {
        buf.clear();
        if busy.poll_transmit(t0 + Duration::from_millis(600 * n), &mut buf) {
            later.push(buf.clone());
        }
    }
    assert!(!later.is_empty());
    for f in &later {
        assert!(!opens_session(&header(f)), "{:?}", header(f));
    }
}

#[test]
fn closes_beacons_and_data_in_mid_stream_never_open_a_session() {
    let data = |seq, extra| Header {
        seq,
        ack: None,
        flags: extra,
        pad: 0,
    };
    assert!(!opens_session(&close_header()));
    assert!(!opens_session(&data(0, flags::BEACON)));
    assert!(!opens_session(&data(5, 0)), "C data frame 5");
    assert!(!opens_session(&Header {
        seq: 0,
        ack: Some(3),
        flags: flags::NO_DATA | flags::ACK_VALID,
        pad: 0,
    }));
    assert!(
        !opens_session(&data(1, flags::CAPABLE)),
        "ours, after the answer"
    );
    assert!(opens_session(&data(1, flags::CAPABLE | flags::OPENING)));
}

/// What a restarted server side does with a frame for a session id it does
/// not know (src/shell/server.rs): open, or answer with an abort.
fn restarted_server_answer(frame: &[u8]) -> Option<Vec<u8>> {
    let h = header(frame);
    (!opens_session(&h) && !is_close(&h)).then(|| encode(&close_header(), None, &[]))
}

#[test]
fn a_client_whose_server_side_restarted_is_reset_within_15_seconds_and_no_dial_happens() {
    let t0 = Instant::now();
    let (mut c, _lost) = established(t0);
    // The client keeps sending into the void: unacknowledged data.
    c.push_data(b"typed while the router rebooted", t0);
    let _ = drain(&mut c, t0);
    // The server side is back 5 s later; the client's next retransmission
    // or heartbeat reaches it.
    let back = t0 + Duration::from_secs(5);
    let _ = run_alone(&mut c, t0, back);
    let sent = run_alone(&mut c, back, back + Duration::from_secs(15));
    let (at, first) = sent.first().expect("the client sends within 15 s");
    let answer = restarted_server_answer(first).expect("answered with an abort, not opened");
    deliver(&mut c, &[answer], *at);
    let ev = events(&mut c);
    assert!(
        ev.contains(&Event::Closed(CloseReason::PeerAborted(
            AbortCode::Unspecified
        ))),
        "{ev:?} at {:?}",
        *at - back
    );
    assert!(*at - back <= Duration::from_secs(15));
}

#[test]
fn an_acknowledgement_of_a_frame_never_sent_aborts_and_is_not_heard() {
    let t0 = Instant::now();
    let (mut c, _s) = established(t0);
    let forged = encode(
        &Header {
            seq: 0,
            ack: Some(1_000),
            flags: flags::CAPABLE | flags::NO_DATA,
            pad: 0,
        },
        None,
        &[],
    );
    deliver(&mut c, &[forged], t0 + Duration::from_secs(1));
    let frames = drain(&mut c, t0 + Duration::from_secs(1));
    assert!(
        frames.iter().any(|f| is_close(&header(f))),
        "the peer is told"
    );
    assert!(events(&mut c).contains(&Event::Closed(CloseReason::ProtocolViolation)));
}

#[test]
fn a_peer_that_only_heartbeats_never_acknowledging_is_closed_after_the_peer_timeout() {
    let t0 = Instant::now();
    let (mut c, _s) = established(t0);
    c.push_data(b"never acknowledged", t0);
    let _ = drain(&mut c, t0);
    // A heartbeat without acknowledgement every 5 s, as a peer that lost the
    // session (or stopped reading) would send.
    let heartbeat = encode(
        &Header {
            seq: 0,
            ack: None,
            flags: flags::CAPABLE | flags::NO_DATA,
            pad: 0,
        },
        None,
        &[],
    );
    let mut now = t0;
    let mut closed_at = None;
    while now < t0 + TIMEOUT * 3 && closed_at.is_none() {
        now += Duration::from_secs(5);
        let _ = run_alone(&mut c, now - Duration::from_secs(5), now);
        deliver(&mut c, std::slice::from_ref(&heartbeat), now);
        if events(&mut c).contains(&Event::Closed(CloseReason::NoProgress)) {
            closed_at = Some(now);
        }
    }
    let closed_at = closed_at.expect("closed for lack of progress");
    assert!(
        closed_at - t0 <= TIMEOUT + Duration::from_secs(5),
        "{:?}",
        closed_at - t0
    );
}

#[test]
fn lingering_ends_within_its_bound_however_often_the_peer_retransmits() {
    let t0 = Instant::now();
    let (mut c, _s) = established(t0);
    c.abort();
    let _ = drain(&mut c, t0);
    // A peer that missed the abort retransmits a data frame every 2 s.
    let stray = encode(
        &Header {
            seq: 1,
            ack: None,
            flags: flags::CAPABLE,
            pad: 0,
        },
        None,
        b"x",
    );
    let mut now = t0;
    while !c.is_done() && now < t0 + Duration::from_secs(600) {
        now += Duration::from_secs(2);
        c.handle_timeout(now);
        deliver(&mut c, std::slice::from_ref(&stray), now);
        let _ = drain(&mut c, now);
    }
    assert!(c.is_done(), "still lingering after 600 s");
    assert!(now - t0 <= Duration::from_secs(62), "{:?}", now - t0);
}

/// A frame from a small alphabet of interesting headers: valid-looking,
/// duplicate, far ahead, acks beyond anything sent, closes, beacons.
fn random_frame(rng: &mut super::sim_support::Rng) -> Vec<u8> {
    let seq = [0, 1, 2, 3, 5, 100, 198, 199, 250, u64::MAX][rng.below(10) as usize];
    let ack = match rng.below(5) {
        0 => None,
        1 => Some(0),
        2 => Some(rng.below(8)),
        3 => Some(u64::MAX),
        _ => Some(rng.next()),
    };
    let bits = [
        flags::CAPABLE,
        flags::CAPABLE | flags::NO_DATA,
        flags::CAPABLE | flags::DISCONNECT,
        flags::CAPABLE | flags::DISCONNECT | flags::NO_DATA,
        flags::NO_DATA,
        0,
        flags::BEACON,
        flags::CAPABLE | flags::OPENING | crate::reliable::session::GAP_FLAG,
    ][rng.below(8) as usize];
    let len = [0, 1, 97, 1000, 5000][rng.below(5) as usize];
    let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
    encode(
        &Header {
            seq,
            ack,
            flags: bits,
            pad: 0,
        },
        None,
        &data,
    )
}

#[test]
fn the_core_never_panics_whatever_its_caller_and_the_peer_do() {
    use super::sim_support::{seeds, Rng};
    for seed in seeds(90_000, 40) {
        let mut rng = Rng::new(seed);
        let t0 = Instant::now();
        let mut now = t0;
        let mut s = if rng.chance(50) {
            client(t0)
        } else {
            Session::new(Role::Server, config(), t0)
        };
        let mut buf = Vec::new();
        for _ in 0..5_000 {
            match rng.below(12) {
                0..=3 => {
                    let f = random_frame(&mut rng);
                    s.handle_frame(&decode(&f).unwrap(), now);
                }
                4 => {
                    let len = [1, 500, 1000, 1001, 70_000][rng.below(5) as usize];
                    let _ = s.push_data(&vec![1u8; len], now);
                }
                5 => {
                    let n = rng.below(3_000) as usize;
                    s.consume(n, now);
                }
                6 => s.local_eof(),
                7 if rng.chance(10) => s.abort(),
                8 => s.link_restored(now),
                9 => {
                    now += Duration::from_millis(rng.below(20_000));
                    s.handle_timeout(now);
                }
                _ => {
                    buf.clear();
                    let _ = s.poll_transmit(now, &mut buf);
                    let _ = s.poll_event();
                    let _ = s.deliverable();
                    let _ = s.poll_timeout();
                }
            }
        }
    }
}
