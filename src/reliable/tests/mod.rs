//! Tests of the sans-IO core, on virtual time: each part alone
//! (`buffer_pool`, `recv_window`, `rtt`, `send_window`),
//! two sessions over a simulated lossy link (`sim`), our session against a
//! model of the C original (`legacy_model`, `legacy_sim`), the frame-sequence
//! rules that keep a session from hanging (`session_rules`), the order of
//! its timers (`session_timers`), and what the simulators share
//! (`sim_support`). A failing seed is printed; see
//! docs/testing.rst to replay it.

mod buffer_pool;
mod congestion;
mod legacy_model;
mod legacy_sim;
mod link_model;
mod link_sim;
mod recv_window;
mod responsiveness;
mod rtt;
mod send_window;
mod session_rules;
mod session_timers;
mod sim;
mod sim_support;
