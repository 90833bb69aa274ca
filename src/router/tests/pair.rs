//! A client router and a server router joined by the in-memory broker, on
//! virtual time (quinn's `Pair` is the model). Sessions are the reliable
//! core's, driven here without sockets: the client's local peer sends what
//! a test gives it, the server's target echoes.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::broker::MemBroker;
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::{decode, FrameBuf, RemoteConfig};
use crate::protocol::instance::Announcement;
use crate::protocol::topic::{Direction, SessionId, Topics};
use crate::reliable::session::{CloseReason, Event, Role, Session, SessionConfig};
use crate::router::{
    flush, ClientAction, ClientRouter, Counters, Message, Opening, Pending, Router, ServerAction,
    ServerRouter, ServerSettings, Slot, Target, TwinStop,
};
use crate::secure::channel::Channel;
use crate::secure::psk::Psk;
use crate::targets::AllowList;

/// Broker client ids.
pub const CLIENT: usize = 1;
pub const SERVER: usize = 2;
/// A third publisher: anyone on the broker.
pub const ATTACKER: usize = 3;

pub const PREFIX: &str = "ssh";
pub const SERVER_ID: &str = "pi";
/// One step of virtual time.
pub const TICK: Duration = Duration::from_millis(5);

/// The settings of a pair.
#[derive(Debug, Clone)]
pub struct Setup {
    pub psk: Option<Psk>,
    pub client_max_sessions: usize,
    pub server_max_sessions: usize,
    pub beacon: bool,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            psk: None,
            client_max_sessions: 16,
            server_max_sessions: 16,
            beacon: false,
        }
    }
}

/// One end of a session: the core and what its local peer does.
pub struct End {
    pub core: Session,
    channel: Option<Channel>,
    slot: Option<Slot>,
    pending: Option<Pending>,
    out_topic: String,
    /// Bytes the local peer still has to send.
    pub to_send: Vec<u8>,
    /// The local peer ends its stream once `to_send` is out.
    pub finish: bool,
    finished: bool,
    /// Bytes the local peer received.
    pub received: Vec<u8>,
    /// Echoes what it receives (the server's target).
    echo: bool,
    pub closed: Option<CloseReason>,
    /// Its close is in [`Pair::ended`].
    recorded: bool,
}

impl End {
    fn new(core: Session, channel: Option<Channel>, slot: Slot, out_topic: String) -> End {
        End {
            core,
            channel,
            slot: Some(slot),
            pending: None,
            out_topic,
            to_send: Vec::new(),
            finish: false,
            finished: false,
            received: Vec::new(),
            echo: false,
            closed: None,
            recorded: false,
        }
    }
}

/// A payload buffer with room for the sealed frame's outer header.
struct AfterPrefix<'a>(&'a mut Vec<u8>, usize);

impl FrameBuf for AfterPrefix<'_> {
    fn clear(&mut self) {
        self.0.clear();
        self.0.resize(self.1, 0);
    }
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// The two routers, their sessions, the broker and the clock.
pub struct Pair {
    pub broker: MemBroker,
    pub now: Instant,
    pub client: ClientRouter<()>,
    pub server: ServerRouter<()>,
    pub clients: HashMap<SessionId, End>,
    pub servers: HashMap<SessionId, End>,
    /// Client sessions that closed, and why (in order).
    pub ended: Vec<(SessionId, CloseReason)>,
    /// Set when the server router decided to stop.
    pub stopped: Option<TwinStop>,
    pub client_counters: Rc<Counters>,
    pub server_counters: Rc<Counters>,
    /// Which sides' links are up.
    pub up: [bool; 2],
    config: SessionConfig,
    psk: Option<Psk>,
    topics: Topics,
    pub next_id: u16,
}

/// The session settings of the tests: small frames and windows.
pub fn session_config() -> SessionConfig {
    SessionConfig {
        window: 8,
        frame_data: 32 * 1024,
        peer_timeout: Duration::from_secs(30),
    }
}

/// This test's topics.
pub fn topics(keyed: bool) -> Topics {
    Topics::new(PREFIX, SERVER_ID).with_key(keyed)
}

