//! The rules of `twins.rs`.

use crate::protocol::instance::{Announcement, Challenged, CHALLENGE_LEN};
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
fn of_two_unkeyed_processes_taking_turns_each_suspects_the_other_once_and_neither_stops() {
    let mut old = Twins::new(ann(1, 100));
    let mut new = Twins::new(ann(2, 200));
    let (v_old, v_new) = take_overs(&mut old, &mut new, 12);
    for (name, verdicts) in [("old", &v_old), ("new", &v_new)] {
        let said = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Suspected(_)))
            .count();
        assert_eq!(said, 1, "{name}: {verdicts:?}");
        assert!(
            !verdicts.iter().any(|v| matches!(v, Verdict::Stop(_))),
            "{name}: {verdicts:?}"
        );
    }
}

/// A keyed process: its twin state and its challenges (distinct per
/// process and connect, as the router's tags are).
struct Keyed {
    twins: Twins,
    tag: u8,
    connects: u8,
}

impl Keyed {
    fn new(nonce: u8, started_ns: u64) -> Keyed {
        Keyed {
            twins: Twins::new(ann(nonce, started_ns)),
            tag: nonce,
            connects: 0,
        }
    }

    /// Connects: the retained announcement arrives, then ours goes out
    /// (again if an answer is due). Returns the verdict and what stays
    /// retained.
    fn connect(&mut self, retained: Option<&[u8]>) -> (Verdict, Vec<u8>) {
        self.connects += 1;
        let mut challenge = [self.tag; CHALLENGE_LEN];
        challenge[0] = self.connects;
        self.twins.connected_keyed(challenge);
        let mut published = self.twins.announcement(0);
        let mut verdict = Verdict::Nothing;
        if let Some(r) = retained {
            verdict = self.twins.received_keyed(&Challenged::decode(r).unwrap());
            if self.twins.take_answer_due() {
                published = self.twins.announcement(0);
            }
        }
        (verdict, published)
    }
}

#[test]
fn of_two_keyed_processes_taking_turns_the_newer_stops_and_the_older_says_so_once() {
    let mut old = Keyed::new(1, 100);
    let mut new = Keyed::new(2, 200);
    let mut retained = None::<Vec<u8>>;
    let (mut v_old, mut v_new) = (Vec::new(), Vec::new());
    for i in 0..8 {
        let (me, verdicts) = if i % 2 == 0 {
            (&mut old, &mut v_old)
        } else {
            (&mut new, &mut v_new)
        };
        let (verdict, published) = me.connect(retained.as_deref());
        verdicts.push(verdict);
        retained = Some(published);
        if matches!(verdict, Verdict::Stop(_)) {
            break;
        }
    }
    assert_eq!(v_new.last(), Some(&Verdict::Stop(ann(1, 100))), "{v_new:?}");
    let said = v_old
        .iter()
        .filter(|v| matches!(v, Verdict::KeepServing(_)))
        .count();
    assert_eq!(said, 1, "{v_old:?}");
    assert!(!v_old.iter().any(|v| matches!(v, Verdict::Stop(_))));
}

#[test]
fn recorded_keyed_announcements_replayed_at_any_connect_never_prove_a_twin() {
    // A real twin episode of an earlier process, recorded.
    let mut earlier = Keyed::new(1, 100);
    let mut twin = Keyed::new(2, 50);
    let (_, a) = earlier.connect(None);
    let (_, b) = twin.connect(Some(&a));
    let (verdict, _) = earlier.connect(Some(&b));
    assert_eq!(verdict, Verdict::Stop(ann(2, 50)), "the episode was real");
    // A new process with the same id: the recordings answer challenges it
    // never made, however often it is made to reconnect.
    let mut me = Keyed::new(3, 300);
    for recorded in [&a, &b].into_iter().cycle().take(20) {
        let (verdict, _) = me.connect(Some(recorded));
        assert_eq!(verdict, Verdict::Nothing);
    }
    // Nor does an answer to this process's own challenge once it has
    // connected twice since (the attacker took the id over meanwhile)...
    let (_, mine) = me.connect(None);
    let (_, answer) = twin.connect(Some(&mine));
    let _ = me.connect(None);
    let (verdict, _) = me.connect(Some(&answer));
    assert_eq!(verdict, Verdict::Nothing);
    // ...while a live one, seen at the next connect, does.
    let (_, mine) = me.connect(None);
    let (_, answer) = twin.connect(Some(&mine));
    let (verdict, _) = me.connect(Some(&answer));
    assert_eq!(verdict, Verdict::Stop(ann(2, 50)));
}

#[test]
fn replayed_challenges_make_a_side_answer_at_most_once_per_connect() {
    let mut me = Keyed::new(3, 300);
    let _ = me.connect(None);
    for n in 0..10 {
        let mut other = Keyed::new(10 + n, 1_000);
        let (_, theirs) = other.connect(None);
        let c = Challenged::decode(&theirs).unwrap();
        assert_eq!(me.twins.received_keyed(&c), Verdict::Nothing);
        assert_eq!(me.twins.take_answer_due(), n == 0, "replay {n}");
    }
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
