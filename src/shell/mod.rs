//! The I/O shell: broker connection, TCP sockets, timers and tasks around
//! the sans-IO core. One thread runs every session task (a smol local
//! executor); one more runs the MQTT event loop.

mod broker_error;
mod client;
mod connection;
mod dispatch;
mod factory;
mod failover;
mod inbox;
#[cfg(feature = "list")]
mod list;
mod listener_probe;
mod local;
pub mod mqtt;
mod outbox;
mod payload_pool;
mod probe;
mod reconnect;
mod server;
mod server_session;
mod session_task;
mod signals;
mod stdio;
mod transport;
pub(crate) mod words;

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smol::channel::{Receiver, Sender};
use smol::future::or;
use smol::io::AsyncReadExt;
use smol::{LocalExecutor, Timer};

use crate::config::{Config, Mode};
use crate::protocol::topic::Topics;

/// How long a stopping process waits for its sessions' abort frames to
/// reach the broker: the peers then reset their TCP connections at once
/// instead of after their peer timeout.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Watches SIGTERM and SIGINT: the first one sends on the returned channel
/// (the graceful stop); a second one exits at once (see [`signals`]).
fn watch_signals(ex: &LocalExecutor<'static>) -> Result<Receiver<()>, RunError> {
    let mut wake = signals::install().map_err(RunError::Signals)?;
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
    let disconnect = async {
        // Gone already: nothing is left to flush.
        let _ = broker.disconnect().await;
    };
    or(disconnect, until_deadline()).await;
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

/// Why the program stops with an error; `Display` is one line.
#[derive(Debug)]
pub enum RunError {
    /// SIGTERM and SIGINT cannot be watched.
    Signals(std::io::Error),
    /// The client side cannot listen.
    Listen(ListenError),
    /// `--stdio`: stdin and stdout cannot be polled.
    Stdio(std::io::Error),
    /// The `--stdio` session failed; why, in words.
    Session(String),
    /// Another server side with the same id is connected and started first.
    Twin(crate::router::TwinStop),
    /// `-l`: the broker connection ended.
    BrokerGone,
    /// `-l`: no connection to the broker within this time.
    NoBroker(Duration),
    /// This build lacks the named option (refused by the command line
    /// already).
    Missing(&'static str),
}

/// The client side cannot listen where asked.
#[derive(Debug)]
pub struct ListenError {
    /// `-a`.
    pub host: String,
    /// `-p`.
    pub port: u16,
    /// Why.
    pub error: std::io::Error,
}

impl RunError {
    /// The exit status: 2 for a twin (a configuration problem that
    /// restarting cannot fix: systemd's `RestartPreventExitStatus=2`), 1
    /// for any other failure after start-up.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Twin(_) => 2,
            _ => 1,
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Signals(e) => write!(f, "cannot watch signals: {e}"),
            RunError::Listen(ListenError { host, port, error }) => {
                write!(f, "cannot listen on {host}:{port}: {error}")?;
                if error.kind() == std::io::ErrorKind::PermissionDenied && *port < 1024 {
                    f.write_str(" (ports below 1024 need root: listen on another, e.g. -p 2222)")?;
                }
                Ok(())
            }
            RunError::Stdio(e) => write!(
                f,
                "--stdio: stdin and stdout must be pipes, sockets or a terminal: {e}"
            ),
            RunError::Session(why) => write!(f, "session failed: {why}"),
            RunError::Twin(twin) => twin.fmt(f),
            RunError::BrokerGone => f.write_str("broker connection ended"),
            RunError::NoBroker(within) => write!(
                f,
                "no connection to the broker within {}",
                words::Span(*within)
            ),
            RunError::Missing(what) => write!(f, "built without {what}"),
        }
    }
}

/// How long one connection attempt (name lookup, TCP, TLS handshake,
/// CONNACK) may take before it is abandoned and retried, and how long `-l`
/// waits for the broker. A TLS handshake over a slow mobile link to a cloud
/// broker can take longer than the 5 s some clients allow.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The topics the broker connection subscribes to at every connect.
fn permanent_topics(config: &Config) -> Vec<String> {
    let topics = factory::topics(config);
    match &config.mode {
        Mode::Server { .. } => vec![topics.server_filter(), topics.instance()],
        Mode::ListServers { .. } => vec![
            Topics::beacon_filter(&config.topic_prefix),
            Topics::instance_filter(&config.topic_prefix),
        ],
        // The server side's announcement says whether it uses a key (for
        // the line a session without an answer logs).
        Mode::Client { .. } => vec![topics.instance()],
    }
}

/// Runs the configured mode until it ends or fails.
/// `tls` is the broker's TLS configuration when TLS is on.
pub fn run(config: Config, tls: Option<Arc<rustls::ClientConfig>>) -> Result<(), RunError> {
    // Both sides probe the broker's message size limit (probe.rs), unless
    // --frame-size fixes it.
    let probe = (config.tuning.probe_frame_size
        && !matches!(config.mode, Mode::ListServers { .. }))
    .then(|| {
        let topic =
            Topics::new(&config.topic_prefix, &config.server_side_id).probe(&probe::random_token());
        (topic, config.tuning.frame_data)
    });
    let permanent = permanent_topics(&config);
    let ex = Rc::new(LocalExecutor::new());
    let (broker, inbound) = mqtt::Broker::start(&ex, &config.broker, tls, permanent, probe);
    let stop = watch_signals(&ex)?;
    smol::block_on(ex.run(run_mode(ex.clone(), &config, broker, inbound, stop)))
}

/// Runs the configured mode on the executor.
async fn run_mode(
    ex: Rc<LocalExecutor<'static>>,
    config: &Config,
    broker: mqtt::Broker,
    inbound: Receiver<mqtt::Inbound>,
    stop: Receiver<()>,
) -> Result<(), RunError> {
    match &config.mode {
        Mode::Server {
            target_host,
            target_port,
            beacon,
            allow_remote,
        } => {
            let settings = crate::router::ServerSettings {
                server_side_id: config.server_side_id.clone(),
                target: crate::router::Target {
                    host: target_host.clone(),
                    port: *target_port,
                },
                allow: allow_remote.clone(),
                beacon: *beacon,
                max_sessions: config.tuning.max_sessions,
                psk: factory::scoped_psk(config),
            };
            server::run(ex, config, settings, broker, inbound, stop).await
        }
        Mode::Client {
            listen_host,
            listen_port,
            stdio,
            ..
        } => {
            let listen_on = (!stdio).then_some((listen_host.as_str(), *listen_port));
            client::run(ex, config, listen_on, broker, inbound, stop).await
        }
        #[cfg(feature = "list")]
        Mode::ListServers {
            watch,
            json,
            pattern,
        } => {
            let output = list::Output {
                watch: *watch,
                json: *json,
                // SAFETY: isatty has no preconditions.
                redraw: *watch && !*json && unsafe { libc::isatty(1) } == 1,
            };
            let list = list::run(
                &config.topic_prefix,
                output,
                pattern.as_deref(),
                config.psk.as_ref(),
                inbound,
            );
            let stopped = async {
                let _ = stop.recv().await;
                Ok(())
            };
            or(list, stopped).await
        }
        // Refused by the command line already.
        #[cfg(not(feature = "list"))]
        Mode::ListServers { .. } => Err(RunError::Missing("-l")),
    }
}
