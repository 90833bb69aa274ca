//! Server side: routes frames from the broker to session tasks, creates a
//! session (and dials the target) for each new session id, and publishes
//! beacons when asked to.

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
use super::session_task::{self, Outbox, Sealing, SessionIo, Slot};
use super::tombstones::Tombstones;
use super::twins::{Twins, Verdict};
use super::RunError;
use super::{inbox_bytes, inbox_capacity, session_config};
use crate::config::{Config, BEACON_PERIOD};
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::{self, decode, flags, RemoteConfig};
use crate::protocol::instance::{self, Announcement};
use crate::protocol::topic::{Direction, Incoming, SessionId, Topics};
use crate::reliable::session::{Role, Session, SessionConfig};
use crate::secure::channel::Channel;
use crate::secure::psk::Psk;
use crate::secure::signed::{self, Signed};
use crate::targets::{AllowList, Requested};

/// How long dialing the target may take before the session is refused.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Where new sessions connect to by default.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
}

impl Target {
    /// The host and port a session dials: the client's request, if any,
    /// over the defaults.
    fn resolve(&self, remote: Option<RemoteConfig>) -> (String, u16) {
        let remote = remote.unwrap_or_default();
        (
            remote.ip.map_or(self.host.clone(), |ip| ip.to_string()),
            remote.port.unwrap_or(self.port),
        )
    }

    /// True if the session may dial `host:port`: the defaults always, any
    /// other target only through an `--allow-remote` rule.
    fn permits(
        &self,
        host: &str,
        port: u16,
        remote: Option<RemoteConfig>,
        allow: &AllowList,
    ) -> bool {
        (host == self.host && port == self.port)
            || allow.permits(&Requested {
                host,
                ip: remote.and_then(|r| r.ip),
                port,
            })
    }
}

enum Wake {
    Inbound(Option<Inbound>),
    Done(Option<SessionId>),
    Beacon,
    Report,
    Stop,
}

