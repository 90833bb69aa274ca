//! The model's own behaviour: what the C original does with each frame,
//! and when it wakes.

use super::*;
use crate::protocol::frame::{decode, encode, Header};

fn frame_bytes(seq: u64, ack: Option<u64>, flag_bits: u32, data: &[u8]) -> Vec<u8> {
    encode(
        &Header {
            seq,
            ack,
            flags: flag_bits,
            pad: 0,
        },
        None,
        data,
    )
}

fn feed(s: &mut LegacySession, bytes: &[u8], now: Instant) {
    s.handle_frame(&decode(bytes).unwrap(), now);
}

fn drain(s: &mut LegacySession, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while s.poll_transmit(now, &mut buf) {
        out.push(buf.clone());
    }
    out
}

#[test]
fn it_heartbeats_every_500_ms_without_input_and_acks_once_it_has_data() {
    let t0 = Instant::now();
    let mut s = LegacySession::new(LegacyRole::Server, t0, 1);
    assert!(drain(&mut s, t0).is_empty());
    assert_eq!(s.poll_timeout(), Some(t0 + POLL_TIMEOUT));
    let hb = drain(&mut s, t0 + POLL_TIMEOUT);
    assert_eq!(hb.len(), 1);
    let h = decode(&hb[0]).unwrap().header;
    assert_eq!((h.seq, h.ack, h.flags), (0, None, flags::NO_DATA));
    feed(&mut s, &frame_bytes(1, None, 0, b"x"), t0);
    assert_eq!(s.deliverable(), b"x");
    let hb = drain(&mut s, t0 + POLL_TIMEOUT * 2);
    let h = decode(&hb[0]).unwrap().header;
    assert_eq!(h.ack, Some(1));
}

#[test]
fn a_full_window_retransmits_only_the_oldest_frame_every_100_ms() {
    let t0 = Instant::now();
    let mut s = LegacySession::new(LegacyRole::Server, t0, 2);
    for _ in 0..TX_WINDOW_LIMIT {
        s.push_input(b"d");
        assert_eq!(drain(&mut s, t0).len(), 1);
    }
    // The 101st unacked frame fills the window: the next loop iteration
    // retransmits seq 1 at once, and no more input is read.
    s.push_input(b"d");
    let out = drain(&mut s, t0);
    assert_eq!(out.len(), 2);
    let h = decode(&out[1]).unwrap().header;
    assert_eq!((h.seq, h.flags), (1, 0));
    s.push_input(b"more");
    assert!(drain(&mut s, t0 + RETRANSMIT_SLEEP / 2).is_empty());
    assert_eq!(s.poll_timeout(), Some(t0 + RETRANSMIT_SLEEP));
    // An ack of 1 opens the window: the pending input is read.
    feed(&mut s, &frame_bytes(0, Some(1), flags::NO_DATA, &[]), t0);
    let out = drain(&mut s, t0 + RETRANSMIT_SLEEP);
    assert_eq!(decode(&out[0]).unwrap().header.seq, 102);
    assert_eq!(decode(&out[1]).unwrap().header.seq, 2);
}

#[test]
fn it_stores_up_to_198_ahead_and_delivers_in_order() {
    let t0 = Instant::now();
    let mut s = LegacySession::new(LegacyRole::Server, t0, 3);
    feed(&mut s, &frame_bytes(200, None, 0, b"z"), t0);
    assert_eq!(s.stats().beyond_backlog, 1);
    feed(&mut s, &frame_bytes(199, None, 0, b"y"), t0);
    feed(&mut s, &frame_bytes(0, None, 0, b"zero"), t0);
    feed(&mut s, &frame_bytes(2, None, 0, b""), t0);
    assert_eq!((s.stats().old, s.stats().empty), (1, 1));
    for seq in (1..199).rev() {
        feed(&mut s, &frame_bytes(seq, None, 0, b"a"), t0);
    }
    assert_eq!(s.deliverable().len(), 199);
    assert_eq!(s.deliverable()[198], b'y');
}

#[test]
fn an_ack_at_or_beyond_its_next_seq_ends_it_silently() {
    let t0 = Instant::now();
    let mut s = LegacySession::new(
        LegacyRole::Client {
            remote_config: None,
        },
        t0,
        4,
    );
    s.push_input(b"abc");
    assert_eq!(drain(&mut s, t0).len(), 1);
    feed(&mut s, &frame_bytes(0, Some(1), flags::NO_DATA, &[]), t0);
    assert!(s.end().is_none() && s.all_acked());
    feed(
        &mut s,
        &frame_bytes(0, Some(u64::MAX), flags::NO_DATA, &[]),
        t0,
    );
    assert!(matches!(
        s.end(),
        Some((
            LegacyEnd::AckBeyondTx {
                ack: u64::MAX,
                tx_seq: 2
            },
            _
        ))
    ));
    s.push_input(b"more");
    assert!(drain(&mut s, t0 + Duration::from_secs(10)).is_empty());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn the_client_sends_its_config_in_the_first_frame_only() {
    let t0 = Instant::now();
    let config = RemoteConfig {
        ip: None,
        port: Some(2222),
    };
    let mut s = LegacySession::new(
        LegacyRole::Client {
            remote_config: Some(config),
        },
        t0,
        5,
    );
    s.push_input(&[7; 20_000]);
    let out = drain(&mut s, t0);
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|f| f.len() <= LEGACY_MAX_PAYLOAD));
    let first = decode(&out[0]).unwrap();
    assert_eq!(first.remote_config, Some(config));
    assert_eq!(first.data.len(), LEGACY_MAX_PAYLOAD - HEADER_LEN - 12);
    assert_eq!(decode(&out[1]).unwrap().remote_config, None);
    s.local_eof();
    assert!(drain(&mut s, t0).is_empty());
    assert!(matches!(s.end(), Some((LegacyEnd::LocalEof, _))));
}
