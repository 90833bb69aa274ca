//! The I/O shell: broker connection, TCP sockets, timers and tasks around
//! the sans-IO core. One thread runs every session task (a smol local
//! executor); one more runs the MQTT event loop.

mod broker_error;
mod client;
mod list;
mod mqtt;
mod payload_pool;
mod reconnect;
mod refusals;
mod server;
mod session_task;
mod tombstones;
mod twins;

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

/// Why the program stops with an error; `Display` is one line.
#[derive(Debug)]
pub enum RunError {
    /// A failure after start-up (exit code 1).
    Failed(String),
    /// Another server side with the same id is connected and started first
    /// (exit code 2: a configuration problem that restarting cannot fix).
    Twin(String),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Failed(_) => 1,
            RunError::Twin(_) => 2,
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Failed(m) | RunError::Twin(m) => f.write_str(m),
        }
    }
}

impl From<String> for RunError {
    fn from(message: String) -> Self {
        RunError::Failed(message)
    }
}

/// Runs the configured mode until it ends or fails.
/// `tls` is the broker's TLS configuration when TLS is on.
pub fn run(config: Config, tls: Option<Arc<rustls::ClientConfig>>) -> Result<(), RunError> {
    let permanent = match &config.mode {
        Mode::Server { .. } => {
            let topics = Topics::new(&config.topic_prefix, &config.server_side_id);
            vec![topics.server_filter(), topics.instance()]
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
            Mode::Client { .. } => Ok(client::run(ex.clone(), &config, broker, inbound).await?),
            Mode::ListServers { watch } => {
                Ok(list::run(&config.topic_prefix, *watch, inbound).await?)
            }
        }
    }))
}
