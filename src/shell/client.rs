//! Client side: accepts local TCP connections, opens a session for each,
//! and routes frames from the broker to the session tasks.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use smol::channel::{self, Receiver, Sender};
use smol::future::or;
use smol::{LocalExecutor, Timer};

use super::inbox::{self, InboxSender, ToSession};
use super::local::LocalStream;
use super::mqtt::{Broker, Inbound};
use super::refusals::{Refusal, Refusals};
use super::server::INSTANCE;
#[cfg(feature = "stdio")]
use super::session_task::SessionEnd;
use super::session_task::{self, NoAnswer, Outbox, Sealing, SessionIo, Slot};
use super::{inbox_bytes, inbox_capacity, session_config};
use crate::config::{Config, Mode};
use crate::protocol::frame::RemoteConfig;
use crate::protocol::instance::{self, Announcement};
use crate::protocol::topic::{Direction, Incoming, SessionId, Topics};
use crate::reliable::session::{Role, Session, SessionConfig};
use crate::secure::channel::Channel;
use crate::secure::psk::Psk;
use crate::secure::signed::{self, Signed};

/// Pause after a failed accept (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

enum Control {
    Open(SessionId, InboxSender),
    Done(SessionId),
    /// A connection beyond `--max-sessions` was reset.
    Refused,
    /// The `--stdio` session ended.
    #[cfg(feature = "stdio")]
    Ended(SessionEnd),
}

enum Wake {
    Inbound(Option<Inbound>),
    Control(Option<Control>),
    Stop,
    Report,
}

/// A fresh session id from the OS random source. 128 random bits: ids are
/// never reused.
fn new_session_id() -> Result<SessionId, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source: {e}"))?;
    Ok(SessionId::from_random(bytes))
}

