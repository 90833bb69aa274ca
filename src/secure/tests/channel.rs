//! The handshake and sealed frames, end to end in memory.

use crate::protocol::frame::FrameBuf;
use crate::protocol::instance::Announcement;
use crate::protocol::keyed::{HELLO_BOUND_PREFIX_LEN, HELLO_PREFIX_LEN, REPLY_PREFIX_LEN, TAG_LEN};
use crate::protocol::topic::SessionId;
use crate::secure::channel::{Channel, Reject, MAX_OVERHEAD, SEALED_OVERHEAD};
use crate::secure::psk::Psk;

const KEY: &str = "4f6e65206b657920746f2072756c65207468656d20616c6c2c206f6e65206b65";
const OTHER_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn psk() -> Psk {
    Psk::parse(KEY).unwrap()
}

fn id(n: u8) -> SessionId {
    SessionId::from_random([n; 16])
}

/// Seals `plain` the way the shell does: placeholder prefix, then frame.
fn seal(ch: &mut Channel, plain: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; ch.prefix_len()];
    buf.put(plain);
    assert!(ch.seal(&mut buf));
    buf
}

fn open(ch: &mut Channel, payload: &[u8]) -> Result<Vec<u8>, Reject> {
    let mut plain = Vec::new();
    ch.open(payload, &mut plain).map(|()| plain)
}

/// A client and a server channel after a full handshake, and the frames
/// that made it.
fn handshake() -> (Channel, Channel, Vec<Vec<u8>>) {
    let mut client = Channel::client(&psk(), &id(1)).unwrap();
    let hello = seal(&mut client, b"opening frame");
    let mut plain = Vec::new();
    let mut server = Channel::accept(&psk(), &id(1), &hello, &mut plain).unwrap();
    assert_eq!(plain, b"opening frame");
    let reply = seal(&mut server, b"answer");
    assert_eq!(open(&mut client, &reply).unwrap(), b"answer");
    assert!(client.is_confirmed());
    assert!(
        !server.is_confirmed(),
        "no dial before the client proves its key"
    );
    let first = seal(&mut client, b"client data");
    assert_eq!(open(&mut server, &first).unwrap(), b"client data");
    assert!(server.is_confirmed());
    (client, server, vec![hello, reply, first])
}

#[test]
fn a_handshake_then_sealed_frames_both_ways() {
    let (mut client, mut server, _) = handshake();
    for i in 0..50u32 {
        let up = seal(&mut client, &i.to_le_bytes());
        assert_eq!(up.len(), 4 + SEALED_OVERHEAD);
        assert_eq!(open(&mut server, &up).unwrap(), i.to_le_bytes());
        let down = seal(&mut server, &[]);
        assert_eq!(open(&mut client, &down).unwrap(), b"");
    }
}

#[test]
fn the_same_frame_sealed_twice_never_looks_the_same() {
    let (mut client, mut server, _) = handshake();
    let a = seal(&mut client, b"retransmitted");
    let b = seal(&mut client, b"retransmitted");
    assert_ne!(a, b, "a retransmission is a new encryption");
    assert_ne!(a[2..10], b[2..10], "under a new counter");
    assert_eq!(open(&mut server, &b).unwrap(), b"retransmitted");
    assert_eq!(
        open(&mut server, &a).unwrap(),
        b"retransmitted",
        "reordered, once"
    );
}

#[test]
fn a_stream_marker_is_not_in_any_sealed_payload() {
    let marker = b"MARKER-7f3a9c";
    let (mut client, mut server, frames) = handshake();
    let mut wire = frames;
    let mut data = b"xx".to_vec();
    data.extend_from_slice(marker);
    wire.push(seal(&mut client, &data));
    wire.push(seal(&mut server, &data));
    for payload in &wire {
        assert!(!payload.windows(marker.len()).any(|w| w == marker));
        assert!(payload.len() <= data.len().max(13) + MAX_OVERHEAD);
    }
}

#[test]
fn replayed_and_altered_payloads_are_refused() {
    let (mut client, mut server, _) = handshake();
    let up = seal(&mut client, b"once");
    assert!(open(&mut server, &up).is_ok());
    assert_eq!(open(&mut server, &up), Err(Reject::Replayed));
    for i in 0..up.len() {
        let mut bad = seal(&mut client, b"twice");
        let at = i.min(bad.len() - 1);
        bad[at] ^= 0x40;
        assert!(open(&mut server, &bad).is_err(), "byte {i} flipped");
    }
    // Frames of one direction do not open in the other.
    let mut echo = seal(&mut server, b"down");
    echo[1] = 3;
    assert!(open(&mut server, &echo).is_err());
}

#[test]
fn every_forged_payload_is_refused_and_never_opens_a_session() {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut plain = Vec::new();
    for n in 0..5_000usize {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let len = n % 120;
        let mut payload: Vec<u8> = (0..len).map(|i| (rng >> (i % 56)) as u8).collect();
        if len > 2 {
            payload[0] = 1;
            payload[1] = (n % 4) as u8;
        }
        assert!(Channel::accept(&psk(), &id(2), &payload, &mut plain).is_err());
    }
}

