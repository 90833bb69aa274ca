//! The base delays of the paths a process's sessions run on, shared by the
//! sessions of each path (see `congestion`): on a client side, the one path
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
    used: Instant,
}

/// The table of paths.
#[derive(Debug, Default)]
pub struct PathBases {
    entries: Vec<Entry>,
    /// A path was forgotten to make room (said once by the caller).
    evicted: bool,
}

impl PathBases {
    /// Takes a session's recent round trip on path `key`, and returns the
    /// path's base delay.
    pub fn record(&mut self, key: u32, rtt: Option<Duration>, now: Instant) -> Option<Duration> {
        let i = match self.entries.iter().position(|e| e.key == key) {
            Some(i) => i,
            None => self.insert(key, now),
        };
        let entry = &mut self.entries[i];
        entry.used = now;
        if let Some(rtt) = rtt {
            entry.base.record(rtt, now);
        }
        entry.base.min()
    }

    fn insert(&mut self, key: u32, now: Instant) -> usize {
        let entry = Entry {
            key,
            base: BaseHistory::default(),
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

    /// True once, after the table was first full and a path forgotten.
    pub fn take_evicted(&mut self) -> bool {
        std::mem::take(&mut self.evicted)
    }
}