impl Pair {
    /// A pair whose server process started at `started_ns` (wall clock).
    pub fn new(setup: Setup) -> Pair {
        Pair::started(setup, 1_000_000_000_000)
    }

    /// The same, with the server's start time and nonce given.
    pub fn started(setup: Setup, started_ns: u64) -> Pair {
        let now = Instant::now();
        let psk = setup.psk.map(|p| p.scoped(PREFIX, SERVER_ID));
        let keyed = psk.is_some();
        // Not probing: sessions start with the configured frame size.
        let frame_data = session_config().frame_data;
        let client_counters = Counters::new(frame_data, 64 << 20);
        let server_counters = Counters::new(frame_data, 64 << 20);
        let settings = ServerSettings {
            server_side_id: SERVER_ID.into(),
            target: Target {
                host: "127.0.0.1".into(),
                port: 22,
            },
            allow: AllowList::default(),
            beacon: setup.beacon,
            max_sessions: setup.server_max_sessions,
            psk: psk.clone(),
        };
        // One nonce per process: per start time here.
        let mut nonce = [7; 16];
        nonce[..8].copy_from_slice(&started_ns.to_be_bytes());
        let own = Announcement { nonce, started_ns };
        Pair {
            broker: MemBroker::default(),
            now,
            client: ClientRouter::new(
                SERVER_ID,
                topics(keyed),
                psk.clone(),
                setup.client_max_sessions,
                client_counters.clone(),
                now,
            ),
            server: ServerRouter::new(settings, topics(keyed), server_counters.clone(), own, now),
            clients: HashMap::new(),
            servers: HashMap::new(),
            ended: Vec::new(),
            stopped: None,
            client_counters,
            server_counters,
            up: [false; 2],
            config: session_config(),
            psk,
            topics: topics(keyed),
            next_id: 0,
        }
    }

    /// Both sides connect (or reconnect) and subscribe as the shell has
    /// its broker connection do.
    pub fn connect(&mut self) {
        self.connect_server();
        self.connect_client();
    }

    /// The server side (re)connects: its filters, then the router's turn.
    pub fn connect_server(&mut self) {
        self.broker.connect(SERVER);
        self.broker.subscribe(SERVER, &self.topics.server_filter());
        self.broker.subscribe(SERVER, &self.topics.instance());
        self.up[1] = true;
        if self.server.link_up(self.now) {
            for end in self.servers.values_mut() {
                end.core.link_restored(self.now);
            }
        }
        self.flush();
    }

    /// The client side (re)connects, its sessions' topics restored.
    pub fn connect_client(&mut self) {
        self.broker.connect(CLIENT);
        self.broker.subscribe(CLIENT, &self.topics.instance());
        for id in self.clients.keys() {
            let topic = self.topics.session(id, Direction::ToClient);
            self.broker.subscribe(CLIENT, &topic);
        }
        self.up[0] = true;
        if self.client.link_up(self.now) {
            for end in self.clients.values_mut() {
                end.core.link_restored(self.now);
            }
        }
    }

    /// Both links drop: what the sides publish meanwhile is lost.
    pub fn disconnect(&mut self) {
        self.up = [false, false];
        self.client.link_down();
        self.server.link_down();
    }

    /// A local connection to the client side: its session, if admitted.
    pub fn open(&mut self, remote_config: Option<RemoteConfig>) -> Option<SessionId> {
        if !self.client.admit_local(self.now) {
            return None;
        }
        self.next_id += 1;
        // [n; 16] for the first 255 sessions, distinct beyond.
        let mut bytes = [self.next_id as u8; 16];
        bytes[1] ^= (self.next_id >> 8) as u8;
        let id = SessionId::from_random(bytes);
        let server = self.client_counters.server_challenge.get();
        let channel = self.psk.as_ref().map(|psk| {
            let mut channel = Channel::client(psk, &id).expect("random");
            if let Some(challenge) = server {
                channel.bind_to(challenge);
            }
            channel
        });
        let mut core = Session::new(Role::Client { remote_config }, self.config, self.now);
        if channel.is_some() {
            core.hold_data_until_answered();
        }
        self.broker
            .subscribe(CLIENT, &self.topics.session(&id, Direction::ToClient));
        let out_topic = self.topics.session(&id, Direction::ToServer);
        let slot = Slot::take(&self.client_counters);
        self.clients
            .insert(id, End::new(core, channel, slot, out_topic));
        self.client.common_mut().insert(id, ());
        Some(id)
    }

