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
/// How long the largest window a path's sessions had is remembered: a
/// session that starts on a path with no other session within it starts
/// at half of it instead of slow-starting (a 300 ms path takes seconds to
/// grow a window of megabytes; TCP's cached ssthresh is the model).
const RECENT_WINDOW: Duration = Duration::from_secs(60);

/// One path's shared measurements.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u32,
    base: BaseHistory,
    /// The sum of the windows the path's sessions reported.
    windows: usize,
    used: Instant,
    /// The largest window a session of the path reported or left with,
    /// and when (see [`RECENT_WINDOW`]).
    recent: (usize, Instant),
}

/// What the sessions of a path measured together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathView {
    /// The lowest round trip seen on the path over the base history.
    pub base: Option<Duration>,
    /// The windows of all its sessions, in bytes.
    pub windows: usize,
    /// Where a session that has sent nothing yet may start its window, in
    /// bytes: half what the path carried lately, if no other session runs
    /// on it (0: nothing known).
    pub start: usize,
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
        let others = entry.windows.saturating_sub(report.window);
        let recent = entry.recent_window(now);
        entry.recent = (recent.max(report.window), now);
        PathView {
            base: entry.base.min(),
            windows: entry.windows,
            start: if others == 0 { recent / 2 } else { 0 },
        }
    }

    /// A session of path `key` that last reported a window of `before`
    /// bytes has ended.
    pub fn leave(&mut self, key: u32, before: usize, now: Instant) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.key == key) {
            entry.windows = entry.windows.saturating_sub(before);
            entry.recent = (entry.recent_window(now).max(before), now);
        }
    }

    fn insert(&mut self, key: u32, now: Instant) -> usize {
        let entry = Entry {
            key,
            base: BaseHistory::default(),
            windows: 0,
            used: now,
            recent: (0, now),
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

impl Entry {
    /// The largest window of the path within [`RECENT_WINDOW`].
    fn recent_window(&self, now: Instant) -> usize {
        let (window, at) = self.recent;
        if now.saturating_duration_since(at) <= RECENT_WINDOW {
            window
        } else {
            0
        }
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
