//! The sans-IO reliability layer: send and receive windows, the RTT
//! estimator and the session state machine. No sockets, no clock reads:
//! callers pass `now` in.

pub mod buffer_pool;
pub mod congestion;
pub mod paths;
pub mod recv_window;
pub mod ring;
pub mod rtt;
pub mod send_window;
pub mod session;

// The simulators and the model of the C original: tests only, kept apart
// from the product (as quinn-proto keeps its src/tests/).
#[cfg(test)]
mod tests;
