//! The one place sessions are made: built once from the configuration
//! (topics, the scoped key, the core's settings, the inbox bounds, the
//! client's remote config), it gives each new session its inbox, its outbox
//! and its share of the counters, and spawns its task.

use std::rc::Rc;
use std::time::Instant;

use smol::channel::{Receiver, Sender};
use smol::LocalExecutor;

use super::inbox::{self, ByteBound, Inbox, InboxSender};
use super::local::LocalStream;
use super::mqtt::Broker;
use super::session_task::{self, Outbox, Sealing, SessionIo};
use super::stdio::OnEnd;
use crate::config::{Config, Mode};
use crate::protocol::frame::RemoteConfig;
use crate::protocol::limits::{HELD_WINDOW, LEGACY_FRAME_DATA, LEGACY_MAX_WINDOW};

/// Frames a session's inbox holds at most: four times what the session
/// holds of its peer's.
const INBOX_FRAMES: usize = 4 * HELD_WINDOW;
use crate::protocol::topic::{Direction, ReplyTo, SessionId, Topics};
use crate::reliable::session::{Quota, Role, Session, SessionConfig};
use crate::router::{Counters, Opening, Slot};
use crate::secure::channel::Channel;
use crate::secure::psk::Psk;

/// Makes and spawns the sessions of one side.
pub struct SessionFactory {
    ex: Rc<LocalExecutor<'static>>,
    broker: Broker,
    topics: Topics,
    psk: Option<Psk>,
    config: SessionConfig,
    remote_config: Option<RemoteConfig>,
    counters: Rc<Counters>,
    inbox_max_bytes: usize,
    /// Told the id of every session whose task ended.
    done: Sender<SessionId>,
    /// Publishing is capped: sessions publish in turn (see
    /// `Outbox::take_turns`).
    paced: bool,
}

/// The frame size sessions start with: the floor every broker accepts while
/// the probe has not answered, or the configured one when not probing.
pub fn initial_frame_limit(config: &Config) -> usize {
    if config.tuning.probe_frame_size {
        LEGACY_FRAME_DATA
    } else {
        config.tuning.frame_data
    }
}

/// The key of this server side (see [`crate::secure::psk::Psk::scoped`]).
pub fn scoped_psk(config: &Config) -> Option<Psk> {
    config
        .psk
        .as_ref()
        .map(|p| p.scoped(&config.topic_prefix, &config.server_side_id))
}

/// The topics of the configured server side (keyed ones with a key).
pub fn topics(config: &Config) -> Topics {
    Topics::new(&config.topic_prefix, &config.server_side_id).with_key(config.psk.is_some())
}

impl SessionFactory {
    /// The factory of the configured side, the counters its sessions share
    /// with the router, and where ended sessions are told.
    pub fn start(
        ex: Rc<LocalExecutor<'static>>,
        broker: Broker,
        config: &Config,
    ) -> (SessionFactory, Rc<Counters>, Receiver<SessionId>) {
        let counters = Counters::new(initial_frame_limit(config), config.tuning.max_buffer_memory);
        counters.set_session_frame(config.tuning.frame_data);
        let caps = config.broker.caps;
        counters
            .quota
            .set(caps.publishes.map(|n| Quota::for_caps(n, caps.bytes)));
        let (done_tx, done) = smol::channel::unbounded();
        let sessions = SessionFactory::new(ex, broker, config, counters.clone(), done_tx);
        (sessions, counters, done)
    }

    /// The factory of the configured side; sessions share `counters` and
    /// say on `done` when their task ends.
    pub fn new(
        ex: Rc<LocalExecutor<'static>>,
        broker: Broker,
        config: &Config,
        counters: Rc<Counters>,
        done: Sender<SessionId>,
    ) -> SessionFactory {
        let remote_config = match &config.mode {
            Mode::Client {
                remote_ip,
                remote_port,
                ..
            } if remote_ip.is_some() || remote_port.is_some() => Some(RemoteConfig {
                ip: *remote_ip,
                port: *remote_port,
            }),
            _ => None,
        };
        let tuning = &config.tuning;
        SessionFactory {
            ex,
            broker,
            topics: topics(config),
            psk: scoped_psk(config),
            config: SessionConfig {
                window: tuning.window_frames,
                frame_data: tuning.frame_data,
                peer_timeout: tuning.peer_timeout,
            },
            remote_config,
            counters,
            // A few times what its receive window may hold of its own frame
            // size, or a C peer's window: the inbox only carries frames to
            // the session task, but on a fast path they come in bursts of
            // what the broker connection reads before it yields.
            inbox_max_bytes: (tuning.window_frames.min(INBOX_FRAMES) * tuning.frame_data)
                .max(LEGACY_MAX_WINDOW * LEGACY_FRAME_DATA),
            done,
            paced: config.broker.caps.publishes.is_some() || config.broker.caps.bytes.is_some(),
        }
    }

