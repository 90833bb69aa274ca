//! Round-trip-time estimator and retransmission timeout (RFC 6298).

use std::time::Duration;

/// Lower bound of the retransmission timeout. The broker path on a LAN is
/// well under a millisecond, but a broker with Nagle's algorithm on stalls
/// small packets for ~40 ms (delayed ACK) and a loaded router adds jitter;
/// at 50 ms the benchmark saw hundreds of spurious retransmissions per
/// session. Losses are mostly repaired by fast retransmission anyway.
pub const MIN_RTO: Duration = Duration::from_millis(200);
/// Upper bound of the (backed-off) retransmission timeout, so that a
/// session resumes within this long once a broker outage ends.
pub const MAX_RTO: Duration = Duration::from_secs(5);
/// Timeout before any round trip has been measured (RFC 6298 says 1 s).
pub const INITIAL_RTO: Duration = Duration::from_millis(500);
/// Clock granularity term `G` of RFC 6298.
const GRANULARITY: Duration = Duration::from_millis(1);

/// Smoothed RTT, its variation and the current backoff.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    backoff: u32,
}

impl Default for RttEstimator {
    fn default() -> Self {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            backoff: 0,
        }
    }
}

impl RttEstimator {
    /// Feeds one sample (only from frames sent once, per Karn's rule).
    pub fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(rtt);
                self.rttvar = (self.rttvar * 3 + diff) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
    }

    /// The smoothed RTT, if measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The retransmission timeout including backoff.
    pub fn rto(&self) -> Duration {
        let base = match self.srtt {
            None => INITIAL_RTO,
            Some(srtt) => srtt + (self.rttvar * 4).max(GRANULARITY),
        };
        let backed_off = base.saturating_mul(1u32 << self.backoff.min(16));
        backed_off.clamp(MIN_RTO, MAX_RTO)
    }

    /// Doubles the timeout after it expired.
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(16);
    }

    /// Forgets the backoff once acknowledgements flow again.
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }
}
