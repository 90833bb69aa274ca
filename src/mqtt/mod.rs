//! The MQTT 3.1.1 client, sans-IO: packets are encoded and decoded by
//! rumqttc's `mqttbytes::v4` codec; the connection's state, packet ids,
//! keep-alive and dead-connection rules, and the pacing within a broker's
//! quotas are here. The shell's
//! `shell/mqtt.rs` owns the socket and drives it.

mod client;
mod ids;
mod liveness;
pub mod pacing;
pub mod profiles;
mod reader;
pub mod wire;

pub use client::{Busy, Client, Event, Failure, Options};
pub use ids::IdSet;
pub use reader::{Incoming, ReadError, Reader};

#[cfg(test)]
mod pacing_tests;
#[cfg(test)]
mod tests;
