//! The I/O shell: broker connection, TCP sockets, timers and tasks around
//! the sans-IO core. One thread runs every session task (a smol local
//! executor); one more runs the MQTT event loop.

mod broker_error;
mod client;
mod inbox;
#[cfg(feature = "list")]
mod list;
mod listener_probe;
mod local;
mod mqtt;
mod payload_pool;
mod probe;
mod reconnect;
mod refusals;
mod server;
mod session_task;
mod signals;
mod tombstones;
mod twins;
mod words;

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smol::channel::{Receiver, Sender};
use smol::future::or;
use smol::io::AsyncReadExt;
use smol::{LocalExecutor, Timer};

use crate::config::{Config, Mode};
use crate::protocol::limits::{LEGACY_FRAME_DATA, LEGACY_MAX_WINDOW};
use crate::protocol::topic::Topics;
use crate::reliable::session::SessionConfig;

/// How long a stopping process waits for its sessions' abort frames to
/// reach the broker: the peers then reset their TCP connections at once
/// instead of after their peer timeout.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Watches SIGTERM and SIGINT: the first one sends on the returned channel
/// (the graceful stop); a second one exits at once (see [`signals`]).
fn watch_signals(ex: &LocalExecutor<'static>) -> Result<Receiver<()>, RunError> {
    let mut wake =
        signals::install().map_err(|e| RunError::Failed(format!("cannot watch signals: {e}")))?;
    let (tx, rx) = smol::channel::bounded(1);
    ex.spawn(async move {
        let mut byte = [0u8; 1];
        if wake.read(&mut byte).await.is_ok() {
            log::info!(
                "stopping on a signal: closing every session (a second signal exits at once)"
            );
            let _ = tx.try_send(());
        }
    })
    .detach();
    Ok(rx)
}

/// The graceful stop of a router: every session aborts toward its peer,
/// then the broker connection closes after those frames; at most
/// [`STOP_GRACE`] in all.
async fn stop_sessions<'a>(
    sessions: impl Iterator<Item = &'a inbox::InboxSender>,
    broker: &mqtt::Broker,
    inbound: &Receiver<mqtt::Inbound>,
) {
    let deadline = Instant::now() + STOP_GRACE;
    let until_deadline = || async {
        Timer::at(deadline).await;
    };
    let (tx, rx): (Sender<()>, Receiver<()>) = smol::channel::unbounded();
    let stopping = sessions.filter(|s| s.stop(tx.clone())).count();
    drop(tx);
    let flushed = async {
        for _ in 0..stopping {
            if rx.recv().await.is_err() {
                break;
            }
        }
    };
    or(flushed, until_deadline()).await;
    disconnect_by(broker, inbound, deadline).await;
    log::info!("stopped: {stopping} sessions aborted");
}

/// Closes the broker connection after what is queued, within
/// [`STOP_GRACE`].
#[cfg(feature = "stdio")]
async fn disconnect(broker: &mqtt::Broker, inbound: &Receiver<mqtt::Inbound>) {
    disconnect_by(broker, inbound, Instant::now() + STOP_GRACE).await;
}

async fn disconnect_by(
    broker: &mqtt::Broker,
    inbound: &Receiver<mqtt::Inbound>,
    deadline: Instant,
) {
    let until_deadline = || async {
        Timer::at(deadline).await;
    };
    or(broker.disconnect(), until_deadline()).await;
    let disconnected = async {
        loop {
            match inbound.recv().await {
                Ok(mqtt::Inbound::Stopped) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    or(disconnected, until_deadline()).await;
}

/// Waits until `at`, or for ever when there is nothing to wait for: one
/// branch of a router's wake-up, for its optional timers.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => {
            Timer::at(at).await;
        }
        None => smol::future::pending().await,
    }
}

/// The key of this server side (see [`crate::secure::psk::Psk::scoped`]).
fn scoped_psk(config: &Config) -> Option<crate::secure::psk::Psk> {
    config
        .psk
        .as_ref()
        .map(|p| p.scoped(&config.topic_prefix, &config.server_side_id))
}

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

/// The frame size sessions start with: the floor every broker accepts while
/// the probe has not answered, or the configured one when not probing.
fn initial_frame_limit(config: &Config) -> Rc<std::cell::Cell<usize>> {
    Rc::new(std::cell::Cell::new(if config.tuning.probe_frame_size {
        LEGACY_FRAME_DATA
    } else {
        config.tuning.frame_data
    }))
}

/// Payload bytes a session's inbox holds at most: what its receive window
/// may hold (its own window of its own frame size, or a C peer's window),
/// and its share of the process-wide buffer budget among `sessions`.
fn inbox_bytes(config: &Config, sessions: &Rc<std::cell::Cell<usize>>) -> inbox::ByteBound {
    let own = config.tuning.window_frames * config.tuning.frame_data;
    inbox::ByteBound {
        max_bytes: own.max(LEGACY_MAX_WINDOW * LEGACY_FRAME_DATA),
        budget: config.tuning.max_buffer_memory,
        sessions: sessions.clone(),
    }
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
            let topics = Topics::new(&config.topic_prefix, &config.server_side_id)
                .with_key(config.psk.is_some());
            vec![topics.server_filter(), topics.instance()]
        }
        Mode::ListServers { .. } => vec![
            Topics::beacon_filter(&config.topic_prefix),
            Topics::instance_filter(&config.topic_prefix),
        ],
        // The server side's announcement says whether it uses a key (for
        // the line a session without an answer logs).
        Mode::Client { .. } => {
            vec![Topics::new(&config.topic_prefix, &config.server_side_id).instance()]
        }
    };
    // Both sides probe the broker's message size limit (probe.rs), unless
    // --frame-size fixes it.
    let probe = (config.tuning.probe_frame_size
        && !matches!(config.mode, Mode::ListServers { .. }))
    .then(|| {
        let topic = Topics::new(&config.topic_prefix, &config.server_side_id)
            .probe(&config.broker.client_id);
        (topic, config.tuning.frame_data)
    });
    let (broker, inbound) = mqtt::Broker::start(&config.broker, tls, permanent, probe)
        .map_err(|e| format!("cannot start the MQTT client: {e}"))?;
    let ex = Rc::new(LocalExecutor::new());
    let stop = watch_signals(&ex)?;
    smol::block_on(ex.run(async {
        match &config.mode {
            Mode::Server { .. } => server::run(ex.clone(), &config, broker, inbound, stop).await,
            Mode::Client { .. } => {
                Ok(client::run(ex.clone(), &config, broker, inbound, stop).await?)
            }
            #[cfg(feature = "list")]
            Mode::ListServers { watch, json } => {
                let output = list::Output {
                    watch: *watch,
                    json: *json,
                    // SAFETY: isatty has no preconditions.
                    redraw: *watch && !*json && unsafe { libc::isatty(1) } == 1,
                };
                let list = async {
                    list::run(&config.topic_prefix, output, config.psk.as_ref(), inbound).await
                };
                let stopped = async {
                    let _ = stop.recv().await;
                    Ok(())
                };
                Ok(or(list, stopped).await?)
            }
            // Refused by the command line already.
            #[cfg(not(feature = "list"))]
            Mode::ListServers { .. } => Err(RunError::Failed("built without -l".into())),
        }
    }))
}
