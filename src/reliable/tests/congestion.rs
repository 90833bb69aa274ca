//! The delay-based window alone, on virtual time, and the table of shared
//! path delays.

use std::time::{Duration, Instant};

use crate::reliable::congestion::{Ack, BaseHistory, DelayWindow, TARGET};
use crate::reliable::paths::{PathBases, Report, MAX_PATHS};

const MS: Duration = Duration::from_millis(1);
const FRAME: usize = 4096;
const FLOOR: usize = 2 * FRAME;
const CAP: usize = 1 << 20;

fn ack(bytes: usize, rtt: Option<Duration>, limited: bool) -> Ack {
    Ack {
        bytes,
        rtt,
        limited,
        unit: FRAME,
        floor: FLOOR,
        cap: CAP,
        allowance: Duration::ZERO,
    }
}

/// A window that has measured a 100 ms path.
fn measured(initial: usize, t: Instant) -> DelayWindow {
    let mut w = DelayWindow::new(initial);
    w.sample(100 * MS, t);
    w
}

/// A window of `initial` bytes on a 100 ms path whose recent round trips
/// are all `rtt` (the current delay is the minimum of the last four).
fn at_rtt(initial: usize, rtt: Duration, t: Instant) -> DelayWindow {
    let mut w = measured(initial, t);
    for _ in 0..4 {
        w.sample(rtt, t);
    }
    w
}

fn window(w: &DelayWindow) -> usize {
    w.window(FLOOR, CAP)
}

#[test]
fn the_window_doubles_per_round_trip_while_the_path_has_no_queue() {
    let t = Instant::now();
    let mut w = measured(32 * 1024, t);
    w.on_ack(ack(32 * 1024, Some(100 * MS), true), t);
    assert_eq!(window(&w), 64 * 1024);
}

#[test]
fn the_window_grows_only_while_it_limits_the_sender() {
    let t = Instant::now();
    let mut w = measured(32 * 1024, t);
    w.on_ack(ack(32 * 1024, Some(100 * MS), false), t);
    assert_eq!(window(&w), 32 * 1024);
}

#[test]
fn near_the_target_the_window_grows_by_less_than_a_frame_per_round_trip() {
    let t = Instant::now();
    let rtt = 100 * MS + TARGET / 2;
    let mut w = at_rtt(100_000, rtt, t);
    for _ in 0..4 {
        w.on_ack(ack(25_000, Some(rtt), true), t);
    }
    let grown = window(&w) - 100_000;
    assert!(grown > 0 && grown <= FRAME, "grew {grown}");
}

#[test]
fn past_the_target_the_window_shrinks_in_proportion_to_the_excess() {
    let t = Instant::now();
    let shrink = |excess: Duration| {
        let rtt = 100 * MS + TARGET + excess;
        let mut w = at_rtt(100_000, rtt, t);
        for _ in 0..4 {
            w.on_ack(ack(25_000, Some(rtt), true), t);
        }
        100_000 - window(&w)
    };
    let small = shrink(10 * MS);
    let large = shrink(100 * MS);
    assert!(small > 0 && large > 2 * small, "{small} {large}");
    assert!(
        large < 50_000,
        "more than half of the window in one round trip: {large}"
    );
}

#[test]
fn the_allowance_for_full_frames_is_not_taken_for_a_queue() {
    let t = Instant::now();
    let rtt = 100 * MS + TARGET + 10 * MS;
    let mut w = at_rtt(100_000, rtt, t);
    let mut a = ack(100_000, Some(rtt), true);
    a.allowance = 12 * MS;
    w.on_ack(a, t);
    assert!(window(&w) > 100_000);
}

#[test]
fn a_loss_halves_the_window_once_per_round_trip_and_never_below_the_floor() {
    let t = Instant::now();
    let mut w = measured(100_000, t);
    w.on_loss(FLOOR, 100 * MS, t);
    assert_eq!(window(&w), 50_000);
    w.on_loss(FLOOR, 100 * MS, t + 50 * MS);
    assert_eq!(window(&w), 50_000);
    for i in 0..10 {
        w.on_loss(FLOOR, 100 * MS, t + 200 * MS * (i + 1));
    }
    assert_eq!(window(&w), FLOOR);
}

