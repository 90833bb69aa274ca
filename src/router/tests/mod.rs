//! The routers on virtual time: a client router and a server router joined
//! by an in-memory broker, sessions driven without sockets.

mod broker;
mod client_rules;
mod pair;
mod refusals;
mod server_rules;
mod tombstones;
mod twins;
