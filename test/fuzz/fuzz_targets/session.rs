//! The session state machine fed arbitrary frames and events in arbitrary
//! order: it never panics, whatever the peer (or a forger on the broker)
//! sends and whatever its caller does.
//!
//! Input: byte 0 picks the role; then operations, each an opcode byte and
//! its arguments: a frame (2-byte length, then that many bytes, decoded as
//! a payload from the broker), local data, a write of n bytes, a local EOF,
//! an abort, a restored link, time passing, a transmit/event/deadline poll.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mqtt_forward::protocol::frame::decode;
use mqtt_forward::reliable::session::{Role, Session, SessionConfig};

fuzz_target!(|input: &[u8]| {
    let Some((&role, mut ops)) = input.split_first() else {
        return;
    };
    let t0 = Instant::now();
    let mut now = t0;
    let config = SessionConfig {
        window: 8,
        frame_data: 1000,
        peer_timeout: Duration::from_secs(60),
    };
    let role = if role & 1 == 0 {
        Role::Client { remote_config: None }
    } else {
        Role::Server
    };
    let mut s = Session::new(role, config, t0);
    let mut out = Vec::new();
    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        let arg = |ops: &mut &[u8]| -> u16 {
            let (bytes, rest) = ops.split_at(ops.len().min(2));
            *ops = rest;
            bytes.iter().fold(0u16, |a, &b| (a << 8) | u16::from(b))
        };
        match op % 10 {
            0 => {
                let len = usize::from(arg(&mut ops)).min(ops.len());
                let (payload, rest) = ops.split_at(len);
                ops = rest;
                if let Ok(frame) = decode(payload) {
                    s.handle_frame(&frame, now);
                }
            }
            1 => {
                let len = usize::from(arg(&mut ops));
                let _ = s.push_data(&vec![7u8; len], now);
            }
            2 => s.consume(usize::from(arg(&mut ops)), now),
            3 => s.local_eof(),
            4 => s.abort(),
            5 => s.link_restored(now),
            6 => {
                now += Duration::from_millis(u64::from(arg(&mut ops)) * 10);
                s.handle_timeout(now);
            }
            7 => s.set_buffer_share(usize::from(arg(&mut ops)) * 64),
            8 => s.set_frame_limit(usize::from(arg(&mut ops))),
            _ => {
                out.clear();
                let _ = s.poll_transmit(now, &mut out);
                let _ = s.poll_event();
                let _ = s.deliverable();
                let _ = s.poll_timeout();
            }
        }
    }
});