    /// Publishes what the routers queued.
    fn flush(&mut self) {
        if self.up[0] {
            let _ = flush(self.client.common_mut(), &self.broker.link(CLIENT));
        }
        if self.up[1] {
            let _ = flush(self.server.common_mut(), &self.broker.link(SERVER));
        }
    }

    /// One round: sessions transmit, the broker delivers, routers decide.
    pub fn step(&mut self) {
        let now = self.now;
        let limit = [
            self.client_counters.frame_limit.get(),
            self.server_counters.frame_limit.get(),
        ];
        for (side, ends) in [&mut self.clients, &mut self.servers]
            .into_iter()
            .enumerate()
        {
            for end in ends.values_mut() {
                drive(end, limit[side], now);
                transmit(end, &self.broker, side_id(side), self.up[side], now);
            }
        }
        self.reap();
        self.deliver_to_server();
        self.deliver_to_client();
        self.flush();
    }

    /// Sessions whose core is done leave their router.
    fn reap(&mut self) {
        let now = self.now;
        for (id, end) in &mut self.clients {
            if let Some(reason) = end.closed.filter(|_| !end.recorded) {
                end.recorded = true;
                self.ended.push((*id, reason));
            }
        }
        for id in done_ids(&self.clients) {
            self.clients.remove(&id);
            self.broker
                .unsubscribe(CLIENT, &self.topics.session(&id, Direction::ToClient));
            self.client.session_done(&id, now);
        }
        for id in done_ids(&self.servers) {
            self.servers.remove(&id);
            self.server.session_done(&id, now);
        }
    }

    fn deliver_to_server(&mut self) {
        while let Some(m) = self.broker.take(SERVER) {
            let msg = Message {
                topic: &m.topic,
                payload: &m.payload,
                retain: m.retain,
            };
            match self.server.handle_message(&msg, self.now) {
                ServerAction::None => {}
                ServerAction::Deliver(id) => {
                    if let Some(end) = self.servers.get_mut(&id) {
                        receive(end, &m.payload, &self.server_counters, self.now);
                    }
                }
                ServerAction::Open(opening) => self.serve(*opening),
                ServerAction::Stop(twin) => self.stopped = Some(twin),
            }
        }
    }

    /// Starts the server session the router admitted (its target answers
    /// at once, and echoes).
    fn serve(&mut self, opening: Opening) {
        let Opening {
            id,
            frame,
            channel,
            permitted,
            slot,
            pending,
            ..
        } = opening;
        let mut core = Session::new(Role::Server, self.config, self.now);
        if let Ok(frame) = decode(&frame) {
            core.handle_frame(&frame, self.now);
        }
        if !permitted {
            core.abort_with(AbortCode::TargetNotAllowed);
        }
        let out_topic = self.topics.session(&id, Direction::ToClient);
        let mut end = End::new(core, channel, slot, out_topic);
        end.pending = pending;
        end.echo = true;
        self.servers.insert(id, end);
        self.server.common_mut().insert(id, ());
    }

    fn deliver_to_client(&mut self) {
        while let Some(m) = self.broker.take(CLIENT) {
            let msg = Message {
                topic: &m.topic,
                payload: &m.payload,
                retain: m.retain,
            };
            match self.client.handle_message(&msg, self.now) {
                ClientAction::None => {}
                ClientAction::Deliver(id) => {
                    if let Some(end) = self.clients.get_mut(&id) {
                        receive(end, &m.payload, &self.client_counters, self.now);
                    }
                }
                ClientAction::ServerAnnounced(a, challenge) => {
                    for end in self.clients.values_mut() {
                        if end
                            .channel
                            .as_mut()
                            .is_some_and(|c| c.announced(a, challenge))
                        {
                            end.core.abort_with(AbortCode::Stopping);
                        }
                    }
                }
            }
        }
    }