/// Runs the server side until the broker handle goes away.
pub async fn run(
    ex: Rc<LocalExecutor<'static>>,
    config: &Config,
    broker: Broker,
    inbound: Receiver<Inbound>,
    stop: Receiver<()>,
) -> Result<(), RunError> {
    let crate::config::Mode::Server {
        target_host,
        target_port,
        beacon,
        allow_remote,
    } = &config.mode
    else {
        return Err(RunError::Failed(
            "internal: server::run outside server mode".into(),
        ));
    };
    let target = Target {
        host: target_host.clone(),
        port: *target_port,
    };
    let topics =
        Topics::new(&config.topic_prefix, &config.server_side_id).with_key(config.psk.is_some());
    let psk = super::scoped_psk(config);
    // Sealed sessions whose client has not proven its key yet.
    let unconfirmed = Rc::new(std::cell::Cell::new(0usize));
    // Payloads of open sessions that did not open (see Sealing).
    let rejected = Rc::new(std::cell::Cell::new(0u64));
    let beacon_topic = topics.beacon();
    let instance_topic = topics.instance();
    let own = announcement();
    let mut twins = Twins::new(own);
    let session_config = session_config(config);
    let (done_tx, done_rx) = channel::unbounded::<SessionId>();
    let mut sessions: HashMap<SessionId, InboxSender> = HashMap::new();
    let mut tombstones = Tombstones::default();
    let mut refusals = Refusals::new(Instant::now());
    // Sessions carrying a connection (lingering ones excepted: see Slot).
    let in_use = Rc::new(std::cell::Cell::new(0));
    let frame_limit = super::initial_frame_limit(config);
    let mut link_up = false;
    let mut was_up = false;
    let mut next_beacon = Instant::now();
    log::info!(
        "server side '{}' forwarding to {}:{} (beacon {}; other targets: {})",
        config.server_side_id,
        target.host,
        target.port,
        if *beacon { "on" } else { "off" },
        if allow_remote.is_empty() {
            "none".to_owned()
        } else {
            allow_remote.to_string()
        }
    );
    loop {
        let beacon_due = *beacon && link_up;
        let report_at = refusals.next_report();
        let wake = or(
            async { Wake::Inbound(inbound.recv().await.ok()) },
            or(
                async {
                    let _ = stop.recv().await;
                    Wake::Stop
                },
                or(
                    async { Wake::Done(done_rx.recv().await.ok()) },
                    or(
                        async {
                            super::sleep_until(beacon_due.then_some(next_beacon)).await;
                            Wake::Beacon
                        },
                        async {
                            super::sleep_until(report_at).await;
                            Wake::Report
                        },
                    ),
                ),
            ),
        )
        .await;
        refusals.take_count(Refusal::Unauthenticated, &rejected);
        match wake {
            Wake::Inbound(None) | Wake::Done(None) => return Ok(()),
            Wake::Done(Some(id)) => {
                sessions.remove(&id);
                tombstones.bury(id);
            }
            Wake::Beacon => {
                broker.try_publish(
                    &beacon_topic,
                    signed_if_keyed(config, psk.as_ref(), BEACON, frame::beacon()),
                );
                next_beacon = Instant::now() + BEACON_PERIOD;
            }
            Wake::Report => refusals.report(Instant::now()),
            Wake::Stop => {
                // The announcement stays retained: the next process with
                // this id ignores it at its first connect (see twins.rs).
                // Clearing it with an empty retained message is what MQTT
                // provides, but mosquitto 2.0.11 then drops the connection
                // ("out of memory"), losing the abort frames queued behind.
                super::stop_sessions(sessions.values(), &broker, &inbound).await;
                return Ok(());
            }
            Wake::Inbound(Some(Inbound::Up)) => {
                link_up = true;
                broker.try_publish_retained(
                    &instance_topic,
                    announce(config, psk.as_ref(), twins.connected()),
                );
                next_beacon = Instant::now();
                if was_up {
                    for tx in sessions.values() {
                        let _ = tx.try_send(ToSession::LinkRestored);
                    }
                }
                was_up = true;
            }
            Wake::Inbound(Some(Inbound::Down(_))) => link_up = false,
            Wake::Inbound(Some(Inbound::Stopped)) => return Ok(()),
            Wake::Inbound(Some(Inbound::FrameLimit(n))) => frame_limit.set(n),
            Wake::Inbound(Some(Inbound::Oversized(n))) => {
                refusals.note_many(Refusal::Oversized, n as u64, Instant::now());
            }
            Wake::Inbound(Some(Inbound::Message(p))) if p.topic == instance_topic => {
                // With a key, only announcements made with it, and published
                // since this process started, count: no one else can make
                // this side stop, nor replay a recorded announcement.
                let body = match &psk {
                    Some(psk) => match signed::classify(
                        Some(psk),
                        &config.server_side_id,
                        INSTANCE,
                        instance::KEYED_LEN,
                        &p.payload,
                    ) {
                        Signed::Ours(body)
                            if instance::published_ns(body).is_some_and(|t| {
                                t.saturating_add(CLOCK_SKEW_NS) >= own.started_ns
                            }) =>
                        {
                            &body[..instance::LEN]
                        }
                        _ => continue,
                    },
                    None => match signed::classify(
                        None,
                        &config.server_side_id,
                        INSTANCE,
                        instance::LEN,
                        &p.payload,
                    ) {
                        Signed::Plain(body) => body,
                        _ => continue,
                    },
                };
                match twins.received(body) {
                    Verdict::Nothing => {}
                    Verdict::KeepServing(other) => log::warn!(
                        "another server side with id '{}' (started {}) connects to this broker \
                         too, which hands the connection to each in turn; this one started \
                         first and keeps serving, the other one stops",
                        config.server_side_id,
                        started_words(&other)
                    ),
                    Verdict::Stop(other) => {
                        return Err(RunError::Twin(format!(
                            "another server side with id '{}' (started {}, before this one) is \
                             connected to the broker: stopping this one; run only one server \
                             side per --server-side-id",
                            config.server_side_id,
                            started_words(&other)
                        )))
                    }
                }
            }
            Wake::Inbound(Some(Inbound::Message(p))) => {
                let Some(Incoming::Session(id, Direction::ToServer)) = topics.parse(&p.topic)
                else {
                    log::debug!("ignoring message on topic {}", p.topic);
                    continue;
                };
                if p.retain {
                    // Delivered because we subscribed, not sent now.
                    refusals.note(Refusal::Retained, Instant::now());
                    continue;
                }
                if let Some(tx) = sessions.get(&id) {
                    // Never wait on a session: a full inbox drops the frame
                    // like a lossy link would, and retransmission recovers.
                    let _ = tx.try_send(ToSession::Frame(p));
                    continue;
                }
                let now = Instant::now();
                // With a key, only an authentic HELLO opens a session: any
                // other payload for an unknown id is dropped unanswered (an
                // answer would be an oracle, and an amplifier).
                let (plain, sealing) = match &psk {
                    Some(psk) => {
                        if tombstones.contains(&id) {
                            continue;
                        }
                        let mut plain = Vec::new();
                        match Channel::accept(psk, &id, &p.payload, &mut plain) {
                            Ok(channel) => (plain, Some(Sealing::new(channel, rejected.clone()))),
                            Err(_) => {
                                refusals.note(Refusal::Unauthenticated, now);
                                continue;
                            }
                        }
                    }
                    None => (p.payload.to_vec(), None),
                };
                let Ok(frame) = decode(&plain) else {
                    log::debug!("session {id}: dropping undecodable frame");
                    refusals.note(Refusal::Undecodable, now);
                    continue;
                };
                if frame.header.has(flags::BEACON) || frame::is_close(&frame.header) {
                    continue;
                }
                let ended = tombstones.contains(&id);
                if ended || !frame::opens_session(&frame.header) {
                    // The peer still thinks the session is alive: it ended
                    // here (a straggler: expected, not counted), or this
                    // process restarted since. Never dial.
                    log::debug!("session {id}: unknown or ended, answering with an abort");
                    if !ended {
                        refusals.note(Refusal::UnknownSession, now);
                    }
                    if sealing.is_none() && refusals.may_answer(now) {
                        broker.try_publish(
                            &topics.session(&id, Direction::ToClient),
                            frame::encode(&frame::close_header(), None, &[]),
                        );
                    }
                    continue;
                }
                let (host, port) = target.resolve(frame.remote_config);
                let permitted = target.permits(&host, port, frame.remote_config, allow_remote);
                if !permitted {
                    // One line names the target; more within the report
                    // period are only counted.
                    if refusals.count(Refusal::TargetNotAllowed) == 0 {
                        log::warn!(
                            "session {id}: refused to dial {host}:{port} for a client: not \
                             this server side's target, and no --allow-remote rule allows it"
                        );
                    }
                    refusals.note(Refusal::TargetNotAllowed, now);
                    if sealing.is_none() {
                        // Refused without a session: every retransmission
                        // of the opening frame gets the same answer.
                        if refusals.may_answer(now) {
                            broker.try_publish(
                                &topics.session(&id, Direction::ToClient),
                                frame::close_frame(AbortCode::TargetNotAllowed),
                            );
                        }
                        continue;
                    }
                    // Sealed: the abort must be sealed too, by a session.
                }
                let unconfirmed_cap = (config.tuning.max_sessions / 4).clamp(1, MAX_UNCONFIRMED);
                if in_use.get() >= config.tuning.max_sessions
                    || (sealing.is_some() && unconfirmed.get() >= unconfirmed_cap)
                {
                    // Dropped: the client retries, then times out.
                    log::debug!("session {id}: refused, {} sessions open", in_use.get());
                    refusals.note(Refusal::SessionLimit, now);
                    continue;
                }
                let pending = sealing.is_some().then(|| Pending::new(&unconfirmed));
                let (tx, rx) = inbox::inbox(
                    inbox_capacity(&session_config),
                    inbox_bytes(config, &in_use),
                );
                sessions.insert(id, tx);
                let task = serve(
                    id,
                    Opening {
                        frame: plain,
                        target: target.clone(),
                        permitted,
                    },
                    session_config,
                    SessionTaskLinks {
                        inbox: rx,
                        out: Outbox::new(
                            broker.clone(),
                            topics.session(&id, Direction::ToClient),
                            session_config.frame_data,
                            sealing,
                        ),
                        done: done_tx.clone(),
                        slot: Slot::take(&in_use, config.tuning.max_buffer_memory),
                        frame_limit: frame_limit.clone(),
                        pending,
                    },
                );
                ex.spawn(task).detach();
            }
        }
    }
}

