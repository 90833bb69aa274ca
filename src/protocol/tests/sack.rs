//! Selective acknowledgement blocks.

use crate::protocol::frame::{decode, encode, flags, Header};
use crate::protocol::sack::*;

#[test]
fn a_block_carries_its_runs_relative_to_the_acknowledgement() {
    let mut block = SackBlock::new(Some(10));
    assert!(block.is_empty());
    assert!(block.push(12, 15));
    assert!(block.push(20, 21));
    assert!(!block.push(5, 8), "below the acknowledgement");
    assert!(!block.push(30, 30), "empty");
    let got: Vec<_> = runs(block.as_bytes(), Some(10)).collect();
    assert_eq!(got, vec![(12, 15), (20, 21)]);
    let mut full = SackBlock::new(None);
    for i in 0..MAX_RUNS as u64 {
        assert!(full.push(2 + 2 * i, 3 + 2 * i));
    }
    assert!(!full.push(1000, 1001), "full");
    assert_eq!(runs(full.as_bytes(), None).count(), MAX_RUNS);
}

#[test]
fn a_sack_frame_decodes_with_its_block_and_no_stream_bytes() {
    let mut block = SackBlock::new(Some(3));
    block.push(5, 7);
    let header = Header {
        seq: 0,
        ack: Some(3),
        flags: flags::CAPABLE | flags::NO_DATA | flags::SACK,
        pad: 0,
    };
    let payload = encode(&header, None, block.as_bytes());
    let frame = decode(&payload).unwrap();
    assert!(frame.data.is_empty(), "an earlier version sees no data");
    assert_eq!(frame.sack, block.as_bytes());
    // Without NO_DATA the flag means nothing: the bytes are stream data.
    let data_header = Header {
        flags: flags::CAPABLE | flags::SACK,
        seq: 4,
        ..header
    };
    let payload = encode(&data_header, None, b"abc");
    let frame = decode(&payload).unwrap();
    assert_eq!(frame.data, b"abc");
    assert!(frame.sack.is_empty());
}

#[test]
fn any_block_bytes_give_at_most_max_runs_and_never_panic() {
    let mut seed = 0x5eed_u64;
    for len in 0..600 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                (seed >> 56) as u8
            })
            .collect();
        for ack in [None, Some(0), Some(u64::MAX - 1), Some(u64::MAX)] {
            let got: Vec<_> = runs(&bytes, ack).collect();
            assert!(got.len() <= MAX_RUNS);
            assert!(got.iter().all(|(s, e)| s <= e));
        }
    }
}
