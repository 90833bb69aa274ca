//! The routers: what each side does with the messages the broker delivers,
//! sans-IO (quinn-proto's `Endpoint` is the model). A router owns
//! admission, routing by topic, tombstones, refusals and their summaries,
//! twin rules, link up and down and frame-limit changes; it takes `now` and
//! one input at a time and answers with what to do: hand a message to a
//! session, start one, reset them, publish (queued, see
//! [`Common::poll_publish`]). It never touches a socket or a task: the shell
//! (`src/shell`) performs what it decides, and the tests in `tests/` drive a
//! client router and a server router joined by an in-memory broker on
//! virtual time.
//!
//! A router keeps a handle `H` per session (the shell's handle is the
//! session's inbox; the tests' is their own), so that the rules and the
//! sessions it routes to cannot disagree.

mod client;
mod common;
mod counters;
mod no_answer;
mod openings;
pub mod refusals;
pub mod replies;
mod server;
pub mod tombstones;
pub mod twins;

#[cfg(test)]
mod tests;

pub use client::{ClientAction, ClientRouter};
pub use common::{Common, Message, Outgoing, Router};
pub use counters::{Counters, Pending, Slot};
pub use no_answer::NoAnswer;
pub use server::{Opening, ServerAction, ServerRouter, ServerSettings, Target, TwinStop};

/// Why the broker connection did not take a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Its queue is full: the message is dropped (the reliability layer or
    /// the next period's repetition makes up for it).
    Full,
    /// It is gone: the program is stopping.
    Closed,
}

/// What a router needs of the broker connection: a publish that never
/// waits (a router must never block on the broker). The shell's broker
/// connection and the tests' in-memory broker implement it.
pub trait Link {
    /// Queues `out` for the broker, or says why not.
    #[must_use = "a publish the broker did not take must be handled"]
    fn try_publish(&self, out: Outgoing) -> Result<(), LinkError>;
}

/// Hands every publish `common` has queued to `link`: returns how many the
/// link dropped because its queue was full, or that it is closed.
#[must_use = "a closed link ends the router"]
pub fn flush<H>(common: &mut Common<H>, link: &impl Link) -> Result<usize, LinkError> {
    let mut dropped = 0;
    while let Some(out) = common.poll_publish() {
        match link.try_publish(out) {
            Ok(()) => {}
            Err(LinkError::Full) => dropped += 1,
            Err(LinkError::Closed) => return Err(LinkError::Closed),
        }
    }
    Ok(dropped)
}
