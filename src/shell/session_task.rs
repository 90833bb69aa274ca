//! The task that runs one tunnelled connection: it owns the session core,
//! the TCP socket and the session's inbox, and moves bytes between them.
//! All decisions are the core's; this only performs I/O and reads the clock.

use std::rc::Rc;
use std::time::Instant;

use smol::future::{or, pending};
use smol::Timer;

use super::inbox::{Inbox, ToSession};
use super::local::LocalStream;
pub use super::outbox::{Outbox, Sealing};
use super::stdio::{OnEnd, SessionEnd};
use crate::protocol::abort::AbortCode;
use crate::protocol::topic::{SessionId, Topics};
use crate::reliable::paths::{Report, MAX_PATHS};
use crate::reliable::session::{CloseReason, Event, PeerKind, Session};
use crate::router::{Counters, Slot};

/// Frames handled per wake-up before the task looks at its socket again,
/// so a burst from the broker cannot starve the TCP side.
const INBOX_BATCH: usize = 32;

/// Everything a session task talks to.
pub struct SessionIo {
    /// The session's id, for logs.
    pub id: SessionId,
    /// The local TCP connection (or stdin and stdout).
    pub stream: LocalStream,
    /// Frames from the router.
    pub inbox: Inbox,
    /// Where and how this side publishes the session's frames.
    pub out: Outbox,
    /// The session's slot, given back at close.
    pub slot: Slot,
    /// What the router shares: the largest frame the broker carries (in
    /// stream bytes, probed), what to say when the server side never
    /// answered.
    pub counters: Rc<Counters>,
    /// Told how the session ended, if anyone is (`--stdio`).
    pub on_end: Option<OnEnd>,
}

/// How a session ended, for the closing log line.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// Why it ended.
    reason: CloseReason,
    /// Stream bytes read from the local socket and sent.
    bytes_out: u64,
    /// Stream bytes received and written to the local socket.
    bytes_in: u64,
    /// Frames retransmitted.
    retransmissions: u64,
    /// Smoothed round trip through the broker, if measured.
    srtt: Option<std::time::Duration>,
    /// What the peer turned out to be.
    peer: PeerKind,
}

enum Wake {
    Inbox(Option<ToSession>),
    /// The last publish was taken: the next may go (under a quota).
    Turn,
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Timer,
}

/// The core's next deadline; while its last publish waits for its turn,
/// only those that need no frame to go (a due acknowledgement or heartbeat
/// goes when the turn comes back, which wakes the session).
fn deadline(core: &Session, out: &Outbox) -> Option<Instant> {
    if out.waiting_for_turn() {
        core.poll_timeout_held()
    } else {
        core.poll_timeout()
    }
}

/// Feeds one inbox message to the core. Returns the confirmation channel of
/// a [`ToSession::Stop`], to be answered once the abort frame is out.
pub fn deliver(
    core: &mut Session,
    out: &mut Outbox,
    id: &SessionId,
    msg: ToSession,
) -> Option<smol::channel::Sender<()>> {
    let now = Instant::now();
    match msg {
        ToSession::Frame(p) => out.deliver(core, id, &p.payload, now),
        ToSession::LinkRestored => core.link_restored(now),
        ToSession::Stop(flushed) => {
            core.abort_with(AbortCode::Stopping);
            return Some(flushed);
        }
        ToSession::ServerAnnounced(a, challenge) => {
            if out.server_announced(a, challenge) {
                log::warn!(
                    "session {id}: the server side restarted (a newer process announced \
                     itself with the key, and the one serving this session is gone): resetting"
                );
                core.abort_with(AbortCode::Stopping);
            }
        }
    }
    None
}

/// A sealed server session before it dials: runs the core without a TCP
/// connection until the client has proven its key (true), or the session
/// ends first (false: a replayed HELLO, an abandoned one, a refused target,
/// or a stop; after lingering to repeat the close). Never logs above debug:
/// a replayed HELLO is not worth a line each.
pub async fn await_confirmation(
    core: &mut Session,
    id: &SessionId,
    inbox: &Inbox,
    out: &mut Outbox,
) -> bool {
    let mut timer = Timer::never();
    let mut closed = false;
    loop {
        if !closed && out.confirmed() {
            return true;
        }
        while let Some(event) = core.poll_event() {
            if let Event::Closed(reason) = event {
                // It lingers, to answer a retransmitted HELLO with the close.
                log::debug!("session {id}: ended before the client proved its key ({reason})");
                closed = true;
            }
        }
        if core.is_done() || core.poll_timeout().is_none() {
            return false;
        }
        match deadline(core, out) {
            Some(d) => timer.set_at(d),
            None => timer = Timer::never(),
        }
        let wake = or(
            async { Wake::Inbox(inbox.recv().await) },
            or(
                async {
                    out.turn_back().await;
                    Wake::Turn
                },
                async {
                    (&mut timer).await;
                    Wake::Timer
                },
            ),
        )
        .await;
        match wake {
            Wake::Turn => out.turn_returned(),
            Wake::Inbox(None) => core.abort(),
            Wake::Inbox(Some(msg)) => {
                if let Some(flushed) = deliver(core, out, id, msg) {
                    if !out.flush(core, id).await {
                        core.abort();
                    }
                    let _ = flushed.try_send(());
                }
            }
            _ => {}
        }
        core.handle_timeout(Instant::now());
        if !out.flush(core, id).await {
            core.abort();
        }
    }
}

