//! The send window: sequence numbers, acknowledgements, fast and timed retransmission.

use std::time::Instant;

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