    /// Moves virtual time on by `by`, firing what is due.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        for end in self.clients.values_mut().chain(self.servers.values_mut()) {
            end.core.handle_timeout(now);
        }
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        if self.server.poll_timeout().is_some_and(|t| t <= now) {
            self.server.handle_timeout(now);
        }
        self.flush();
    }

    /// Steps for `span` of virtual time.
    pub fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        while self.now < until {
            self.step();
            self.advance(TICK);
        }
        self.step();
    }

    /// Steps until `done` holds, at most `span` of virtual time.
    pub fn run_until(&mut self, span: Duration, mut done: impl FnMut(&Pair) -> bool) -> bool {
        let until = self.now + span;
        while self.now < until {
            self.step();
            if done(self) {
                return true;
            }
            self.advance(TICK);
        }
        false
    }
}

fn side_id(side: usize) -> usize {
    if side == 0 {
        CLIENT
    } else {
        SERVER
    }
}

fn done_ids(ends: &HashMap<SessionId, End>) -> Vec<SessionId> {
    ends.iter()
        .filter(|(_, e)| e.core.is_done())
        .map(|(id, _)| *id)
        .collect()
}

/// The local peer's part: send, finish, receive, echo; the core's events.
fn drive(end: &mut End, frame_limit: usize, now: Instant) {
    let overhead = if end.channel.is_some() {
        crate::secure::channel::SEALED_OVERHEAD
    } else {
        0
    };
    end.core
        .set_frame_limit(frame_limit.saturating_sub(overhead));
    if let Some(slot) = &end.slot {
        end.core.set_buffer_share(slot.share());
    }
    let data = end.core.deliverable().to_vec();
    if !data.is_empty() {
        end.core.consume(data.len(), now);
        if end.echo {
            end.to_send.extend_from_slice(&data);
        }
        end.received.extend_from_slice(&data);
    }
    while end.core.wants_data() && !end.to_send.is_empty() {
        let n = end.core.push_data(&end.to_send, now);
        if n == 0 {
            break;
        }
        end.to_send.drain(..n);
    }
    if end.finish && end.to_send.is_empty() && !end.finished {
        end.finished = true;
        end.core.local_eof();
    }
    while let Some(event) = end.core.poll_event() {
        match event {
            Event::PeerEof if end.echo => end.finish = true,
            Event::PeerEof => {}
            Event::Closed(reason) => {
                end.closed = Some(reason);
                end.slot = None;
                end.pending = None;
            }
        }
    }
    if end.channel.as_ref().is_some_and(Channel::is_confirmed) {
        end.pending = None;
    }
}

/// Publishes every frame the core has ready (sealed if keyed); lost while
/// the side's link is down.
fn transmit(end: &mut End, broker: &MemBroker, from: usize, up: bool, now: Instant) {
    loop {
        let mut buf = Vec::new();
        let prefix = end.channel.as_ref().map_or(0, Channel::prefix_len);
        let mut out = AfterPrefix(&mut buf, prefix);
        out.clear();
        if !end.core.poll_transmit(now, &mut out) {
            return;
        }
        if let Some(channel) = &mut end.channel {
            assert!(channel.seal(&mut buf), "a counter ran out");
        }
        if up {
            broker.publish(from, &end.out_topic, &buf, false);
        }
    }
}

/// A payload from the peer: opened if sealed (counted if it does not open,
/// as the shell does), then to the core.
fn receive(end: &mut End, payload: &[u8], counters: &Counters, now: Instant) {
    let mut plain = Vec::new();
    let bytes = match &mut end.channel {
        None => payload,
        Some(channel) => match channel.open(payload, &mut plain) {
            Ok(()) => &plain[..],
            Err(_) => {
                counters.rejected.set(counters.rejected.get() + 1);
                return;
            }
        },
    };
    if let Ok(frame) = decode(bytes) {
        end.core.handle_frame(&frame, now);
    }
}