/// Runs the session until the core is done, logging when it closes.
pub async fn run(mut core: Session, io: SessionIo) {
    if let Some(quota) = io.counters.quota.get() {
        core.set_quota(quota);
    }
    let mut task = Task::new(io);
    loop {
        task.before_waiting(&mut core).await;
        if core.is_done() {
            return;
        }
        let wake = task.wait(&core).await;
        task.apply(&mut core, wake, Instant::now());
        core.handle_timeout(Instant::now());
    }
}

/// A running session's I/O state.
struct Task {
    id: SessionId,
    /// Both halves are closed as soon as the session closes (the session
    /// may linger on for its peer): the local peer sees the end at once.
    stream: LocalStream,
    inbox: Inbox,
    out: Outbox,
    slot: Option<Slot>,
    counters: Rc<Counters>,
    on_end: Option<OnEnd>,
    read_buf: Vec<u8>,
    write_closed: bool,
    tcp_done: bool,
    /// One timer per session, re-armed only when the deadline moves, not a
    /// new reactor registration per wake-up.
    timer: Timer,
    armed: Option<Instant>,
    /// A stop to confirm once its abort frame is out.
    stopping: Option<smol::channel::Sender<()>>,
    /// The path and window last reported to the path table (see
    /// `reliable::paths`), taken back when the session closes.
    reported: Option<(u32, usize)>,
}

impl Task {
    fn new(io: SessionIo) -> Task {
        Task {
            id: io.id,
            stream: io.stream,
            inbox: io.inbox,
            out: io.out,
            slot: Some(io.slot),
            counters: io.counters,
            on_end: io.on_end,
            read_buf: Vec::new(),
            write_closed: false,
            tcp_done: false,
            timer: Timer::never(),
            armed: None,
            stopping: None,
            reported: None,
        }
    }

    /// Publishes what the core has ready and acts on its events.
    async fn before_waiting(&mut self, core: &mut Session) {
        if let Some(slot) = &self.slot {
            core.set_buffer_share(slot.share());
        }
        let limit = self.counters.frame_limit.get();
        core.set_frame_limit(limit.saturating_sub(self.out.overhead()));
        if !self.tcp_done {
            self.share_path(core);
        }
        if !self.out.flush(core, &self.id).await {
            core.abort();
        }
        if let Some(flushed) = self.stopping.take() {
            let _ = flushed.try_send(());
        }
        while let Some(event) = core.poll_event() {
            match event {
                Event::PeerEof => {
                    self.stream.close_write().await;
                    self.write_closed = true;
                }
                Event::Closed(reason) => self.closed(core, reason).await,
            }
        }
    }

    /// Shares what the session measured of its path with the other
    /// sessions on it, and gives it what they measured (see
    /// `reliable::paths`).
    fn share_path(&mut self, core: &mut Session) {
        let Some(key) = core.path_key() else {
            return;
        };
        let report = Report {
            rtt: core.recent_rtt(),
            window: core.flow_window(),
            before: self.reported.map_or(0, |(_, w)| w),
        };
        self.reported = Some((key, report.window));
        let mut paths = self.counters.paths.borrow_mut();
        let view = paths.record(key, report, Instant::now());
        if paths.take_evicted() && !self.counters.said_paths_full.replace(true) {
            log::info!(
                "sessions from more than {MAX_PATHS} client processes at once: the least \
                 recently seen one's path measurements are forgotten (said once)"
            );
        }
        core.set_shared_base(view.base);
        core.set_path_windows(view.windows);
        core.set_path_start(view.start);
    }

    /// The session closed: the local stream too, at once; its slot and
    /// buffers are given back (it may linger a while to answer stray
    /// frames, which needs neither).
    async fn closed(&mut self, core: &Session, reason: CloseReason) {
        self.stream.close(reason.is_graceful()).await;
        self.tcp_done = true;
        log::debug!("session {}: at the end, {}", self.id, core.flow_summary());
        if let Some((key, window)) = self.reported.take() {
            self.counters
                .paths
                .borrow_mut()
                .leave(key, window, Instant::now());
        }
        drop(self.slot.take());
        self.read_buf = Vec::new();
        self.out.release_buffers();
        let unanswered = core.peer_kind() == PeerKind::Unknown;
        let no_answer = self.counters.no_answer.get().words();
        if let Some(on_end) = self.on_end.take() {
            on_end.tell(SessionEnd {
                graceful: reason.is_graceful(),
                no_answer: unanswered,
                words: if unanswered {
                    no_answer.to_owned()
                } else {
                    reason.to_string()
                },
            });
        } else if unanswered {
            log::warn!("session {}: {no_answer}", self.id);
        }
        if unanswered {
            self.counters.replies.unanswered();
        }
        let outcome = Outcome {
            reason,
            bytes_out: core.bytes_sent(),
            bytes_in: core.bytes_received(),
            retransmissions: core.retransmissions(),
            srtt: core.srtt(),
            peer: core.peer_kind(),
        };
        // A server session that carried nothing either way is counted, not
        // logged: a publisher opening and closing sessions cannot flood
        // the log (a client session is a local connection: always said).
        if core.is_server() && outcome.bytes_out == 0 && outcome.bytes_in == 0 {
            log::debug!(
                "session {}: closed ({reason}) without carrying data",
                self.id
            );
            self.counters.empty.set(self.counters.empty.get() + 1);
        } else {
            log_closed(&self.id, &outcome);
        }
    }