    /// A session's inbox holds a full window of frames from the peer (up to
    /// 199 before the peer knows what we are) plus room for
    /// acknowledgements, and at most its share of the buffer budget.
    fn inbox(&self) -> (InboxSender, Inbox) {
        let bound = ByteBound {
            max_bytes: self.inbox_max_bytes,
            counters: self.counters.clone(),
        };
        let frames = self.config.window.min(INBOX_FRAMES).max(LEGACY_MAX_WINDOW);
        inbox::inbox(frames * 2, bound)
    }

    /// Where a session publishes: on `topic`, sealed with `channel`.
    fn outbox(&self, topic: String, channel: Option<Channel>) -> Outbox {
        let out = Outbox::new(
            self.broker.clone(),
            topic,
            self.config.frame_data,
            channel.map(|c| Sealing::new(c, self.counters.clone())),
        );
        if self.paced {
            out.take_turns()
        } else {
            out
        }
    }

    /// Starts a client session for a local stream (`peer` names it in the
    /// log; `on_end` hears how it ended instead of the log). `None` (the
    /// stream reset) if it cannot have one.
    pub async fn start_client(
        &self,
        mut stream: LocalStream,
        peer: &str,
        on_end: Option<OnEnd>,
    ) -> Option<(SessionId, InboxSender)> {
        let id = match new_session_id(self.counters.instance) {
            Ok(id) => id,
            Err(e) => {
                log::error!("{e}");
                stream.close(false).await;
                return None;
            }
        };
        let channel = match self.psk.as_ref().map(|psk| Channel::client(psk, &id)) {
            None => None,
            Some(Ok(mut channel)) => {
                if let Some(challenge) = self.counters.server_challenge.get() {
                    channel.bind_to(challenge);
                }
                Some(channel)
            }
            Some(Err(e)) => {
                log::error!("session {id}: {e}");
                stream.close(false).await;
                return None;
            }
        };
        let slot = Slot::take(&self.counters);
        let (tx, rx) = self.inbox();
        log::info!("session {id}: opened for {peer}");
        let io = SessionIo {
            id,
            stream,
            inbox: rx,
            out: self.outbox(self.topics.session(&id, Direction::ToServer), channel),
            slot,
            counters: self.counters.clone(),
            on_end,
        };
        let reply_topic = self.topics.session(&id, Direction::ToClient);
        let role = Role::Client {
            remote_config: self.remote_config,
        };
        let task = client_session(io, reply_topic, role, self.config, self.done.clone());
        self.ex.spawn(task).detach();
        Some((id, tx))
    }

    /// Starts the server session the router admitted.
    pub fn start_server(&self, mut opening: Box<Opening>) -> InboxSender {
        let (tx, rx) = self.inbox();
        let id = opening.id;
        let topic = match crate::protocol::frame::decode(&opening.frame) {
            Ok(f) if ReplyTo::of(&id, &f.header) == ReplyTo::Instance => {
                self.topics.session_to_instance(&id)
            }
            _ => self.topics.session(&id, Direction::ToClient),
        };
        let out = self.outbox(topic, opening.channel.take());
        let links = super::server_session::Links {
            inbox: rx,
            out,
            counters: self.counters.clone(),
            done: self.done.clone(),
        };
        let task = super::server_session::serve(*opening, self.config, links);
        self.ex.spawn(task).detach();
        tx
    }
}

/// A fresh session id of the client process `instance` (its number, which
/// is random too, then 96 bits from the OS random source): ids are never
/// reused.
fn new_session_id(instance: u32) -> Result<SessionId, NoRandom> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(NoRandom)?;
    Ok(SessionId::of_instance(instance, bytes))
}

/// The OS has no random source to draw a session id from.
#[derive(Debug)]
struct NoRandom(getrandom::Error);

impl std::fmt::Display for NoRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no random source: {}", self.0)
    }
}

/// One client session: subscribe to its replies, run it, unsubscribe.
async fn client_session(
    io: SessionIo,
    reply_topic: String,
    role: Role,
    config: SessionConfig,
    done: Sender<SessionId>,
) {
    let id = io.id;
    let broker = io.out.broker().clone();
    // Subscribed before the opening frame is published: the broker handles
    // one connection's packets in order, so no reply can miss it. If the
    // broker connection is gone, the session finds out at its first publish.
    // Not needed once the server side answers on the process's topic
    // (`router::replies`), which is subscribed once for all.
    // Beyond the broker's subscription limit while the layout is unknown,
    // a session relies on the process's topic alone.
    let counters = io.counters.clone();
    let own_topic = counters.replies.session_topic_needed() && counters.own_topic_fits();
    if own_topic {
        counters.own_topics.set(counters.own_topics.get() + 1);
        if broker.subscribe(&reply_topic).await.is_err() {
            log::debug!("session {id}: the broker connection is gone");
        }
    }
    let mut core = Session::new(role, config, Instant::now());
    core.set_instance(io.counters.instance);
    if io.out.overhead() > 0 {
        core.hold_data_until_answered();
    }
    session_task::run(core, io).await;
    if own_topic {
        counters.own_topics.set(counters.own_topics.get() - 1);
        if broker.unsubscribe(&reply_topic).await.is_err() {
            log::debug!("session {id}: the broker connection is gone");
        }
    }
    let _ = done.send(id).await;
}
