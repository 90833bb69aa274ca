//! Which node of `--mqtt-host`'s list to try next. Sans-IO: the broker
//! connection's task reports failures and connects, and asks which node
//! comes next and whether a connect is a switch worth its own line.
//!
//! The first node that answers is kept for as long as it stays up (a
//! cluster's nodes are equivalent, and going back to the first one when it
//! returns would cut a working connection for nothing). After any failure,
//! of an attempt or of an established connection, the next node in the
//! list is tried, wrapping around, with the usual backoff between
//! attempts (`reconnect.rs`), so a lost node is replaced after the first
//! reconnect delay and a list of dead nodes is not hammered.

/// The rotation over a list of `count` nodes.
#[derive(Debug)]
pub struct Failover {
    count: usize,
    current: usize,
    /// The node of the last connection that came up.
    last_up: Option<usize>,
}

impl Failover {
    /// A rotation starting at the first of `count` (≥ 1) nodes.
    pub fn new(count: usize) -> Failover {
        Failover {
            count: count.max(1),
            current: 0,
            last_up: None,
        }
    }

    /// The node to try now.
    pub fn current(&self) -> usize {
        self.current
    }

    /// The node tried after a failure of the current one.
    pub fn after_failure(&self) -> usize {
        (self.current + 1) % self.count
    }

    /// The current node failed (an attempt or a connection): the next one
    /// is tried.
    pub fn failed(&mut self) {
        self.current = self.after_failure();
    }

    /// A connection to the current node came up: the node it replaces, if
    /// it is a switch (an earlier connection was through another node).
    pub fn connected(&mut self) -> Option<usize> {
        let before = self.last_up.replace(self.current);
        before.filter(|b| *b != self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_node_never_switches() {
        let mut f = Failover::new(1);
        assert_eq!(f.connected(), None);
        f.failed();
        assert_eq!(f.current(), 0);
        assert_eq!(f.connected(), None);
    }

    #[test]
    fn a_lost_node_is_followed_by_the_next_one_and_the_switch_is_named() {
        let mut f = Failover::new(3);
        assert_eq!(f.connected(), None, "the first connect is no switch");
        f.failed();
        assert_eq!(f.current(), 1);
        assert_eq!(f.connected(), Some(0));
        // It stays on the node that answers.
        assert_eq!(f.connected(), None);
        assert_eq!(f.current(), 1);
    }

    #[test]
    fn dead_nodes_are_tried_in_turn_wrapping_around() {
        let mut f = Failover::new(3);
        let mut tried = Vec::new();
        for _ in 0..7 {
            tried.push(f.current());
            f.failed();
        }
        assert_eq!(tried, [0, 1, 2, 0, 1, 2, 0]);
        // Up at last through node 1 (of a round that started on 0).
        assert_eq!(f.current(), 1);
        assert_eq!(f.connected(), None, "nothing was up before: no switch");
    }

    #[test]
    fn coming_back_to_the_node_of_the_last_connection_is_no_switch() {
        let mut f = Failover::new(2);
        f.connected();
        f.failed(); // node 0 lost
        f.failed(); // node 1 did not answer
        assert_eq!(f.current(), 0);
        assert_eq!(f.connected(), None);
    }
}
