//! An in-memory MQTT broker for the router tests: topic filters with `+`
//! and `#`, retained messages delivered at subscribe with the retain flag,
//! per-client delivery queues in publish order, and a client id that can be
//! taken over (the next connect with it drops the previous connection's
//! subscriptions, as a real broker does).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use crate::router::{Link, LinkError, Outgoing};

/// A message delivered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

#[derive(Debug, Default)]
struct State {
    /// Each client's filters.
    subscriptions: HashMap<usize, Vec<String>>,
    retained: HashMap<String, Vec<u8>>,
    queues: HashMap<usize, VecDeque<Delivered>>,
    /// Publishes each client may still queue (`None`: no bound).
    room: HashMap<usize, usize>,
    published: Vec<(usize, Delivered)>,
}

/// The broker.
#[derive(Debug, Default)]
pub struct MemBroker {
    state: RefCell<State>,
}

/// True if `filter` matches `topic` (MQTT 3.1.1 §4.7).
pub fn matches(filter: &str, topic: &str) -> bool {
    let mut t = topic.split('/');
    for f in filter.split('/') {
        match (f, t.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (f, Some(level)) if f == level => {}
            _ => return false,
        }
    }
    t.next().is_none()
}

impl MemBroker {
    /// A (re)connect of client `client`: a clean session.
    pub fn connect(&self, client: usize) {
        let mut s = self.state.borrow_mut();
        s.subscriptions.insert(client, Vec::new());
        s.queues.insert(client, VecDeque::new());
    }

    /// Subscribes `client` to `filter`; matching retained messages are
    /// delivered at once, flagged.
    pub fn subscribe(&self, client: usize, filter: &str) {
        let mut s = self.state.borrow_mut();
        s.subscriptions
            .entry(client)
            .or_default()
            .push(filter.to_owned());
        let mut retained: Vec<Delivered> = s
            .retained
            .iter()
            .filter(|(topic, _)| matches(filter, topic))
            .map(|(topic, payload)| Delivered {
                topic: topic.clone(),
                payload: payload.clone(),
                retain: true,
            })
            .collect();
        retained.sort_by(|a, b| a.topic.cmp(&b.topic));
        s.queues.entry(client).or_default().extend(retained);
    }

    /// Undoes a subscription.
    pub fn unsubscribe(&self, client: usize, filter: &str) {
        let mut s = self.state.borrow_mut();
        if let Some(subs) = s.subscriptions.get_mut(&client) {
            subs.retain(|f| f != filter);
        }
    }

    /// Publishes from `from` (any id: a third publisher too).
    pub fn publish(&self, from: usize, topic: &str, payload: &[u8], retain: bool) {
        let mut s = self.state.borrow_mut();
        let message = Delivered {
            topic: topic.to_owned(),
            payload: payload.to_vec(),
            retain: false,
        };
        s.published.push((from, message.clone()));
        if retain {
            s.retained.insert(topic.to_owned(), payload.to_vec());
        }
        let receivers: Vec<usize> = s
            .subscriptions
            .iter()
            .filter(|(_, filters)| filters.iter().any(|f| matches(f, topic)))
            .map(|(client, _)| *client)
            .collect();
        for client in receivers {
            s.queues
                .entry(client)
                .or_default()
                .push_back(message.clone());
        }
    }

    /// The next message for `client`.
    pub fn take(&self, client: usize) -> Option<Delivered> {
        self.state.borrow_mut().queues.get_mut(&client)?.pop_front()
    }

    /// Lets `client` queue only `n` more publishes through [`Link`].
    pub fn limit(&self, client: usize, n: usize) {
        self.state.borrow_mut().room.insert(client, n);
    }

    /// Everything published on topics matching `filter`, in order.
    pub fn published(&self, filter: &str) -> Vec<Delivered> {
        let s = self.state.borrow();
        s.published
            .iter()
            .filter(|(_, m)| matches(filter, &m.topic))
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// The retained message on `topic`.
    pub fn retained(&self, topic: &str) -> Option<Vec<u8>> {
        self.state.borrow().retained.get(topic).cloned()
    }

    /// Client `client`'s end of the broker, for a router.
    pub fn link(&self, client: usize) -> MemLink<'_> {
        MemLink {
            broker: self,
            client,
        }
    }
}

/// One client's connection, as the routers see it.
pub struct MemLink<'a> {
    broker: &'a MemBroker,
    client: usize,
}

impl Link for MemLink<'_> {
    fn try_publish(&self, out: Outgoing) -> Result<(), LinkError> {
        {
            let mut s = self.broker.state.borrow_mut();
            if let Some(room) = s.room.get_mut(&self.client) {
                if *room == 0 {
                    return Err(LinkError::Full);
                }
                *room -= 1;
            }
        }
        self.broker
            .publish(self.client, &out.topic, &out.payload, out.retain);
        Ok(())
    }
}

#[test]
fn topic_filters_match_as_mqtt_says() {
    assert!(matches("ssh/pi/+/tx", "ssh/pi/abc/tx"));
    assert!(!matches("ssh/pi/+/tx", "ssh/pi/abc/rx"));
    assert!(!matches("ssh/pi/+/tx", "ssh/pi/abc/tx/x"));
    assert!(matches("ssh/#", "ssh/pi/abc/tx"));
    assert!(matches("ssh/pi/instance", "ssh/pi/instance"));
    assert!(!matches("ssh/+/instance", "ssh/pi/beacon/rx"));
}