#[test]
fn the_window_stays_within_its_cap() {
    let t = Instant::now();
    let mut w = measured(CAP - 1000, t);
    w.on_ack(ack(CAP, Some(100 * MS), true), t);
    assert_eq!(window(&w), CAP);
    assert_eq!(w.window(FLOOR, 10_000), 10_000);
}

#[test]
fn the_base_delay_is_the_minimum_of_ten_minutes_and_forgets_older_ones() {
    let t = Instant::now();
    let mut h = BaseHistory::default();
    h.record(50 * MS, t);
    for minute in 1..=9 {
        h.record(80 * MS, t + Duration::from_secs(60 * minute));
    }
    assert_eq!(h.min(), Some(50 * MS));
    h.record(90 * MS, t + Duration::from_secs(600));
    assert_eq!(h.min(), Some(80 * MS));
}

#[test]
fn a_latecomer_takes_the_lower_base_its_path_measured_before_it() {
    let t = Instant::now();
    let mut w = measured(100_000, t);
    // Its own first sample was taken behind others' queue.
    let mut late = DelayWindow::new(100_000);
    late.sample(160 * MS, t);
    assert_eq!(late.queueing(), Some(Duration::ZERO));
    late.set_shared_base(w.own_base());
    assert_eq!(late.queueing(), Some(60 * MS));
    w.set_shared_base(Some(200 * MS));
    assert_eq!(w.base_delay(), Some(100 * MS));
}

#[test]
fn the_path_table_is_bounded_and_forgets_the_least_recently_used_path() {
    let t = Instant::now();
    let mut paths = PathBases::default();
    let rtt = |rtt| Report {
        rtt,
        ..Report::default()
    };
    for key in 0..MAX_PATHS as u32 {
        paths.record(key, rtt(Some(100 * MS)), t + MS * key);
    }
    assert!(!paths.take_evicted());
    let base = |paths: &mut PathBases, key, secs| {
        paths
            .record(key, rtt(None), t + Duration::from_secs(secs))
            .base
    };
    assert_eq!(base(&mut paths, 0, 1), Some(100 * MS));
    paths.record(9999, rtt(Some(10 * MS)), t + Duration::from_secs(2));
    assert!(paths.take_evicted());
    // Key 1 was the least recently used (0 was just seen): it is gone.
    assert_eq!(base(&mut paths, 1, 3), None);
    assert_eq!(base(&mut paths, 0, 3), Some(100 * MS));
}

/// A report of a window (and the window reported before), no round trip.
fn report(window: usize, before: usize) -> Report {
    Report {
        rtt: None,
        window,
        before,
    }
}

#[test]
fn a_path_sums_the_windows_its_sessions_report_until_they_leave() {
    let t = Instant::now();
    let mut paths = PathBases::default();
    paths.record(7, report(1000, 0), t);
    assert_eq!(paths.record(7, report(3000, 0), t).windows, 4000);
    assert_eq!(paths.record(7, report(500, 1000), t).windows, 3500);
    paths.leave(7, 3000, t);
    assert_eq!(paths.record(7, report(500, 500), t).windows, 500);
}

#[test]
fn a_session_alone_on_a_path_may_start_at_half_the_window_it_carried_within_a_minute() {
    let t = Instant::now();
    let mut paths = PathBases::default();
    assert_eq!(
        paths.record(7, report(32_768, 0), t).start,
        0,
        "nothing known"
    );
    paths.record(7, report(4_000_000, 32_768), t);
    paths.leave(7, 4_000_000, t);
    // The next session, alone: half of what its predecessor had.
    let next = paths.record(7, report(32_768, 0), t + Duration::from_secs(1));
    assert_eq!(next.start, 2_000_000);
    // Beside another session, nothing: it shares what that one measures.
    let beside = paths.record(7, report(32_768, 0), t + Duration::from_secs(1));
    assert_eq!(beside.start, 0);
    // A minute later the path may have changed: a slow start again.
    let mut later = PathBases::default();
    later.record(9, report(4_000_000, 0), t);
    later.leave(9, 4_000_000, t);
    let after = later.record(9, report(32_768, 0), t + Duration::from_secs(61));
    assert_eq!(after.start, 0);
}
