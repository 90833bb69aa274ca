//! A third client on the broker that records everything published on a
//! filter (`#`: every topic) while a test runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::mqtt_raw::RawClient;

/// A message seen on the broker: (topic, payload).
pub type Seen = (String, Vec<u8>);

/// Everything published on the broker while it runs.
pub struct Sniffer {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

impl Sniffer {
    /// Connects to the broker on `broker_port` and records what `filter`
    /// matches from the moment this returns (the subscription is in place).
    pub fn start(broker_port: u16, filter: &str) -> Sniffer {
        let mut client = RawClient::connect(broker_port, "sniffer");
        client.subscribe(filter);
        client.set_read_timeout(Duration::from_millis(100));
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some((topic, payload, _)) = client.next_publish() {
                        seen.lock().unwrap().push((topic, payload));
                    }
                }
            })
        };
        Sniffer {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// What was recorded so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Stops recording and returns everything recorded.
    pub fn stop(mut self) -> Vec<Seen> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.seen()
    }
}