/// Runs the client side until the listener or the broker handle fails.
pub async fn run(
    ex: Rc<LocalExecutor<'static>>,
    config: &Config,
    broker: Broker,
    inbound: Receiver<Inbound>,
    stop: Receiver<()>,
) -> Result<(), String> {
    let Mode::Client {
        listen_host,
        listen_port,
        remote_ip,
        remote_port,
        stdio,
    } = &config.mode
    else {
        return Err("internal: client::run outside client mode".into());
    };
    let listener = if *stdio {
        None
    } else {
        let listener = async_net::TcpListener::bind((listen_host.as_str(), *listen_port))
            .await
            .map_err(|e| {
                let hint =
                    if e.kind() == std::io::ErrorKind::PermissionDenied && *listen_port < 1024 {
                        " (ports below 1024 need root: listen on another, e.g. -p 2222)"
                    } else {
                        ""
                    };
                format!("cannot listen on {listen_host}:{listen_port}: {e}{hint}")
            })?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {listen_host}:{listen_port}: {e}"))?;
        log::info!(
            "client side listening on {local}, forwarding to server side '{}'",
            config.server_side_id
        );
        Some(listener)
    };
    let remote_config = (remote_ip.is_some() || remote_port.is_some()).then_some(RemoteConfig {
        ip: *remote_ip,
        port: *remote_port,
    });
    let topics = Rc::new(
        Topics::new(&config.topic_prefix, &config.server_side_id).with_key(config.psk.is_some()),
    );
    // This server side's key, derived once.
    let psk = super::scoped_psk(config);
    let rejected = Rc::new(Cell::new(0u64));
    let no_answer = Rc::new(Cell::new(NoAnswer::Unknown));
    let instance_topic = topics.instance();
    // The newest server process known from a keyed announcement.
    let mut server_instance: Option<Announcement> = None;
    let (ctl_tx, ctl_rx) = channel::unbounded::<Control>();
    let open = Rc::new(Cell::new(0));
    let frame_limit = super::initial_frame_limit(config);
    let acceptor = Acceptor {
        ex: ex.clone(),
        broker: broker.clone(),
        topics: topics.clone(),
        config: session_config(config),
        remote_config,
        control: ctl_tx,
        open: open.clone(),
        max_sessions: config.tuning.max_sessions,
        max_buffer_memory: config.tuning.max_buffer_memory,
        inbox_bytes: inbox_bytes(config, &open),
        frame_limit: frame_limit.clone(),
        psk: psk.clone(),
        rejected: rejected.clone(),
        no_answer: no_answer.clone(),
    };
    let _acceptor = match listener {
        // Dropping this task (at a stop) closes the listener.
        Some(listener) => Some(ex.spawn(acceptor.run(listener))),
        #[cfg(feature = "stdio")]
        None => {
            let stdio = LocalStream::stdio().map_err(|e| {
                format!("--stdio: stdin and stdout must be pipes, sockets or a terminal: {e}")
            })?;
            // One session, whose end ends the program.
            let control = acceptor.control.clone();
            let ended = move |end| {
                let _ = control.try_send(Control::Ended(end));
            };
            acceptor
                .start(stdio, "stdin/stdout", Ended(Some(Box::new(ended))))
                .await;
            None
        }
        // Refused by the command line already.
        #[cfg(not(feature = "stdio"))]
        None => return Err("built without --stdio".into()),
    };
    // Why the broker is unreachable, for the --stdio session's last line.
    #[cfg(feature = "stdio")]
    let mut broker_down: Option<String> = None;

    let mut sessions: HashMap<SessionId, InboxSender> = HashMap::new();
    let mut refusals = Refusals::new(Instant::now());
    let mut was_up = false;
    loop {
        let report_at = refusals.next_report();
        // Control first: a new session must be registered before the
        // answer to its opening frame is routed (`or` polls in order, and a
        // busy broker link is always ready), or the answer is dropped.
        let wake = or(
            async { Wake::Control(ctl_rx.recv().await.ok()) },
            or(
                async { Wake::Inbound(inbound.recv().await.ok()) },
                or(
                    async {
                        let _ = stop.recv().await;
                        Wake::Stop
                    },
                    async {
                        super::sleep_until(report_at).await;
                        Wake::Report
                    },
                ),
            ),
        )
        .await;
        refusals.take_count(Refusal::Unauthenticated, &rejected);
        match wake {
            #[cfg(feature = "stdio")]
            Wake::Control(Some(Control::Ended(end))) => {
                // Whatever the session still sent reaches the broker first.
                super::disconnect(&broker, &inbound).await;
                if end.graceful {
                    return Ok(());
                }
                let why = match (end.no_answer, broker_down) {
                    (true, Some(down)) if !was_up => down,
                    _ => end.words,
                };
                return Err(format!("session failed: {why}"));
            }
            Wake::Stop => {
                drop(_acceptor);
                super::stop_sessions(sessions.values(), &broker, &inbound).await;
                return Ok(());
            }
            Wake::Inbound(Some(Inbound::Stopped)) => return Ok(()),
            Wake::Inbound(Some(Inbound::FrameLimit(n))) => frame_limit.set(n),
            Wake::Inbound(Some(Inbound::Oversized(n))) => {
                refusals.note_many(Refusal::Oversized, n as u64, Instant::now());
            }
            Wake::Report => refusals.report(Instant::now()),
            Wake::Control(Some(Control::Refused)) => {
                refusals.note(Refusal::ConnectionLimit, Instant::now());
            }
            Wake::Inbound(None) => return Ok(()),
            Wake::Control(None) => return Err("listener stopped".into()),
            Wake::Control(Some(Control::Open(id, tx))) => {
                sessions.insert(id, tx);
            }
            Wake::Control(Some(Control::Done(id))) => {
                sessions.remove(&id);
            }
            Wake::Inbound(Some(Inbound::Up)) => {
                if was_up {
                    for tx in sessions.values() {
                        let _ = tx.try_send(ToSession::LinkRestored);
                    }
                }
                was_up = true;
            }
            #[cfg(feature = "stdio")]
            Wake::Inbound(Some(Inbound::Down(why))) => broker_down = Some(why),
            #[cfg(not(feature = "stdio"))]
            Wake::Inbound(Some(Inbound::Down(_))) => {}
            Wake::Inbound(Some(Inbound::Message(p))) if p.topic == instance_topic => {
                let (keying, instance) = server_keying(config, psk.as_ref(), &p.payload);
                no_answer.set(keying);
                // With a key, an announcement (made with it: no one else
                // can) of a process started after the one known means the
                // server side restarted, and lost every session: a keyed
                // server side cannot tell a client so (it cannot
                // authenticate frames of sessions it lost). A recorded
                // older one is ignored.
                let mut restarted = false;
                if let Some(new) = instance {
                    match &server_instance {
                        Some(known) if new.started_ns > known.started_ns => {
                            restarted = new.nonce != known.nonce;
                            server_instance = Some(new);
                        }
                        Some(_) => {}
                        None => server_instance = Some(new),
                    }
                }
                if restarted && !sessions.is_empty() {
                    log::warn!(
                        "the server side restarted (its announcement changed): resetting \
                         the {} sessions it no longer has",
                        sessions.len()
                    );
                    let (tx, _) = channel::unbounded();
                    for session in sessions.values() {
                        session.stop(tx.clone());
                    }
                }
            }
            Wake::Inbound(Some(Inbound::Message(p))) => match topics.parse(&p.topic) {
                Some(Incoming::Session(_, Direction::ToClient)) if p.retain => {
                    // Delivered because we subscribed, not sent now.
                    refusals.note(Refusal::Retained, Instant::now());
                }
                Some(Incoming::Session(id, Direction::ToClient)) => {
                    if let Some(tx) = sessions.get(&id) {
                        // Never wait on a session: a full inbox drops the
                        // frame like a lossy link would.
                        let _ = tx.try_send(ToSession::Frame(p));
                    }
                }
                _ => log::debug!("ignoring message on topic {}", p.topic),
            },
        }
    }
}

