//! The RTT estimator and its retransmission timeout.

use std::time::Duration;

use crate::reliable::rtt::*;

#[test]
fn the_first_sample_sets_srtt_and_half_variance() {
    let mut r = RttEstimator::default();
    assert_eq!(r.rto(), INITIAL_RTO);
    r.sample(Duration::from_millis(100));
    assert_eq!(r.srtt(), Some(Duration::from_millis(100)));
    assert_eq!(r.rto(), Duration::from_millis(300));
}

#[test]
fn backoff_doubles_and_is_capped_then_resets() {
    let mut r = RttEstimator::default();
    r.sample(Duration::from_millis(100));
    r.back_off();
    assert_eq!(r.rto(), Duration::from_millis(600));
    for _ in 0..40 {
        r.back_off();
    }
    assert_eq!(r.rto(), MAX_RTO);
    r.reset_backoff();
    assert_eq!(r.rto(), Duration::from_millis(300));
}

#[test]
fn tiny_rtts_are_floored_at_the_minimum_rto() {
    let mut r = RttEstimator::default();
    for _ in 0..50 {
        r.sample(Duration::from_micros(200));
    }
    assert_eq!(r.rto(), MIN_RTO);
}

#[test]
fn samples_are_smoothed() {
    let mut r = RttEstimator::default();
    r.sample(Duration::from_millis(80));
    r.sample(Duration::from_millis(160));
    assert_eq!(r.srtt(), Some(Duration::from_millis(90)));
}