#[test]
fn a_wrong_key_fails_on_both_sides() {
    let other = Psk::parse(OTHER_KEY).unwrap();
    let mut client = Channel::client(&other, &id(3)).unwrap();
    let hello = seal(&mut client, b"hi");
    let mut plain = Vec::new();
    assert_eq!(
        Channel::accept(&psk(), &id(3), &hello, &mut plain).err(),
        Some(Reject::Unauthenticated)
    );
    // A server with the other key answering a client with ours.
    let mut ours = Channel::client(&psk(), &id(3)).unwrap();
    let hello = seal(&mut ours, b"hi");
    let forged_hello = {
        let mut c = Channel::client(&other, &id(3)).unwrap();
        seal(&mut c, b"hi")
    };
    let mut theirs = Channel::accept(&other, &id(3), &forged_hello, &mut plain).unwrap();
    let reply = seal(&mut theirs, b"answer");
    assert_eq!(open(&mut ours, &reply), Err(Reject::Unauthenticated));
    // The genuine server's reply still completes the handshake afterwards.
    let mut server = Channel::accept(&psk(), &id(3), &hello, &mut plain).unwrap();
    let reply = seal(&mut server, b"answer");
    assert_eq!(open(&mut ours, &reply).unwrap(), b"answer");
}

#[test]
fn a_hello_is_bound_to_its_session_id() {
    let mut client = Channel::client(&psk(), &id(4)).unwrap();
    let hello = seal(&mut client, b"hi");
    let mut plain = Vec::new();
    assert!(Channel::accept(&psk(), &id(5), &hello, &mut plain).is_err());
}

#[test]
fn a_recorded_session_replayed_to_a_restarted_server_opens_nothing_but_its_hello() {
    let (mut client, _, mut recorded) = handshake();
    for i in 0..20u8 {
        recorded.push(seal(&mut client, &[i; 100]));
    }
    // The restarted server side has no memory of the session: the recorded
    // HELLO makes a new channel (new ephemeral key), under which none of
    // the client's recorded frames opens, so it never dials.
    let mut plain = Vec::new();
    let mut fresh = Channel::accept(&psk(), &id(1), &recorded[0], &mut plain).unwrap();
    for payload in &recorded[1..] {
        assert!(open(&mut fresh, payload).is_err());
    }
    assert!(!fresh.is_confirmed());
}

#[test]
fn retransmitted_hellos_reach_the_server_and_replays_of_them_do_not() {
    let mut client = Channel::client(&psk(), &id(6)).unwrap();
    let first = seal(&mut client, b"opening");
    let second = seal(&mut client, b"opening");
    assert_ne!(first, second);
    let mut plain = Vec::new();
    let mut server = Channel::accept(&psk(), &id(6), &first, &mut plain).unwrap();
    assert_eq!(open(&mut server, &second).unwrap(), b"opening");
    assert_eq!(open(&mut server, &second), Err(Reject::Replayed));
    assert_eq!(open(&mut server, &first), Err(Reject::Replayed));
}

fn own() -> Announcement {
    Announcement {
        nonce: [9; 16],
        started_ns: 77,
    }
}

/// A bound HELLO from a new client of session `n`, and the server's
/// channel for it (answering as [`own`]).
fn bound_hello(n: u8) -> (Channel, Channel, Vec<u8>) {
    let mut client = Channel::client(&psk(), &id(n)).unwrap();
    client.bind_to(own().nonce);
    let hello = seal(&mut client, b"opening");
    let mut plain = Vec::new();
    let mut server = Channel::accept(&psk(), &id(n), &hello, &mut plain).unwrap();
    assert_eq!(plain, b"opening");
    server.answer_as(own());
    (client, server, hello)
}

#[test]
fn a_bound_hello_names_the_server_process_and_its_reply_names_the_one_that_answers() {
    let (mut client, mut server, hello) = bound_hello(7);
    assert_eq!(hello.len(), HELLO_BOUND_PREFIX_LEN + 7 + 16);
    assert_eq!(server.named(), Some(own().nonce));
    let reply = seal(&mut server, b"answer");
    assert!(reply.len() - b"answer".len() <= MAX_OVERHEAD);
    assert_eq!(open(&mut client, &reply).unwrap(), b"answer");
    assert_eq!(client.server_process(), Some(own()));
    let up = seal(&mut client, b"data");
    assert_eq!(open(&mut server, &up).unwrap(), b"data");
    assert!(server.is_confirmed());
}

#[test]
fn an_unbound_hello_is_answered_as_before_and_names_no_process() {
    let mut client = Channel::client(&psk(), &id(8)).unwrap();
    let hello = seal(&mut client, b"opening");
    assert_eq!(hello.len(), HELLO_PREFIX_LEN + 7 + 16);
    let mut plain = Vec::new();
    let mut server = Channel::accept(&psk(), &id(8), &hello, &mut plain).unwrap();
    assert_eq!(server.named(), None);
    server.answer_as(own());
    let reply = seal(&mut server, b"answer");
    assert_eq!(reply.len(), REPLY_PREFIX_LEN + 6 + 16, "the earlier REPLY");
    assert_eq!(open(&mut client, &reply).unwrap(), b"answer");
    assert_eq!(client.server_process(), None);
}

#[test]
fn a_process_altered_in_a_bound_hello_or_reply_does_not_open() {
    let (_, _, mut hello) = bound_hello(9);
    hello[HELLO_PREFIX_LEN] ^= 1;
    let mut plain = Vec::new();
    assert!(Channel::accept(&psk(), &id(9), &hello, &mut plain).is_err());
    let (mut client, mut server, _) = bound_hello(10);
    let reply = seal(&mut server, b"answer");
    let mut altered = reply.clone();
    altered[REPLY_PREFIX_LEN - TAG_LEN + 3] ^= 1;
    assert!(open(&mut client, &altered).is_err());
    assert_eq!(client.server_process(), None);
    assert_eq!(open(&mut client, &reply).unwrap(), b"answer");
    assert_eq!(client.server_process(), Some(own()));
}
