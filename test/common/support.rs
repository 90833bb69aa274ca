//! What the test support shares with the fault proxy's standalone binary
//! (test/faultproxy.rs, used by test/bench.sh): nothing here may depend on
//! the integration-test environment.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// splitmix64: a small seeded generator, reproducible across runs.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u32) -> bool {
        percent > 0 && self.next() % 100 < u64::from(percent)
    }
}

/// Stops a thread accepting on `127.0.0.1:port` that checks `stop` after
/// each connection: sets the flag, connects once to wake it, joins it.
pub fn stop_accept_loop(stop: &AtomicBool, port: u16, thread: Option<JoinHandle<()>>) {
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    );
    if let Some(thread) = thread {
        let _ = thread.join();
    }
}
