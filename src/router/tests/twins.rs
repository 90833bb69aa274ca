//! The rules of `twins.rs`.

use crate::protocol::instance::Announcement;
use crate::router::twins::*;

fn ann(nonce: u8, started_ns: u64) -> Announcement {
    Announcement {
        nonce: [nonce; 16],
        started_ns,
    }
}

/// The broker's take-over cycle: `a` and `b` connect in turn, each
/// publishing its announcement after the broker delivered the retained
/// one (the other's). Returns the verdicts each saw.
fn take_overs(a: &mut Twins, b: &mut Twins, cycles: usize) -> (Vec<Verdict>, Vec<Verdict>) {
    let mut retained: Option<Vec<u8>> = None;
    let (mut va, mut vb) = (Vec::new(), Vec::new());
    for i in 0..cycles {
        let (me, verdicts) = if i % 2 == 0 {
            (&mut *a, &mut va)
        } else {
            (&mut *b, &mut vb)
        };
        let mine = me.connected();
        if let Some(r) = &retained {
            verdicts.push(me.received(r));
        }
        verdicts.push(me.received(&mine));
        retained = Some(mine);
    }
    (va, vb)
}

#[test]
fn of_two_processes_taking_turns_the_newer_stops_and_the_older_says_so_once() {
    let mut old = Twins::new(ann(1, 100));
    let mut new = Twins::new(ann(2, 200));
    let (v_old, v_new) = take_overs(&mut old, &mut new, 8);
    assert!(v_new.contains(&Verdict::Stop(ann(1, 100))), "{v_new:?}");
    assert!(!v_new.iter().any(|v| matches!(v, Verdict::KeepServing(_))));
    let said = v_old
        .iter()
        .filter(|v| matches!(v, Verdict::KeepServing(_)))
        .count();
    assert_eq!(said, 1, "{v_old:?}");
    assert!(!v_old.iter().any(|v| matches!(v, Verdict::Stop(_))));
}

#[test]
fn a_stale_announcement_at_the_first_connect_is_ignored() {
    let mut me = Twins::new(ann(3, 300));
    let stale = ann(9, 1).encode();
    let mine = me.connected();
    assert_eq!(me.received(&stale), Verdict::Nothing);
    assert_eq!(me.received(&mine), Verdict::Nothing);
    // Reconnects see only our own message from now on.
    for _ in 0..5 {
        let mine = me.connected();
        assert_eq!(me.received(&mine), Verdict::Nothing);
    }
}

#[test]
fn one_stale_announcement_restored_by_a_broker_restart_is_not_a_twin() {
    let mut me = Twins::new(ann(3, 300));
    let _ = me.connected();
    // The broker restarts and restores an old retained message once.
    let _ = me.connected();
    assert_eq!(me.received(&ann(9, 1).encode()), Verdict::Nothing);
    for _ in 0..5 {
        let mine = me.connected();
        assert_eq!(me.received(&mine), Verdict::Nothing);
    }
}

#[test]
fn a_cleared_or_foreign_payload_is_ignored() {
    let mut me = Twins::new(ann(3, 300));
    for _ in 0..4 {
        let _ = me.connected();
        assert_eq!(me.received(&[]), Verdict::Nothing);
        assert_eq!(me.received(b"garbage"), Verdict::Nothing);
    }
}
