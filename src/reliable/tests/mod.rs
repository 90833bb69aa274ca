//! Tests of the sans-IO core beyond each file's unit tests, on virtual time:
//! two sessions over a simulated lossy link (`sim`), our session against a
//! model of the C original (`legacy_model`, `legacy_sim`), the frame-sequence
//! rules that keep a session from hanging (`session_rules`), and what the
//! simulators share (`sim_support`). A failing seed is printed; see
//! README.rst to replay it.

mod legacy_model;
mod legacy_sim;
mod session_rules;
mod sim;
mod sim_support;
