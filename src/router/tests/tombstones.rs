//! The rules of `tombstones.rs`.

use crate::protocol::topic::SessionId;
use crate::router::tombstones::*;

#[test]
fn the_oldest_ids_are_forgotten_first() {
    let mut t = Tombstones::default();
    let id = |n: u32| {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&n.to_le_bytes());
        SessionId::from_random(b)
    };
    for n in 0..=REMEMBERED as u32 {
        t.bury(id(n));
    }
    assert!(!t.contains(&id(0)));
    assert!(t.contains(&id(1)));
    assert!(t.contains(&id(REMEMBERED as u32)));
}
