//! A session's inbox: what the router hands a session task, bounded in
//! messages and in bytes. The queue is unbounded underneath, so that it
//! allocates only for what it holds (a bounded channel would preallocate
//! all its slots for every session, idle or lingering); the bounds are kept
//! here instead. The router is the only sender and everything runs on one
//! thread, so the checks cannot race.

use std::cell::Cell;
use std::rc::Rc;

use crate::router::Counters;

use rumqttc::Publish;

use crate::protocol::instance::{Announcement, CHALLENGE_LEN};

/// What the router hands a session task.
#[derive(Debug)]
pub enum ToSession {
    /// A message published on the session's topic.
    Frame(Publish),
    /// The broker connection is back: resend what may have been lost.
    LinkRestored,
    /// The program stops: abort, publish the abort, confirm on the channel.
    Stop(smol::channel::Sender<()>),
    /// A server process newer than any before announced itself with the
    /// key (see `Channel::announced`).
    ServerAnnounced(Announcement, Option<[u8; CHALLENGE_LEN]>),
}

impl ToSession {
    /// Payload bytes the message holds.
    fn bytes(&self) -> usize {
        match self {
            ToSession::Frame(p) => p.payload.len(),
            _ => 0,
        }
    }
}

/// How many bytes an inbox may hold: at most `max_bytes`, and at most an
/// equal share of the buffer budget among the sessions open (the same share
/// bounds the session's receive window, see [`crate::router::Slot::share`];
/// the inbox only carries frames to the session task, which moves them
/// there in batches, so the two are full together only for a moment).
#[derive(Debug, Clone)]
pub struct ByteBound {
    /// The most, however few sessions are open.
    pub max_bytes: usize,
    /// The budget and the sessions sharing it.
    pub counters: Rc<Counters>,
}

impl ByteBound {
    fn now(&self) -> usize {
        self.max_bytes.min(self.counters.share())
    }
}

/// The router's end of a session's inbox.
#[derive(Debug, Clone)]
pub struct InboxSender {
    tx: smol::channel::Sender<ToSession>,
    capacity: usize,
    bound: ByteBound,
    bytes: Rc<Cell<usize>>,
}

impl InboxSender {
    /// Queues `msg` unless the inbox is full (messages or bytes) or closed;
    /// never waits (a full inbox drops the frame like a lossy link would).
    pub fn try_send(&self, msg: ToSession) -> bool {
        let len = msg.bytes();
        if self.tx.len() >= self.capacity || self.bytes.get() + len > self.bound.now() {
            return false;
        }
        let sent = self.tx.try_send(msg).is_ok();
        if sent {
            self.bytes.set(self.bytes.get() + len);
        }
        sent
    }

    /// Tells the session to abort because the program stops; it confirms on
    /// `flushed` once its abort frame is queued for the broker. Beyond the
    /// bounds: one message per session, sent once.
    pub fn stop(&self, flushed: smol::channel::Sender<()>) -> bool {
        self.tx.try_send(ToSession::Stop(flushed)).is_ok()
    }

    /// Tells the session that server process `a` announced itself (one
    /// message per newer process, beyond the bounds).
    pub fn announced(&self, a: Announcement, challenge: Option<[u8; CHALLENGE_LEN]>) -> bool {
        self.tx
            .try_send(ToSession::ServerAnnounced(a, challenge))
            .is_ok()
    }
}

/// The session task's end of its inbox.
#[derive(Debug)]
pub struct Inbox {
    rx: smol::channel::Receiver<ToSession>,
    bytes: Rc<Cell<usize>>,
}

impl Inbox {
    fn took(&self, msg: ToSession) -> ToSession {
        self.bytes.set(self.bytes.get().saturating_sub(msg.bytes()));
        msg
    }

    /// The next message; `None` once the router has gone.
    pub async fn recv(&self) -> Option<ToSession> {
        self.rx.recv().await.ok().map(|m| self.took(m))
    }

    /// The next message if one is queued.
    pub fn try_recv(&self) -> Option<ToSession> {
        self.rx.try_recv().ok().map(|m| self.took(m))
    }
}

/// A session inbox holding at most `capacity` messages and `bound` bytes
/// of payload.
pub fn inbox(capacity: usize, bound: ByteBound) -> (InboxSender, Inbox) {
    let (tx, rx) = smol::channel::unbounded();
    let bytes = Rc::new(Cell::new(0));
    (
        InboxSender {
            tx,
            capacity,
            bound,
            bytes: bytes.clone(),
        },
        Inbox { rx, bytes },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Slot;
    use rumqttc::QoS;

    fn frame(len: usize) -> ToSession {
        ToSession::Frame(Publish::new("t", QoS::AtMostOnce, vec![0u8; len]))
    }

    fn bound(max_bytes: usize) -> ByteBound {
        ByteBound {
            max_bytes,
            counters: Counters::new(1, usize::MAX),
        }
    }

    #[test]
    fn an_inbox_holds_at_most_its_bytes_and_gives_them_back_as_read() {
        let (tx, rx) = inbox(100, bound(10_000));
        assert!(tx.try_send(frame(6_000)));
        assert!(!tx.try_send(frame(6_000)), "over the byte bound");
        assert!(tx.try_send(frame(4_000)));
        assert!(rx.try_recv().is_some());
        assert!(tx.try_send(frame(6_000)), "room again once read");
        assert!(tx.try_send(ToSession::LinkRestored));
    }

    #[test]
    fn an_inbox_holds_at_most_its_messages() {
        let (tx, _rx) = inbox(2, bound(usize::MAX));
        assert!(tx.try_send(frame(1)));
        assert!(tx.try_send(frame(1)));
        assert!(!tx.try_send(frame(1)));
    }

    #[test]
    fn an_inbox_holds_at_most_its_share_of_the_budget() {
        let counters = Counters::new(1, 8_000);
        let mut slots: Vec<_> = (0..4).map(|_| Slot::take(&counters)).collect();
        let b = ByteBound {
            max_bytes: usize::MAX,
            counters,
        };
        let (tx, _rx) = inbox(100, b);
        assert!(tx.try_send(frame(2_000)));
        assert!(!tx.try_send(frame(1)), "4 sessions: 2,000 bytes each");
        slots.truncate(2);
        assert!(tx.try_send(frame(2_000)));
    }
}
