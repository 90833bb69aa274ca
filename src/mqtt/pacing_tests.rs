//! The publishing caps on virtual time: a sender that publishes whenever
//! the pacer lets it never puts more than a cap into any second, and gets
//! most of it.

use std::time::{Duration, Instant};

use super::pacing::{frame_cap, Caps, Pacer};

/// Publishes `len`-byte packets as fast as `pacer` allows for `secs`
/// seconds; returns the send times.
fn greedy(pacer: &mut Pacer, len: usize, secs: u64) -> Vec<Instant> {
    let t0 = Instant::now();
    let mut now = t0;
    let mut sent = Vec::new();
    while now < t0 + Duration::from_secs(secs) {
        let at = pacer.ready_at(len, now);
        if at > now {
            now = at;
            continue;
        }
        pacer.sent(len, now);
        sent.push(now);
    }
    sent
}

/// The most send times within any window of one second.
fn busiest_second(sent: &[Instant]) -> usize {
    let mut start = 0;
    let mut most = 0;
    for (end, t) in sent.iter().enumerate() {
        while t.duration_since(sent[start]) >= Duration::from_secs(1) {
            start += 1;
        }
        most = most.max(end + 1 - start);
    }
    most
}

#[test]
fn no_second_carries_more_publishes_than_the_rate_cap_and_most_of_it_is_used() {
    for cap in [1, 2, 10, 100, 5000] {
        let mut pacer = Pacer::new(
            Caps {
                publishes: Some(cap),
                bytes: None,
            },
            Instant::now(),
        );
        let sent = greedy(&mut pacer, 100, 20);
        let busiest = busiest_second(&sent);
        assert!(busiest <= cap as usize, "cap {cap}: {busiest} in a second");
        let mean = sent.len() as f64 / 20.0;
        assert!(mean >= 0.5 * f64::from(cap), "cap {cap}: {mean} per second");
        if cap >= 10 {
            assert!(
                mean >= 0.85 * f64::from(cap),
                "cap {cap}: {mean} per second"
            );
        }
    }
}

#[test]
fn no_second_carries_more_bytes_than_the_bandwidth_cap_and_most_of_it_is_used() {
    let cap = 512 * 1024;
    let mut pacer = Pacer::new(
        Caps {
            publishes: None,
            bytes: Some(cap),
        },
        Instant::now(),
    );
    let len = frame_cap(cap) + 300;
    let sent = greedy(&mut pacer, len, 20);
    let busiest = busiest_second(&sent) * len;
    assert!(busiest as u64 <= cap, "{busiest} bytes in a second");
    let mean = (sent.len() * len) as f64 / 20.0;
    assert!(mean >= 0.85 * cap as f64, "{mean} bytes per second");
}

#[test]
fn frames_fit_a_tenth_of_a_second_of_the_bandwidth_cap() {
    assert_eq!(frame_cap(512 * 1024), 52_428 - 300);
    assert_eq!(frame_cap(1000), 0);
}