/// Labels of the tags of beacons and announcements (see [`signed`]).
pub const BEACON: &[u8] = b"beacon";
pub const INSTANCE: &[u8] = b"instance";

/// How far apart the clocks of two server sides with one id may be for a
/// keyed announcement to count as fresh.
const CLOCK_SKEW_NS: u64 = 60_000_000_000;

/// This process's announcement to publish: with a key, with the time of
/// publishing and tagged.
fn announce(config: &Config, psk: Option<&Psk>, announcement: Vec<u8>) -> Vec<u8> {
    match psk {
        Some(psk) => signed::sign(
            psk,
            &config.server_side_id,
            INSTANCE,
            instance::with_published(announcement, instance::now_ns()),
        ),
        None => announcement,
    }
}

/// `payload`, tagged with the key if there is one.
fn signed_if_keyed(config: &Config, psk: Option<&Psk>, label: &[u8], payload: Vec<u8>) -> Vec<u8> {
    match psk {
        Some(psk) => signed::sign(psk, &config.server_side_id, label, payload),
        None => payload,
    }
}

/// This process's announcement: a random nonce and its start time.
fn announcement() -> Announcement {
    let mut nonce = [0u8; 16];
    // Without randomness the nonce is all zeros: the start time still tells
    // two processes apart almost always.
    let _ = getrandom::fill(&mut nonce);
    Announcement {
        nonce,
        started_ns: instance::now_ns(),
    }
}

