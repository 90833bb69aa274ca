//! The receive window: in-order delivery, holes, duplicates and its limits.

use crate::reliable::recv_window::*;

fn drain(w: &mut RecvWindow) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let d = w.deliverable().to_vec();
        if d.is_empty() {
            return out;
        }
        out.extend_from_slice(&d);
        w.consume(d.len());
    }
}

#[test]
fn frames_are_delivered_in_order_whatever_the_arrival_order() {
    let mut w = RecvWindow::new(8);
    assert_eq!(w.insert(3, b"c", false), Insert::OutOfOrder);
    assert_eq!(w.insert(2, b"b", false), Insert::OutOfOrder);
    assert!(w.deliverable().is_empty());
    assert_eq!(w.ack(), None);
    assert_eq!(w.insert(1, b"a", false), Insert::InOrder);
    assert_eq!(drain(&mut w), b"abc");
    assert_eq!(w.ack(), Some(3));
}

#[test]
fn duplicates_and_old_frames_are_dropped() {
    let mut w = RecvWindow::new(8);
    w.insert(1, b"a", false);
    assert_eq!(w.insert(1, b"a", false), Insert::Duplicate);
    w.insert(3, b"c", false);
    assert_eq!(w.insert(3, b"X", false), Insert::Duplicate);
    drain(&mut w);
    assert_eq!(w.insert(1, b"a", false), Insert::Duplicate);
    w.insert(2, b"b", false);
    assert_eq!(drain(&mut w), b"bc");
}

#[test]
fn unwritten_frames_hold_the_window_and_the_ack() {
    let mut w = RecvWindow::new(2);
    w.insert(1, b"aa", false);
    w.insert(2, b"bb", false);
    assert_eq!(w.insert(3, b"cc", false), Insert::BeyondWindow);
    assert_eq!(w.ack(), None);
    assert_eq!(w.consume(1), 0);
    assert_eq!(w.deliverable(), b"a");
    assert_eq!(w.consume(1), 1);
    assert_eq!(w.ack(), Some(1));
    assert_eq!(w.insert(3, b"cc", false), Insert::InOrder);
}

#[test]
fn the_end_of_stream_is_delivered_after_all_data() {
    let mut w = RecvWindow::new(8);
    w.insert(2, &[], true);
    assert!(!w.fin_delivered());
    w.insert(1, b"last", false);
    assert_eq!(drain(&mut w), b"last");
    assert!(w.fin_delivered());
    assert_eq!(w.ack(), Some(2));
    assert_eq!(w.insert(3, b"late", false), Insert::Duplicate);
}

#[test]
fn nothing_is_deliverable_after_the_buffers_are_released_mid_frame() {
    let mut w = RecvWindow::new(8);
    assert_eq!(w.insert(1, b"hello world", false), Insert::InOrder);
    assert_eq!(w.insert(3, b"beyond a hole", false), Insert::OutOfOrder);
    w.consume(5);
    w.release_buffers();
    assert_eq!(w.deliverable(), b"");
    assert_eq!(w.consume(100), 0);
    assert!(w.all_delivered());
}

#[test]
fn frames_out_of_order_are_held_only_up_to_the_limit() {
    let mut w = RecvWindow::new(16);
    w.set_limit(3000);
    let frame = vec![7u8; 1000];
    // Frame 1 withheld; 2..=4 fit, 5 and 6 do not.
    for seq in 2..=4 {
        assert_eq!(w.insert(seq, &frame, false), Insert::OutOfOrder);
    }
    assert_eq!(w.insert(5, &frame, false), Insert::OverLimit);
    assert_eq!(w.buffered(), 3000);
    // The frame that fills the hole is taken, and frees the rest as
    // they are written.
    assert_eq!(w.insert(1, &frame, false), Insert::InOrder);
    assert_eq!(drain(&mut w).len(), 4000);
    assert_eq!(w.buffered(), 0);
    assert_eq!(w.insert(5, &frame, false), Insert::InOrder);
}

#[test]
fn a_stalled_reader_holds_no_more_than_the_limit_of_frames_in_order() {
    let mut w = RecvWindow::new(64);
    w.set_limit(3000);
    let frame = vec![1u8; 1000];
    for seq in 1..=3 {
        assert_eq!(w.insert(seq, &frame, false), Insert::InOrder);
    }
    // Nothing is written out: the fourth is over the limit.
    assert_eq!(w.insert(4, &frame, false), Insert::OverLimit);
    assert_eq!(w.buffered(), 3000);
}

fn runs(w: &RecvWindow, most: usize) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    w.held_runs(|s, e| {
        out.push((s, e));
        out.len() < most
    });
    out
}

#[test]
fn the_runs_held_are_listed_lowest_first_from_the_oldest_not_written_out() {
    let mut w = RecvWindow::new(16);
    assert!(runs(&w, 8).is_empty());
    for seq in [1, 2, 4, 5, 6, 9] {
        w.insert(seq, b"x", false);
    }
    // 1 and 2 arrived in order but are not written out yet: held too.
    assert_eq!(runs(&w, 8), vec![(1, 3), (4, 7), (9, 10)]);
    assert_eq!(runs(&w, 2), vec![(1, 3), (4, 7)]);
    drain(&mut w);
    assert_eq!(runs(&w, 8), vec![(4, 7), (9, 10)]);
    assert_eq!(w.ack(), Some(2));
}