/// Who hears how a session ended (`--stdio`; nothing without it).
#[derive(Default)]
struct Ended(#[cfg(feature = "stdio")] Option<Box<dyn FnOnce(SessionEnd)>>);

/// Accepts connections and starts a session task for each.
struct Acceptor {
    ex: Rc<LocalExecutor<'static>>,
    broker: Broker,
    topics: Rc<Topics>,
    config: SessionConfig,
    remote_config: Option<RemoteConfig>,
    control: Sender<Control>,
    /// Sessions carrying a connection now (see [`Slot`]).
    open: Rc<Cell<usize>>,
    max_sessions: usize,
    max_buffer_memory: usize,
    inbox_bytes: inbox::ByteBound,
    frame_limit: Rc<Cell<usize>>,
    /// `--psk-file`: every session is sealed.
    psk: Option<Psk>,
    /// Payloads that did not open, across sessions.
    rejected: Rc<Cell<u64>>,
    no_answer: Rc<Cell<NoAnswer>>,
}

/// What the server side's announcement says about its key, for the line a
/// session with no answer logs; and the process it announces, if made with
/// our key.
fn server_keying(
    config: &Config,
    psk: Option<&Psk>,
    payload: &[u8],
) -> (NoAnswer, Option<Announcement>) {
    if payload.len() == instance::LEN {
        let keying = match psk {
            Some(_) => NoAnswer::ServerHasNoKey,
            None => NoAnswer::Unknown,
        };
        return (keying, None);
    }
    let signed = signed::classify(
        psk,
        &config.server_side_id,
        INSTANCE,
        instance::KEYED_LEN,
        payload,
    );
    match (signed, psk.is_some()) {
        (Signed::Foreign(_), false) => (NoAnswer::ServerNeedsKey, None),
        (Signed::Foreign(_), true) => (NoAnswer::KeysDiffer, None),
        (Signed::Ours(body), _) => (
            NoAnswer::SameKey,
            Announcement::decode(&body[..instance::LEN]),
        ),
        _ => (NoAnswer::Unknown, None),
    }
}

impl Acceptor {
    async fn run(self, listener: async_net::TcpListener) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    Timer::after(ACCEPT_RETRY).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            if !self
                .start(
                    LocalStream::tcp(stream),
                    &peer.to_string(),
                    Ended::default(),
                )
                .await
            {
                return;
            }
        }
    }

    /// Starts a session for a local stream (`peer` names it in the log):
    /// false if the router is gone. `ended` hears how the session ended.
    #[cfg_attr(not(feature = "stdio"), allow(unused_variables))]
    async fn start(&self, stream: LocalStream, peer: &str, ended: Ended) -> bool {
        let id = match new_session_id() {
            Ok(id) => id,
            Err(e) => {
                log::error!("{e}");
                return true;
            }
        };
        let mut stream = stream;
        if self.open.get() >= self.max_sessions {
            // Reset, not closed: the local peer must not take it for a
            // connection that worked.
            stream.close(false).await;
            let _ = self.control.send(Control::Refused).await;
            return true;
        }
        let sealing = match self.psk.as_ref().map(|psk| Channel::client(psk, &id)) {
            None => None,
            Some(Ok(channel)) => Some(Sealing::new(channel, self.rejected.clone())),
            Some(Err(e)) => {
                log::error!("session {id}: {e}");
                stream.close(false).await;
                return true;
            }
        };
        let slot = Slot::take(&self.open, self.max_buffer_memory);
        let (tx, rx) = inbox::inbox(inbox_capacity(&self.config), self.inbox_bytes.clone());
        if self.control.send(Control::Open(id, tx)).await.is_err() {
            return false;
        }
        log::info!("session {id}: opened for {peer}");
        let task = open_session(
            SessionIo {
                id,
                stream,
                inbox: rx,
                out: Outbox::new(
                    self.broker.clone(),
                    self.topics.session(&id, Direction::ToServer),
                    self.config.frame_data,
                    sealing,
                ),
                slot,
                frame_limit: self.frame_limit.clone(),
                no_answer: self.no_answer.clone(),
                #[cfg(feature = "stdio")]
                ended: ended.0,
            },
            self.topics.session(&id, Direction::ToClient),
            Role::Client {
                remote_config: self.remote_config,
            },
            self.config,
            self.control.clone(),
        );
        self.ex.spawn(task).detach();
        true
    }
}

async fn open_session(
    io: SessionIo,
    reply_topic: String,
    role: Role,
    config: SessionConfig,
    control: Sender<Control>,
) {
    let id = io.id;
    let broker = io.out.broker().clone();
    // Subscribed before the opening frame is published: the broker handles
    // one connection's packets in order, so no reply can miss it.
    broker.subscribe(&reply_topic).await;
    let mut core = Session::new(role, config, Instant::now());
    if io.out.overhead() > 0 {
        core.hold_data_until_answered();
    }
    session_task::run(core, io).await;
    broker.unsubscribe(&reply_topic).await;
    let _ = control.send(Control::Done(id)).await;
}
