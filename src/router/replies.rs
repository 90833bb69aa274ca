//! Where the server side answers a client process: on one topic for all
//! the process's sessions (`P/S/X/rx/I`, a server side of this program that
//! read the process's number on the opening frames), or on each session's
//! own (`P/S/X/rx`: the C original, an earlier version). The client always
//! subscribes the first; it subscribes a session's own topic too until a
//! session was answered on the first, so that the number of subscriptions
//! stays constant toward a server side of this program (cloud brokers allow
//! 10 or 50 per connection) and nothing changes toward any other.

use std::cell::Cell;

/// What the client process knows of its server side's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Nothing yet (or the last session was never answered).
    Unknown,
    /// A session was answered on the process's topic.
    Instance,
    /// A session was answered on its own topic.
    PerSession,
}

/// The layout a client process learnt, shared by its sessions.
#[derive(Debug)]
pub struct Replies {
    layout: Cell<Layout>,
}

impl Default for Replies {
    fn default() -> Replies {
        Replies {
            layout: Cell::new(Layout::Unknown),
        }
    }
}

impl Replies {
    /// What is known now.
    pub fn layout(&self) -> Layout {
        self.layout.get()
    }

    /// Whether a new session subscribes its own reply topic.
    pub fn session_topic_needed(&self) -> bool {
        self.layout.get() != Layout::Instance
    }

    /// A session's first authentic answer arrived, on the process's topic
    /// (`on_instance_topic`) or on its own.
    pub fn answered(&self, on_instance_topic: bool) {
        let new = if on_instance_topic {
            Layout::Instance
        } else {
            Layout::PerSession
        };
        if new != self.layout.replace(new) {
            log::debug!("the server side answers on {new:?} topics");
        }
    }

    /// A session ended without any answer: if it relied on the process's
    /// topic, the server side may have been replaced by one that does not
    /// answer there; the next sessions subscribe their own topic again.
    pub fn unanswered(&self) {
        if self.layout.get() == Layout::Instance {
            self.layout.set(Layout::Unknown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_subscribe_their_own_topic_until_one_is_answered_on_the_process_topic() {
        let r = Replies::default();
        assert!(r.session_topic_needed());
        r.answered(false);
        assert_eq!(r.layout(), Layout::PerSession);
        assert!(r.session_topic_needed());
        r.answered(true);
        assert!(!r.session_topic_needed());
        // An unanswered session toward a server side that stopped answering
        // on the process topic brings the per-session topics back.
        r.unanswered();
        assert_eq!(r.layout(), Layout::Unknown);
        assert!(r.session_topic_needed());
        // Unanswered sessions toward a per-session server side change nothing.
        r.answered(false);
        r.unanswered();
        assert_eq!(r.layout(), Layout::PerSession);
    }
}
