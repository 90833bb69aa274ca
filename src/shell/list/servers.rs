//! The server sides `-l` has heard, within a bound, and how many beyond it
//! it could not show.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use super::pattern::Pattern;
use crate::protocol::frame::{decode, flags};
use crate::protocol::labels::BEACON_LABEL as BEACON;
use crate::protocol::limits::{HEADER_LEN, MAX_TOPIC_LEVEL_LEN};
use crate::secure::psk::Psk;
use crate::secure::signed::{self, Signed};

/// Most server sides held and listed at once. A few thousand is far more
/// than one broker's prefix carries in practice (the C original's table
/// held 30), and small enough to bound memory whatever the broker delivers:
/// ids are at most [`MAX_TOPIC_LEVEL_LEN`] bytes, so the list and the
/// announcements held beside it stay under 2 MiB. Beyond it the table says
/// how many were not shown, and a pattern (`-l 'site-*'`) narrows the list.
pub const MAX_SERVERS: usize = 4096;
/// Server sides beyond [`MAX_SERVERS`] counted (8 bytes and a time each,
/// about 1.5 MiB at most); past it the count is a lower bound.
pub const MAX_COUNTED: usize = 65_536;
/// A server whose beacon is this late (three periods) is shown as gone.
pub const GONE_AFTER: Duration = Duration::from_secs(3 * 3);
/// ... and is dropped from the list this late.
const DROP_AFTER: Duration = Duration::from_secs(60);

/// A server side seen beaconing.
#[derive(Debug)]
pub struct Seen {
    /// Its server-side-id, as the topic has it (escape it to print it).
    pub id: String,
    /// Its beacon carries a key's tag, and this listener has no key.
    pub needs_key: bool,
    /// It announces itself as this program (`P/S/instance`).
    pub announced: bool,
    /// When its last beacon arrived.
    pub last: Instant,
}

/// Server ids in the order first seen, with when each was last seen, and
/// which of them announce themselves as this program.
#[derive(Debug)]
pub struct ServerList {
    /// Only ids that match are listed (`-l PATTERN`).
    pattern: Option<Pattern>,
    servers: Vec<Seen>,
    /// The position of each id in `servers`.
    index: HashMap<String, usize>,
    /// Ids announced as this program before their first beacon.
    announced: HashSet<String>,
    /// The server sides beyond the bound: a hash of the id (keyed at
    /// random per process), and when its last beacon arrived.
    unshown: HashMap<u64, Instant>,
    hasher: RandomState,
}

impl ServerList {
    /// An empty list of the ids that match `pattern` (all without one).
    pub fn new(pattern: Option<Pattern>) -> ServerList {
        ServerList {
            pattern,
            servers: Vec::new(),
            index: HashMap::new(),
            announced: HashSet::new(),
            unshown: HashMap::new(),
            hasher: RandomState::new(),
        }
    }

    /// The server sides listed, in the order first seen.
    pub fn servers(&self) -> &[Seen] {
        &self.servers
    }

    /// How many server sides were heard but not listed (beyond
    /// [`MAX_SERVERS`]), and whether that count is only a lower bound.
    pub fn not_shown(&self) -> (usize, bool) {
        (self.unshown.len(), self.unshown.len() >= MAX_COUNTED)
    }

    /// Whether `id` is one to list: it matches, and it can be a server
    /// side's (no server side takes a longer id).
    fn wanted(&self, id: &str) -> bool {
        id.len() <= MAX_TOPIC_LEVEL_LEN && self.pattern.as_ref().is_none_or(|p| p.matches(id))
    }

    /// Records a beacon from `id` at `now`.
    pub fn saw(&mut self, id: &str, needs_key: bool, now: Instant) {
        if !self.wanted(id) {
            return;
        }
        if let Some(&at) = self.index.get(id) {
            if let Some(entry) = self.servers.get_mut(at) {
                entry.last = now;
                entry.needs_key = needs_key;
            }
        } else if self.servers.len() < MAX_SERVERS {
            self.index.insert(id.to_owned(), self.servers.len());
            self.unshown.remove(&self.hasher.hash_one(id));
            self.servers.push(Seen {
                id: id.to_owned(),
                needs_key,
                announced: self.announced.remove(id),
                last: now,
            });
        } else {
            let hash = self.hasher.hash_one(id);
            if self.unshown.len() < MAX_COUNTED || self.unshown.contains_key(&hash) {
                self.unshown.insert(hash, now);
            }
        }
    }

    /// Records a beacon payload from `id`: with a key, only beacons tagged
    /// with it count; without one, a tagged beacon is listed with a mark.
    pub fn saw_beacon(
        &mut self,
        prefix: &str,
        id: &str,
        payload: &[u8],
        psk: Option<&Psk>,
        now: Instant,
    ) {
        // Each server side's beacons are tagged with its own key.
        let scoped = psk.map(|p| p.scoped(prefix, id));
        let signed = signed::classify(scoped.as_ref(), id, BEACON, HEADER_LEN, payload);
        let (body, needs_key) = match (signed, psk) {
            (Signed::Ours(body), Some(_)) | (Signed::Plain(body), None) => (body, false),
            (Signed::Foreign(body), None) => (body, true),
            _ => return,
        };
        if decode(body).is_ok_and(|f| f.header.has(flags::BEACON)) {
            self.saw(id, needs_key, now);
        }
    }