/// When the process of `a` started, as "N s ago" (or "later" for a clock
/// ahead of ours).
fn started_words(a: &Announcement) -> String {
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    match now_ns.checked_sub(a.started_ns) {
        Some(ago) => format!("{} s ago", ago / 1_000_000_000),
        None => "by a clock ahead of this one".to_owned(),
    }
}

struct SessionTaskLinks {
    inbox: inbox::Inbox,
    out: Outbox,
    done: Sender<SessionId>,
    slot: Slot,
    frame_limit: Rc<std::cell::Cell<usize>>,
    /// Counted among the unconfirmed sessions until the client proves its
    /// key (sealed sessions).
    pending: Option<Pending>,
}

/// Sealed sessions a recorded HELLO may open (they never dial, but hold a
/// session and answer until they give up) are at most this many, and a
/// quarter of --max-sessions: replays cannot crowd out real clients.
const MAX_UNCONFIRMED: usize = 64;
/// How long a sealed session waits for its client to prove its key. A real
/// client answers within a round trip through the broker.
const UNCONFIRMED_TIMEOUT: Duration = Duration::from_secs(10);

/// One of the unconfirmed sessions, counted while held.
struct Pending(Rc<std::cell::Cell<usize>>);

impl Pending {
    fn new(count: &Rc<std::cell::Cell<usize>>) -> Pending {
        count.set(count.get() + 1);
        Pending(count.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// What opened a server session.
struct Opening {
    /// The opening frame (opened, if sealed).
    frame: Vec<u8>,
    /// The server's default target.
    target: Target,
    /// False: the client asked for a target that is not allowed; the
    /// session only tells it so (sealed sessions: see the router).
    permitted: bool,
}

/// One server session: answer at once, (sealed: wait until the client has
/// proven its key) dial the target, then forward.
async fn serve(id: SessionId, opening: Opening, config: SessionConfig, links: SessionTaskLinks) {
    let now = Instant::now();
    let mut core = Session::new(Role::Server, config, now);
    let target = opening.target;
    let (host, port) = match decode(&opening.frame) {
        Ok(frame) => {
            core.handle_frame(&frame, now);
            target.resolve(frame.remote_config)
        }
        Err(_) => (target.host.clone(), target.port),
    };
    drop(opening.frame);
    let mut links = links;
    if !opening.permitted {
        core.abort_with(AbortCode::TargetNotAllowed);
    }
    // The first answer tells the client what kind of peer this is before
    // the (possibly slow) dial completes.
    links.out.flush(&mut core, &id).await;
    let confirmed = or(
        session_task::await_confirmation(&mut core, &id, &links.inbox, &mut links.out),
        async {
            Timer::after(UNCONFIRMED_TIMEOUT).await;
            false
        },
    )
    .await;
    drop(links.pending.take());
    if !confirmed || !opening.permitted {
        let _ = links.done.send(id).await;
        return;
    }
    let dial = async {
        match async_net::TcpStream::connect((host.as_str(), port)).await {
            Ok(s) => Ok(s),
            Err(e) => Err((AbortCode::from_dial_error(&e), e.to_string())),
        }
    };
    let timeout = async {
        Timer::after(DIAL_TIMEOUT).await;
        Err((
            AbortCode::TargetUnreachable,
            format!("no answer within {}", super::words::Span(DIAL_TIMEOUT)),
        ))
    };
    match or(dial, timeout).await {
        Ok(stream) => {
            let _ = stream.set_nodelay(true);
            log::info!("session {id}: opened to {host}:{port}");
            let io = SessionIo {
                id,
                stream: LocalStream::tcp(stream),
                inbox: links.inbox,
                out: links.out,
                slot: links.slot,
                frame_limit: links.frame_limit,
                no_answer: Default::default(),
                #[cfg(feature = "stdio")]
                ended: None,
            };
            session_task::run(core, io).await;
        }
        Err((code, e)) => {
            log::warn!("session {id}: cannot connect to {host}:{port}: {e}");
            core.abort_with(code);
            links.out.flush(&mut core, &id).await;
        }
    }
    let _ = links.done.send(id).await;
}
