//! The I/O shell: broker connection, TCP sockets, timers and tasks around
//! the sans-IO core. One thread runs every session task (a smol local
//! executor); one more runs the MQTT event loop.

mod broker_error;
mod client;
mod list;
mod mqtt;
mod payload_pool;
mod refusals;
mod server;
mod session_task;
mod tombstones;

use std::rc::Rc;
use std::sync::Arc;

use smol::LocalExecutor;

use crate::config::{Config, Mode};
use crate::protocol::limits::LEGACY_MAX_WINDOW;
use crate::protocol::topic::Topics;
use crate::reliable::session::SessionConfig;

/// The core's settings from the command line.
fn session_config(config: &Config) -> SessionConfig {
    SessionConfig {
        window: config.tuning.window_frames,
        frame_data: config.tuning.frame_data,
        peer_timeout: config.tuning.peer_timeout,
    }
}

/// A session's inbox holds a full window of frames from the peer (up to 199
/// before the peer knows what we are) plus room for acknowledgements.
fn inbox_capacity(config: &SessionConfig) -> usize {
    config.window.max(LEGACY_MAX_WINDOW) * 2
}

/// Runs the configured mode until it ends or fails; the error is one line.
/// `tls` is the broker's TLS configuration when TLS is on.
pub fn run(config: Config, tls: Option<Arc<rustls::ClientConfig>>) -> Result<(), String> {
    let permanent = match &config.mode {
        Mode::Server { .. } => {
            vec![Topics::new(&config.topic_prefix, &config.server_side_id).server_filter()]
        }
        Mode::ListServers { .. } => vec![Topics::beacon_filter(&config.topic_prefix)],
        Mode::Client { .. } => Vec::new(),
    };
    let (broker, inbound) = mqtt::Broker::start(&config.broker, tls, permanent)
        .map_err(|e| format!("cannot start the MQTT client: {e}"))?;
    let ex = Rc::new(LocalExecutor::new());
    smol::block_on(ex.run(async {
        match &config.mode {
            Mode::Server { .. } => server::run(ex.clone(), &config, broker, inbound).await,
            Mode::Client { .. } => client::run(ex.clone(), &config, broker, inbound).await,
            Mode::ListServers { watch } => list::run(&config.topic_prefix, *watch, inbound).await,
        }
    }))
}
