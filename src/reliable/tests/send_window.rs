//! The send window: sequence numbers, acknowledgements, fast and timed retransmission.

use std::time::{Duration, Instant};

use crate::reliable::send_window::*;

fn sent(w: &mut SendWindow, now: Instant) -> u64 {
    let seq = w.next_to_send().unwrap();
    w.on_sent(seq, now);
    seq
}

#[test]
fn frames_are_numbered_from_one_and_freed_by_acks() {
    let t = Instant::now();
    let mut w = SendWindow::new(4);
    assert_eq!(w.push(b"a", false), 1);
    assert_eq!(w.push(b"b", false), 2);
    assert_eq!(sent(&mut w, t), 1);
    assert_eq!(sent(&mut w, t), 2);
    assert_eq!(w.next_to_send(), None);
    assert_eq!(w.on_ack(1, false, t), AckOutcome::Progress);
    assert_eq!(w.in_flight(), 1);
    assert_eq!(w.on_ack(1, false, t), AckOutcome::Stale);
    assert_eq!(w.on_ack(2, false, t), AckOutcome::Progress);
    assert!(w.all_acked());
    assert_eq!(w.rto_deadline(), None);
}

#[test]
fn an_ack_of_an_unsent_frame_is_invalid() {
    let t = Instant::now();
    let mut w = SendWindow::new(4);
    w.push(b"a", false);
    assert_eq!(w.on_ack(1, false, t), AckOutcome::Invalid);
    sent(&mut w, t);
    assert_eq!(w.on_ack(2, false, t), AckOutcome::Invalid);
    assert_eq!(w.on_ack(u64::MAX, false, t), AckOutcome::Invalid);
}

#[test]
fn the_window_limits_frames_in_flight() {
    let mut w = SendWindow::new(3);
    for _ in 0..3 {
        assert!(w.can_push(8));
        w.push(b"x", false);
    }
    assert!(!w.can_push(8));
    let mut w = SendWindow::new(8);
    w.push(b"x", false);
    assert!(!w.can_push(1));
}

#[test]
fn a_timeout_retransmits_the_oldest_frame_and_backs_off() {
    let t = Instant::now();
    let mut w = SendWindow::new(8);
    w.push(b"a", false);
    w.push(b"b", false);
    sent(&mut w, t);
    sent(&mut w, t);
    let d = w.rto_deadline().unwrap();
    w.on_timeout(d);
    assert_eq!(w.next_to_send(), Some(1));
    sent(&mut w, d);
    assert_eq!(w.retransmissions(), 1);
    assert!(w.rto_deadline().unwrap() - d > d - t, "backed off");
    // Partial ack during recovery retransmits the next hole at once.
    assert_eq!(w.on_ack(1, false, d), AckOutcome::Progress);
    assert_eq!(w.next_to_send(), Some(2));
}

#[test]
fn a_gap_ack_triggers_one_fast_retransmit_per_episode() {
    let t = Instant::now();
    let mut w = SendWindow::new(8);
    for _ in 0..4 {
        w.push(b"x", false);
        sent(&mut w, t);
    }
    w.on_ack(1, false, t);
    w.on_ack(1, false, t);
    assert_eq!(
        w.next_to_send(),
        None,
        "a plain duplicate ack is not evidence"
    );
    w.on_ack(1, true, t);
    assert_eq!(w.next_to_send(), Some(2));
    sent(&mut w, t);
    w.on_ack(1, true, t);
    assert_eq!(w.next_to_send(), None, "already recovering");
}

#[test]
fn the_end_of_stream_frame_closes_the_window() {
    let t = Instant::now();
    let mut w = SendWindow::new(8);
    w.push(&[], true);
    assert!(w.fin_queued());
    assert!(!w.can_push(8));
    sent(&mut w, t);
    assert!(!w.fin_acked());
    w.on_ack(1, false, t);
    assert!(w.fin_acked());
}

/// Ten frames pushed and sent at `t`, frame 1 acknowledged.
fn ten_in_flight(t: Instant) -> SendWindow {
    let mut w = SendWindow::new(16);
    for _ in 0..10 {
        w.push(b"x", false);
        sent(&mut w, t);
    }
    assert_eq!(w.on_ack(1, false, t), AckOutcome::Progress);
    w
}

/// Every frame the window sends now, in order.
fn drain(w: &mut SendWindow, now: Instant) -> Vec<u64> {
    std::iter::from_fn(|| w.next_to_send().inspect(|&s| w.on_sent(s, now))).collect()
}

#[test]
fn a_selective_ack_retransmits_every_hole_it_shows_at_once() {
    let t = Instant::now();
    let mut w = ten_in_flight(t);
    // The peer holds 3-4, 6-7 and 9-10: 2, 5 and 8 were lost.
    let t1 = t + Duration::from_millis(50);
    w.on_sack([(3, 5), (6, 8), (9, 11)].into_iter());
    assert!(w.take_loss());
    assert_eq!(drain(&mut w, t1), vec![2, 5, 8]);
    assert_eq!(w.retransmissions(), 3);
    // The same block again (an ack of something else): nothing new is lost.
    w.on_sack([(3, 5), (6, 8), (9, 11)].into_iter());
    assert_eq!(drain(&mut w, t1), Vec::<u64>::new());
    // The repairs arrive: everything is acknowledged.
    assert_eq!(w.on_ack(10, false, t1), AckOutcome::Progress);
    assert!(w.all_acked());
}

#[test]
fn a_retransmission_lost_again_is_found_by_a_frame_sent_after_it() {
    let t = Instant::now();
    let mut w = ten_in_flight(t);
    w.on_sack([(3, 11)].into_iter());
    let t1 = t + Duration::from_millis(50);
    assert_eq!(drain(&mut w, t1), vec![2]);
    // A new frame after the retransmission arrives, the retransmission
    // does not: it is lost too.
    let t2 = t1 + Duration::from_millis(1);
    w.push(b"y", false);
    assert_eq!(drain(&mut w, t2), vec![11]);
    w.on_sack([(3, 12)].into_iter());
    assert_eq!(drain(&mut w, t2), vec![2]);
    assert_eq!(w.retransmissions(), 2);
}

#[test]
fn without_selective_acks_partial_acks_still_repair_one_hole_each() {
    let t = Instant::now();
    let mut w = ten_in_flight(t);
    w.on_ack(1, true, t);
    assert_eq!(drain(&mut w, t), vec![2]);
    w.on_ack(4, false, t);
    assert_eq!(drain(&mut w, t), vec![5]);
}

#[test]
fn after_a_timeout_every_frame_the_peer_does_not_hold_goes_again() {
    let t = Instant::now();
    let mut w = ten_in_flight(t);
    w.on_sack([(4, 6)].into_iter());
    assert_eq!(drain(&mut w, t), vec![2, 3]);
    let d = w.rto_deadline().unwrap();
    w.on_timeout(d);
    // The oldest, then the rest but 4 and 5.
    assert_eq!(drain(&mut w, d), vec![2, 3, 6, 7, 8, 9, 10]);
}

#[test]
fn runs_beyond_what_was_sent_are_ignored() {
    let t = Instant::now();
    let mut w = ten_in_flight(t);
    w.on_sack([(50, 60), (0, 1), (u64::MAX - 1, u64::MAX)].into_iter());
    assert!(!w.take_loss());
    assert_eq!(drain(&mut w, t), Vec::<u64>::new());
    assert_eq!(w.on_ack(10, false, t), AckOutcome::Progress);
}
