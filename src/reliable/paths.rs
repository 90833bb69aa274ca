//! What a process's sessions measure of the paths they run on, shared by
//! the sessions of each path: the base delay (see `congestion`) and the
//! bytes all of them may have in flight (frames are sized so that the
//! broker's in-flight limit of publishes toward the peer does not bind).
//! On a client side there is one path
//! to its server side; on a server side, one per client process (named by
//! the random number its sessions' opening frames carry,
//! [`crate::protocol::flags::INSTANCE`]). A bounded table: a peer that
//! names new processes without end only pushes out the least recently
//! used.

use std::time::{Duration, Instant};

use super::congestion::BaseHistory;

/// Paths remembered at once.
pub const MAX_PATHS: usize = 64;

/// One path's shared measurements.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u32,
    base: BaseHistory,
    /// The sum of the windows the path's sessions reported.
    windows: usize,
    used: Instant,
}

/// What the sessions of a path measured together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathView {
    /// The lowest round trip seen on the path over the base history.
    pub base: Option<Duration>,
    /// The windows of all its sessions, in bytes.
    pub windows: usize,
}

/// The table of paths.
#[derive(Debug, Default)]
pub struct PathBases {
    entries: Vec<Entry>,
    /// A path was forgotten to make room (said once by the caller).
    evicted: bool,
}

impl PathBases {
    /// Takes a session's recent round trip on path `key` and the change of
    /// its window since it last reported (`window` is what it reports now,
    /// `before` what it reported last), and returns what the path's
    /// sessions measured together.
    pub fn record(&mut self, key: u32, report: Report, now: Instant) -> PathView {
        let i = match self.entries.iter().position(|e| e.key == key) {
            Some(i) => i,
            None => self.insert(key, now),
        };
        let entry = &mut self.entries[i];
        entry.used = now;
        if let Some(rtt) = report.rtt {
            entry.base.record(rtt, now);
        }
        entry.windows = (entry.windows + report.window).saturating_sub(report.before);
        PathView {
            base: entry.base.min(),
            windows: entry.windows,
        }
    }

    /// A session of path `key` that last reported a window of `before`
    /// bytes has ended.
    pub fn leave(&mut self, key: u32, before: usize) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.key == key) {
            entry.windows = entry.windows.saturating_sub(before);
        }
    }

    fn insert(&mut self, key: u32, now: Instant) -> usize {
        let entry = Entry {
            key,
            base: BaseHistory::default(),
            windows: 0,
            used: now,
        };
        if self.entries.len() < MAX_PATHS {
            self.entries.push(entry);
            return self.entries.len() - 1;
        }
        self.evicted = true;
        let oldest = (0..self.entries.len())
            .min_by_key(|&i| self.entries[i].used)
            .unwrap_or(0);
        self.entries[oldest] = entry;
        oldest
    }

    /// True after a path was forgotten to make room, once per time.
    pub fn take_evicted(&mut self) -> bool {
        std::mem::take(&mut self.evicted)
    }
}

/// What one session reports of its path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Report {
    /// Its recent round trip, if measured.
    pub rtt: Option<Duration>,
    /// Its window now, in bytes.
    pub window: usize,
    /// The window it reported last (0 the first time).
    pub before: usize,
}
