//! The sans-IO reliability layer: send and receive windows, the RTT
//! estimator and the session state machine. No sockets, no clock reads:
//! callers pass `now` in.

pub mod buffer_pool;
pub mod recv_window;
pub mod rtt;
pub mod send_window;
pub mod session;

#[cfg(test)]
mod legacy_model;
#[cfg(test)]
mod legacy_sim;
#[cfg(test)]
mod session_rules;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod sim_support;
