//! The timestamps in the `pad` field.

use std::time::Duration;

use crate::protocol::abort::AbortCode;
use crate::protocol::flags;
use crate::protocol::frame::{close_frame, decode, encode, Header};
use crate::protocol::stamps::{clock, round_trip, Stamps, MAX_SAMPLE};

#[test]
fn stamps_survive_a_frame_round_trip() {
    let stamps = Stamps {
        sent: 0xfffe,
        echo: Some(7),
    };
    let (extra, pad) = stamps.to_wire();
    let header = Header {
        seq: 3,
        ack: Some(2),
        flags: flags::CAPABLE | extra,
        pad,
    };
    let bytes = encode(&header, None, b"x");
    let h = decode(&bytes).unwrap().header;
    assert_eq!(Stamps::from_wire(h.flags, h.pad), Some(stamps));
}

#[test]
fn a_frame_without_the_flag_or_from_a_c_peer_carries_no_stamps() {
    assert_eq!(Stamps::from_wire(flags::CAPABLE, 0x1234_5678), None);
    // The C original leaves pad uninitialised and sends no CAPABLE.
    assert_eq!(Stamps::from_wire(flags::TIMESTAMP, 0x1234_5678), None);
}

#[test]
fn a_close_frames_pad_is_its_abort_code_never_stamps() {
    let bytes = close_frame(AbortCode::TargetRefused);
    let h = decode(&bytes).unwrap().header;
    assert_eq!(Stamps::from_wire(h.flags | flags::TIMESTAMP, h.pad), None);
}

#[test]
fn round_trips_are_taken_across_the_clocks_wrap_and_stale_echoes_are_not() {
    let now = clock(Duration::from_millis(65_536 + 5));
    let echo = clock(Duration::from_millis(65_536 - 20));
    assert_eq!(round_trip(now, echo), Some(Duration::from_millis(25)));
    let stale = now.wrapping_sub(MAX_SAMPLE.as_millis() as u16 + 1);
    assert_eq!(round_trip(now, stale), None);
}
