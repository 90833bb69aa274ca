//! The frame codec: the C original's byte layout, round trips of every
//! flag, and payloads that must be rejected without a panic.

use std::net::Ipv4Addr;

use crate::protocol::abort::AbortCode;
use crate::protocol::frame::*;
use crate::protocol::limits::HEADER_LEN;

fn hdr(seq: u64, ack: Option<u64>, flags: u32) -> Header {
    Header {
        seq,
        ack,
        flags,
        pad: 0,
    }
}

#[test]
fn a_data_frame_is_little_endian_on_the_wire() {
    let bytes = encode(&hdr(0x0102, Some(0x0304), flags::CAPABLE), None, b"hi");
    let expected: [u8; 26] = [
        0x02, 0x01, 0, 0, 0, 0, 0, 0, // seq
        0x04, 0x03, 0, 0, 0, 0, 0, 0, // ack
        0x22, 0, 0, 0, // flags: CAPABLE | ACK_VALID
        0, 0, 0, 0, // pad
        b'h', b'i',
    ];
    assert_eq!(bytes, expected);
}

#[test]
fn the_beacon_is_a_bare_header_with_only_the_beacon_flag() {
    let mut expected = [0u8; 24];
    expected[16] = 0x08;
    assert_eq!(beacon(), expected);
    let bytes = beacon();
    assert!(decode(&bytes).unwrap().header.has(flags::BEACON));
}

#[test]
fn remote_config_matches_the_c_layout() {
    let config = RemoteConfig {
        ip: Some(Ipv4Addr::new(10, 1, 2, 3)),
        port: Some(2222),
    };
    let bytes = encode(&hdr(0, None, flags::NO_DATA), Some(&config), &[]);
    assert_eq!(bytes[16], (flags::NO_DATA | flags::REMOTE_CONFIG) as u8);
    let block = &bytes[24..];
    let expected: [u8; 18] = [
        18, 0, 0, 0, // config_size
        2, 0, 0, 0, // num_items
        0, 0, 10, 1, 2, 3, // type 0, IPv4 in network order
        1, 0, 0xae, 0x08, // type 1, port 2222 little-endian
    ];
    assert_eq!(block, expected);
    let frame = decode(&bytes).unwrap();
    assert_eq!(frame.remote_config, Some(config));
    assert!(frame.data.is_empty());
}

#[test]
fn remote_config_with_only_a_port_round_trips_before_data() {
    let config = RemoteConfig {
        ip: None,
        port: Some(80),
    };
    let bytes = encode(&hdr(1, None, 0), Some(&config), b"GET /");
    assert_eq!(bytes.len(), 24 + 12 + 5);
    let frame = decode(&bytes).unwrap();
    assert_eq!(frame.remote_config, Some(config));
    assert_eq!(frame.data, b"GET /");
    assert_eq!(frame.header.seq, 1);
}

#[test]
fn every_flag_round_trips() {
    for bit in 0..32 {
        let f = 1u32 << bit;
        if f == flags::REMOTE_CONFIG || f == flags::ACK_VALID {
            continue;
        }
        let bytes = encode(&hdr(7, Some(5), f), None, b"x");
        let frame = decode(&bytes).unwrap();
        assert_eq!(frame.header.flags, f | flags::ACK_VALID, "bit {bit}");
        assert_eq!(frame.header.ack, Some(5));
        assert_eq!(frame.header.seq, 7);
    }
}

#[test]
fn ack_and_pad_are_ignored_without_ack_valid() {
    let mut bytes = encode(&hdr(3, None, 0), None, b"abc");
    bytes[8..16].copy_from_slice(&[0xde; 8]);
    bytes[20..24].copy_from_slice(&[0xad; 4]);
    let frame = decode(&bytes).unwrap();
    assert_eq!(frame.header.ack, None);
    assert_eq!(frame.data, b"abc");
}

#[test]
fn a_close_frame_carries_its_abort_code_in_the_pad_field() {
    let bytes = close_frame(AbortCode::TargetRefused);
    assert_eq!(bytes.len(), HEADER_LEN);
    assert_eq!(&bytes[20..24], &[2, 0, 0, 0]);
    let frame = decode(&bytes).unwrap();
    assert!(is_close(&frame.header));
    assert_eq!(frame.abort_code, AbortCode::TargetRefused);
    // From the C original (no CAPABLE flag), pad is uninitialised.
    let mut legacy = bytes.clone();
    legacy[16] &= !(flags::CAPABLE as u8);
    assert_eq!(decode(&legacy).unwrap().abort_code, AbortCode::Unspecified);
}

#[test]
fn no_data_frames_carry_no_stream_bytes() {
    let bytes = encode(&hdr(0, Some(9), flags::NO_DATA), None, b"junk");
    assert!(decode(&bytes).unwrap().data.is_empty());
}

#[test]
fn truncated_and_oversized_payloads_are_rejected() {
    for n in 0..HEADER_LEN {
        assert_eq!(decode(&vec![0; n]), Err(DecodeError::Truncated(n)));
    }
    let big = vec![0; MAX_PAYLOAD + 1];
    assert_eq!(decode(&big), Err(DecodeError::Oversized(MAX_PAYLOAD + 1)));
    assert!(decode(&vec![0; MAX_PAYLOAD]).is_ok());
}

#[test]
fn malformed_remote_config_blocks_are_rejected() {
    let mut base = encode(&hdr(0, None, 0), None, &[]);
    base[16] = flags::REMOTE_CONFIG as u8;
    let cases: Vec<Vec<u8>> = vec![
        vec![],                                    // no block
        vec![8, 0, 0],                             // short head
        vec![7, 0, 0, 0, 0, 0, 0, 0],              // size below head
        vec![20, 0, 0, 0, 0, 0, 0, 0],             // size beyond payload
        vec![12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], // unknown type
        vec![10, 0, 0, 0, 1, 0, 0, 0, 0, 0],       // IPv4 overruns
        vec![12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], // trailing bytes
        vec![8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],  // huge item count
    ];
    for (i, block) in cases.into_iter().enumerate() {
        let mut bytes = base.clone();
        bytes.extend_from_slice(&block);
        assert!(
            matches!(decode(&bytes), Err(DecodeError::BadRemoteConfig(_))),
            "case {i}"
        );
    }
}

#[test]
fn garbage_never_panics() {
    let mut state = 0x1234_5678_9abc_def0u64;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 80) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| (state.rotate_left(i as u32 * 7) & 0xff) as u8)
            .collect();
        let _ = decode(&bytes);
    }
}
