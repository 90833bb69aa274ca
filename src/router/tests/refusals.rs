//! The rules of `refusals.rs`.

use std::time::{Duration, Instant};

use crate::router::refusals::*;

#[test]
fn a_flood_of_refusals_gives_one_line_per_period() {
    let t0 = Instant::now();
    let mut r = Refusals::new(t0);
    let mut lines = 0;
    // 5,000 refusals over 25 s, one every 5 ms.
    for i in 0..5_000u64 {
        let now = t0 + Duration::from_millis(5 * i);
        r.counts[Refusal::UnknownSession.index()] += 1;
        if r.summary(now).is_some() {
            lines += 1;
        }
    }
    assert_eq!(lines, 2, "25 s of refusals: a line at 10 s and at 20 s");
}

#[test]
fn the_summary_counts_each_kind_in_words() {
    let t0 = Instant::now();
    let mut r = Refusals::new(t0);
    for _ in 0..3 {
        r.counts[Refusal::Undecodable.index()] += 1;
    }
    r.counts[Refusal::SessionLimit.index()] += 1;
    let line = r.summary(t0 + REPORT_PERIOD).expect("due");
    assert!(line.contains("3 undecodable"), "{line}");
    assert!(
        line.contains("1 frames opening sessions beyond --max-sessions"),
        "{line}"
    );
    assert!(!line.contains("abort"), "{line}");
    assert_eq!(r.summary(t0 + REPORT_PERIOD * 3), None, "nothing new");
}

#[test]
fn answers_are_bounded_per_second() {
    let t0 = Instant::now();
    let mut r = Refusals::new(t0);
    let answered = (0..1_000).filter(|_| r.may_answer(t0)).count();
    assert_eq!(answered, MAX_ANSWERS_PER_SEC as usize);
    assert!(r.may_answer(t0 + Duration::from_secs(1)));
}