    /// Waits for the inbox, the local stream (as the core wants) or the
    /// core's deadline.
    async fn wait(&mut self, core: &Session) -> Wake {
        let deadline = deadline(core, &self.out);
        let chunk = core.max_chunk();
        let wants_read = core.wants_data() && !self.tcp_done;
        if wants_read && self.read_buf.len() < chunk {
            self.read_buf.resize(chunk, 0);
        }
        let to_write = if self.tcp_done || self.write_closed {
            &[][..]
        } else {
            core.deliverable()
        };
        if deadline != self.armed {
            match deadline {
                Some(d) => self.timer.set_at(d),
                None => self.timer = Timer::never(),
            }
            self.armed = deadline;
        }
        let inbox = &self.inbox;
        let out = &self.out;
        let turn_f = async {
            out.turn_back().await;
            Wake::Turn
        };
        let read_buf = &mut self.read_buf;
        let timer = &mut self.timer;
        let inbox_f = async { Wake::Inbox(inbox.recv().await) };
        let (reader, writer) = self.stream.halves();
        let read_f = async {
            match reader {
                Some(reader) if wants_read => Wake::Read(reader.read(&mut read_buf[..chunk]).await),
                _ => pending().await,
            }
        };
        let write_f = async {
            match writer {
                Some(writer) if !to_write.is_empty() => Wake::Wrote(writer.write(to_write).await),
                _ => pending().await,
            }
        };
        let timer_f = async {
            timer.await;
            Wake::Timer
        };
        or(inbox_f, or(write_f, or(read_f, or(turn_f, timer_f)))).await
    }

    /// Hands what woke the task to the core.
    fn apply(&mut self, core: &mut Session, wake: Wake, now: Instant) {
        let id = &self.id;
        match wake {
            Wake::Inbox(None) => core.abort(),
            Wake::Inbox(Some(msg)) => {
                let mut next = Some(msg);
                for _ in 0..INBOX_BATCH {
                    let Some(msg) = next.take().or_else(|| self.inbox.try_recv()) else {
                        break;
                    };
                    // Only a client session is unanswered once running (a
                    // server session's first frame is its opening): its
                    // first authentic answer tells where the server side
                    // answers this process.
                    let unanswered = core.peer_kind() == PeerKind::Unknown;
                    let on_process_topic = unanswered
                        && matches!(&msg, ToSession::Frame(p)
                            if Topics::is_instance_reply(&p.topic));
                    let stop = deliver(core, &mut self.out, id, msg);
                    if unanswered && core.peer_kind() != PeerKind::Unknown {
                        self.counters.replies.answered(on_process_topic);
                    }
                    self.stopping = self.stopping.take().or(stop);
                }
            }
            Wake::Read(Ok(0)) => core.local_eof(),
            Wake::Read(Ok(n)) => {
                // The read buffer holds at most max_chunk: all of it is taken.
                let _ = core.push_data(&self.read_buf[..n], now);
            }
            Wake::Read(Err(e)) => {
                log::debug!("session {id}: local read failed: {e}");
                core.abort();
            }
            Wake::Wrote(Ok(0)) => core.abort(),
            Wake::Wrote(Ok(n)) => core.consume(n, now),
            Wake::Wrote(Err(e)) => {
                log::debug!("session {id}: local write failed: {e}");
                core.abort();
            }
            // A fired timer stays fired: force re-arming next time round.
            Wake::Timer => self.armed = None,
            Wake::Turn => self.out.turn_returned(),
        }
    }
}

fn log_closed(id: &SessionId, outcome: &Outcome) {
    let peer = match outcome.peer {
        PeerKind::Capable => "mqtt-forward",
        PeerKind::Legacy => "C mqtt-forward",
        PeerKind::Unknown => "never answered",
    };
    let rtt = outcome.srtt.map_or("-".to_string(), |d| {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    });
    log::info!(
        "session {id}: closed ({}), {} bytes sent, {} bytes received, {} retransmissions, rtt {rtt}, peer {peer}",
        outcome.reason,
        outcome.bytes_out,
        outcome.bytes_in,
        outcome.retransmissions,
    );
}
