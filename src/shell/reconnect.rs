//! When to reconnect to the broker, and what to say about it. Sans-IO: the
//! broker thread reports connects and failures with the time, and gets back
//! how long to wait and which line (if any) to log.
//!
//! The backoff starts again from the minimum only after a connection has
//! stayed up for [`STABLE_AFTER`]: a connection that the broker drops right
//! after accepting it (a client-id take-over, a packet limit, an ACL) is
//! retried with a growing delay, not every 100 ms for ever. Repeated
//! failures with the same cause log one line per [`REPORT_PERIOD`].

use std::time::{Duration, Instant};

/// First delay before reconnecting; doubled per failure up to the maximum.
pub const RECONNECT_MIN: Duration = Duration::from_millis(100);
/// Longest delay between reconnection attempts.
pub const RECONNECT_MAX: Duration = Duration::from_secs(10);
/// A connection that lasted this long was healthy: the next failure starts
/// the backoff again from the minimum, and is reported at once.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);
/// While failures repeat, at most one line this often.
pub const REPORT_PERIOD: Duration = Duration::from_secs(60);

/// What the broker thread should do after a failure.
#[derive(Debug, PartialEq, Eq)]
pub struct Retry {
    /// Wait this long before the next attempt.
    pub delay: Duration,
    /// Log this warning, if any.
    pub line: Option<String>,
}

#[derive(Debug)]
pub struct Reconnect {
    backoff: Duration,
    connected_at: Option<Instant>,
    /// Failures since the last healthy connection (or the start).
    failures: u32,
    /// Failures not reported since the last line.
    unreported: u32,
    last_line: Option<Instant>,
    last_cause: String,
    /// The last failure was logged: the connect that follows is too.
    last_failure_logged: bool,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            backoff: RECONNECT_MIN,
            connected_at: None,
            failures: 0,
            unreported: 0,
            last_line: None,
            last_cause: String::new(),
            last_failure_logged: false,
        }
    }
}

impl Reconnect {
    /// The connection is up (CONNACK). True if this is worth an info line:
    /// the first connect, or the one after a failure that was logged (so
    /// that a storm logs no more connects than failures).
    pub fn connected(&mut self, now: Instant) -> bool {
        self.connected_at = Some(now);
        self.failures == 0 || std::mem::take(&mut self.last_failure_logged)
    }

    /// The connection to `endpoint` failed because of `cause`: an
    /// established one was lost (after [`Self::connected`]), or an attempt
    /// failed. `next`: the other broker node tried next, if the list names
    /// several.
    pub fn failed(
        &mut self,
        now: Instant,
        cause: &str,
        endpoint: &str,
        next: Option<&str>,
    ) -> Retry {
        let lasted = self
            .connected_at
            .take()
            .map(|t| now.saturating_duration_since(t));
        if lasted.is_some_and(|d| d >= STABLE_AFTER) {
            // A healthy connection was lost: a fresh start.
            self.backoff = RECONNECT_MIN;
            self.failures = 0;
            self.unreported = 0;
            self.last_line = None;
        }
        self.failures += 1;
        let delay = self.backoff;
        self.backoff = (self.backoff * 2).min(RECONNECT_MAX);

        let what = match lasted {
            Some(d) if d >= STABLE_AFTER => format!("broker connection {endpoint} lost: {cause}"),
            Some(d) => format!(
                "broker connection {endpoint} lost {} ms after it was made: {cause}",
                d.as_millis()
            ),
            None => format!("cannot connect to broker {endpoint}: {cause}"),
        };
        let new_cause = cause != self.last_cause;
        self.last_cause = cause.to_owned();
        let due = self
            .last_line
            .is_none_or(|t| now.saturating_duration_since(t) >= REPORT_PERIOD);
        self.last_failure_logged = due || new_cause;
        if !self.last_failure_logged {
            self.unreported += 1;
            return Retry { delay, line: None };
        }
        let mut line = what;
        if self.unreported > 0 {
            line.push_str(&format!(
                " ({} more failures since the last report)",
                self.unreported
            ));
        }
        match next {
            Some(node) => {
                line.push_str(&format!("; trying {node} in {}", super::words::Span(delay)))
            }
            None => line.push_str(&format!("; retrying in {}", super::words::Span(delay))),
        }
        self.unreported = 0;
        self.last_line = Some(now);
        Retry {
            delay,
            line: Some(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EP: &str = "mqtt://broker:1883";

    #[test]
    fn a_connection_dropped_at_once_is_retried_with_growing_delays() {
        let mut r = Reconnect::default();
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..12 {
            r.connected(now);
            now += Duration::from_millis(5);
            let retry = r.failed(now, "closed by peer", EP, None);
            delays.push(retry.delay);
            now += retry.delay;
        }
        assert_eq!(delays[0], RECONNECT_MIN);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]), "{delays:?}");
        assert_eq!(*delays.last().unwrap(), RECONNECT_MAX);
    }

    #[test]
    fn a_connection_that_stayed_up_starts_the_backoff_again() {
        let mut r = Reconnect::default();
        let mut now = Instant::now();
        for _ in 0..6 {
            let retry = r.failed(now, "refused", EP, None);
            now += retry.delay;
        }
        r.connected(now);
        now += STABLE_AFTER;
        let retry = r.failed(now, "closed by peer", EP, None);
        assert_eq!(retry.delay, RECONNECT_MIN);
        assert!(retry.line.unwrap().contains("lost: closed by peer"));
    }

    #[test]
    fn a_storm_logs_one_line_per_period_with_the_cause_and_a_count() {
        let mut r = Reconnect::default();
        let t0 = Instant::now();
        let mut now = t0;
        let mut lines = Vec::new();
        // 5 minutes of a connection dropped 1 ms after every CONNACK.
        while now < t0 + Duration::from_secs(300) {
            if r.connected(now) {
                lines.push("connected".to_owned());
            }
            now += Duration::from_millis(1);
            let retry = r.failed(now, "connection closed by peer", EP, None);
            lines.extend(retry.line);
            now += retry.delay;
        }
        let warnings = lines
            .iter()
            .filter(|l| l.contains("closed by peer"))
            .count();
        assert!((5..=7).contains(&warnings), "{warnings} lines: {lines:#?}");
        let connects = lines.iter().filter(|l| *l == "connected").count();
        assert_eq!(connects, warnings + 1, "{lines:#?}");
        assert!(lines
            .iter()
            .any(|l| l.contains("more failures since the last report")));
        assert!(
            lines[1].contains("lost 1 ms after it was made"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn with_several_nodes_the_line_names_the_one_tried_next() {
        let mut r = Reconnect::default();
        let line = r
            .failed(Instant::now(), "refused", EP, Some("mqtt://node-b:1883"))
            .line
            .unwrap();
        assert!(
            line.ends_with("; trying mqtt://node-b:1883 in 100 ms"),
            "{line}"
        );
    }

    #[test]
    fn a_new_cause_is_reported_at_once() {
        let mut r = Reconnect::default();
        let now = Instant::now();
        assert!(r.failed(now, "refused", EP, None).line.is_some());
        assert!(r.failed(now, "refused", EP, None).line.is_none());
        let line = r.failed(now, "not authorized", EP, None).line.unwrap();
        assert!(
            line.contains("not authorized") && line.contains("1 more failures"),
            "{line}"
        );
    }
}