    /// Records that `id` announces itself as this program.
    pub fn announced(&mut self, id: &str) {
        if !self.wanted(id) {
            return;
        }
        match self.index.get(id).and_then(|&at| self.servers.get_mut(at)) {
            Some(entry) => entry.announced = true,
            None if self.announced.len() < MAX_SERVERS => {
                self.announced.insert(id.to_owned());
            }
            None => {}
        }
    }

    /// Forgets the servers silent for [`DROP_AFTER`], listed or not.
    pub fn expire(&mut self, now: Instant) {
        let fresh = |last: Instant| now.saturating_duration_since(last) < DROP_AFTER;
        self.unshown.retain(|_, last| fresh(*last));
        let before = self.servers.len();
        self.servers.retain(|s| fresh(s.last));
        if self.servers.len() != before {
            self.index = self
                .servers
                .iter()
                .enumerate()
                .map(|(at, s)| (s.id.clone(), at))
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &ServerList) -> Vec<&str> {
        list.servers().iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn a_key_lists_only_servers_that_hold_it_and_no_key_marks_keyed_ones() {
        let t = Instant::now();
        let psk = Psk::parse(&"ab".repeat(32)).unwrap();
        let other = Psk::parse(&"cd".repeat(32)).unwrap();
        let plain = crate::protocol::frame::beacon();
        let ours = signed::sign(&psk.scoped("ssh", "ours"), "ours", BEACON, plain.clone());
        let theirs = signed::sign(
            &other.scoped("ssh", "theirs"),
            "theirs",
            BEACON,
            plain.clone(),
        );
        let forged = signed::sign(&other.scoped("ssh", "ours"), "ours", BEACON, plain.clone());
        let mut keyed = ServerList::new(None);
        for (id, payload) in [
            ("ours", &ours),
            ("theirs", &theirs),
            ("open", &plain),
            ("ours", &forged),
        ] {
            keyed.saw_beacon("ssh", id, payload, Some(&psk), t);
        }
        assert_eq!(ids(&keyed), ["ours"]);
        let mut keyless = ServerList::new(None);
        for (id, payload) in [("ours", &ours), ("open", &plain)] {
            keyless.saw_beacon("ssh", id, payload, None, t);
        }
        assert_eq!(ids(&keyless), ["ours", "open"]);
        let marks: Vec<bool> = keyless.servers().iter().map(|s| s.needs_key).collect();
        assert_eq!(marks, [true, false]);
    }

    #[test]
    fn beyond_the_bound_servers_are_counted_once_each_and_not_listed() {
        let t = Instant::now();
        let mut list = ServerList::new(None);
        for round in 0..2 {
            for n in 0..MAX_SERVERS + 44 {
                list.saw(
                    &format!("server-{n}"),
                    false,
                    t + Duration::from_secs(round),
                );
            }
        }
        assert_eq!(list.servers().len(), MAX_SERVERS);
        assert_eq!(list.not_shown(), (44, false));
        // Once listed ones are gone, the others take their place.
        list.expire(t + Duration::from_secs(100));
        list.saw("server-4100", false, t + Duration::from_secs(100));
        assert_eq!(ids(&list), ["server-4100"]);
        assert_eq!(list.not_shown(), (0, false));
    }

    #[test]
    fn a_pattern_keeps_only_matching_ids_and_overlong_ids_are_never_held() {
        let t = Instant::now();
        let mut list = ServerList::new(Some(Pattern::new("site-*")));
        for id in ["site-1", "office", "site-2", "my-site-3"] {
            list.saw(id, false, t);
        }
        list.saw(
            &format!("site-{}", "x".repeat(MAX_TOPIC_LEVEL_LEN)),
            false,
            t,
        );
        assert_eq!(ids(&list), ["site-1", "site-2"]);
        assert_eq!(list.not_shown(), (0, false));
    }

    #[test]
    fn the_help_names_the_bound() {
        let (_, row) = crate::cli::options::LIST_SERVERS.help[0];
        assert!(row.contains(&format!("at most {MAX_SERVERS}")), "{row}");
    }

    #[test]
    fn an_announcement_before_or_after_the_first_beacon_counts() {
        let t = Instant::now();
        let mut list = ServerList::new(None);
        list.announced("early");
        list.saw("early", false, t);
        list.saw("late", false, t);
        list.saw("c-box", false, t);
        list.announced("late");
        let flags: Vec<bool> = list.servers().iter().map(|s| s.announced).collect();
        assert_eq!(flags, [true, true, false]);
    }
}
