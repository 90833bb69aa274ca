//! The task that runs one tunnelled connection: it owns the session core,
//! the TCP socket and the session's inbox, and moves bytes between them.
//! All decisions are the core's; this only performs I/O and reads the clock.

use std::rc::Rc;
use std::time::Instant;

use smol::future::{or, pending};
use smol::Timer;

use bytes::BytesMut;

use super::inbox::{Inbox, ToSession};
use super::local::LocalStream;
use super::mqtt::Broker;
use super::payload_pool::PayloadPool;
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::{decode, Frame, FrameBuf, MAX_CONFIG_LEN};
use crate::protocol::limits::HEADER_LEN;
use crate::protocol::topic::SessionId;
use crate::reliable::session::{CloseReason, Event, PeerKind, Session};
use crate::router::{Counters, Slot};
use crate::secure::channel::{Channel, MAX_OVERHEAD, SEALED_OVERHEAD};

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

/// How a session ended, in words (for `--stdio`, whose one session is the
/// program's: it says why itself, in one line).
#[derive(Debug, Clone)]
pub struct SessionEnd {
    /// Both streams ended normally.
    pub graceful: bool,
    /// The server side never answered.
    pub no_answer: bool,
    /// Why, for a person.
    pub words: String,
}

/// Who hears how a session ended, instead of the log.
pub type OnEnd = Box<dyn FnOnce(SessionEnd)>;

/// The `--psk-file` layer of one session: its channel, the buffer frames
/// are opened into, and where payloads that did not open are counted.
pub struct Sealing {
    /// The session's keys.
    pub channel: Channel,
    /// Payloads that failed to open are counted there, for the router's
    /// refusal summary.
    counters: Rc<Counters>,
    /// The plaintext of the payload being opened (grown to one frame).
    plain: Vec<u8>,
}

impl Sealing {
    /// The layer of a session sealed with `channel`.
    pub fn new(channel: Channel, counters: Rc<Counters>) -> Sealing {
        Sealing {
            channel,
            counters,
            plain: Vec::new(),
        }
    }
}

/// The publishing end of a session: the broker connection, the session's
/// outgoing topic, the recycled payload buffers, and the keys if sealed.
pub struct Outbox {
    broker: Broker,
    topic: String,
    pool: PayloadPool,
    sealing: Option<Sealing>,
}

/// A payload buffer the core encodes its frame into after `prefix` bytes
/// kept for the sealed frame's outer header.
struct AfterPrefix<'a> {
    buf: &'a mut BytesMut,
    prefix: usize,
}

impl FrameBuf for AfterPrefix<'_> {
    fn clear(&mut self) {
        self.buf.clear();
        self.buf.resize(self.prefix, 0);
    }
    fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

impl Outbox {
    /// Publishes on `topic`, frames carrying at most `frame_data` stream
    /// bytes, sealed with `sealing` if given.
    pub fn new(
        broker: Broker,
        topic: String,
        frame_data: usize,
        sealing: Option<Sealing>,
    ) -> Outbox {
        Outbox {
            broker,
            topic,
            pool: PayloadPool::new(HEADER_LEN + MAX_CONFIG_LEN + frame_data + MAX_OVERHEAD),
            sealing,
        }
    }

    /// Bytes sealing adds to a data frame (0 without a key).
    pub fn overhead(&self) -> usize {
        self.sealing.as_ref().map_or(0, |_| SEALED_OVERHEAD)
    }

    /// True when the session is sealed and the peer has proven its key (the
    /// server side dials only then); true without a key.
    pub fn confirmed(&self) -> bool {
        self.sealing
            .as_ref()
            .is_none_or(|s| s.channel.is_confirmed())
    }

    /// Feeds one payload from the peer to the core, opening it first if
    /// sealed. A payload that does not open is counted and dropped.
    pub fn deliver(&mut self, core: &mut Session, id: &SessionId, payload: &[u8], now: Instant) {
        let bytes = match &mut self.sealing {
            None => payload,
            Some(s) => match s.channel.open(payload, &mut s.plain) {
                Ok(()) => &s.plain[..],
                Err(e) => {
                    log::debug!("session {id}: dropping a payload that does not open: {e:?}");
                    s.counters.rejected.set(s.counters.rejected.get() + 1);
                    return;
                }
            },
        };
        match decode(bytes) {
            Ok(frame) => {
                if log::log_enabled!(log::Level::Trace) {
                    log_frame(id, "rx", &frame);
                }
                core.handle_frame(&frame, now);
            }
            Err(e) => log::debug!("session {id}: dropping frame: {e}"),
        }
    }

    /// The broker connection.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Frees the payload buffers kept for reuse (the session is over).
    pub fn release_buffers(&mut self) {
        self.pool.release();
        if let Some(s) = &mut self.sealing {
            s.plain = Vec::new();
        }
    }

    /// Publishes every frame the core has ready. False if the broker handle
    /// is gone (the program is shutting down).
    pub async fn flush(&mut self, core: &mut Session, id: &SessionId) -> bool {
        loop {
            let mut buf = self.pool.take();
            let prefix = self.sealing.as_ref().map_or(0, |s| s.channel.prefix_len());
            let mut out = AfterPrefix {
                buf: &mut buf,
                prefix,
            };
            out.clear();
            if !core.poll_transmit(Instant::now(), &mut out) {
                self.pool.give_back(buf);
                return true;
            }
            if log::log_enabled!(log::Level::Trace) {
                if let Ok(frame) = decode(&buf[prefix..]) {
                    log_frame(id, "tx", &frame);
                }
            }
            if let Some(s) = &mut self.sealing {
                if !s.channel.seal(&mut buf) {
                    // A key's counter ran out (2^64 frames): never reuse a
                    // nonce; the session ends.
                    self.pool.give_back(buf);
                    core.abort();
                    return true;
                }
            }
            let payload = self.pool.lend(buf);
            if self.broker.publish(&self.topic, payload).await.is_err() {
                return false;
            }
        }
    }
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
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Timer,
}

fn log_frame(id: &SessionId, dir: &str, frame: &Frame<'_>) {
    let h = frame.header;
    let ack = h.ack.map_or("none".to_owned(), |a| a.to_string());
    log::trace!(
        "session {id}: {dir} seq {} ack {ack} flags {:#x} data {} bytes",
        h.seq,
        h.flags,
        frame.data.len()
    );
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
        let Some(deadline) = core.poll_timeout().filter(|_| !core.is_done()) else {
            return false;
        };
        timer.set_at(deadline);
        let msg = or(async { Some(inbox.recv().await) }, async {
            (&mut timer).await;
            None
        })
        .await;
        match msg {
            Some(None) => core.abort(),
            Some(Some(msg)) => {
                if let Some(flushed) = deliver(core, out, id, msg) {
                    out.flush(core, id).await;
                    let _ = flushed.try_send(());
                }
            }
            None => {}
        }
        core.handle_timeout(Instant::now());
        out.flush(core, id).await;
    }
}

/// Runs the session until the core is done, logging when it closes.
pub async fn run(mut core: Session, io: SessionIo) {
    let SessionIo {
        id,
        stream,
        inbox,
        mut out,
        slot,
        counters,
        mut on_end,
    } = io;
    let mut slot = Some(slot);
    // Both halves are closed as soon as the session closes (the session
    // may linger on for its peer): the local peer sees the end at once.
    let mut stream = stream;
    let mut read_buf = Vec::new();
    let mut write_closed = false;
    let mut tcp_done = false;
    let mut timer = Timer::never();
    let mut armed: Option<Instant> = None;
    let mut stopping: Option<smol::channel::Sender<()>> = None;
    loop {
        if let Some(slot) = &slot {
            core.set_buffer_share(slot.share());
        }
        core.set_frame_limit(counters.frame_limit.get().saturating_sub(out.overhead()));
        if !out.flush(&mut core, &id).await {
            core.abort();
        }
        if let Some(flushed) = stopping.take() {
            let _ = flushed.try_send(());
        }
        while let Some(event) = core.poll_event() {
            match event {
                Event::PeerEof => {
                    stream.close_write().await;
                    write_closed = true;
                }
                Event::Closed(reason) => {
                    stream.close(reason.is_graceful()).await;
                    tcp_done = true;
                    drop(slot.take());
                    // The session may linger a while to answer stray
                    // frames: it needs no read buffer for that.
                    read_buf = Vec::new();
                    out.release_buffers();
                    let unanswered = core.peer_kind() == PeerKind::Unknown;
                    let no_answer = counters.no_answer.get().words();
                    if let Some(tell) = on_end.take() {
                        tell(SessionEnd {
                            graceful: reason.is_graceful(),
                            no_answer: unanswered,
                            words: if unanswered {
                                no_answer.to_owned()
                            } else {
                                reason.to_string()
                            },
                        });
                    } else if unanswered {
                        log::warn!("session {id}: {no_answer}");
                    }
                    log_closed(
                        &id,
                        &Outcome {
                            reason,
                            bytes_out: core.bytes_sent(),
                            bytes_in: core.bytes_received(),
                            retransmissions: core.retransmissions(),
                            srtt: core.srtt(),
                            peer: core.peer_kind(),
                        },
                    );
                }
            }
        }
        if core.is_done() {
            return;
        }
        let deadline = core.poll_timeout();
        let chunk = core.max_chunk();
        let wants_read = core.wants_data() && !tcp_done;
        if wants_read && read_buf.len() < chunk {
            read_buf.resize(chunk, 0);
        }
        let wake = {
            let to_write = if tcp_done || write_closed {
                &[][..]
            } else {
                core.deliverable()
            };
            let inbox_f = async { Wake::Inbox(inbox.recv().await) };
            let (reader, writer) = stream.halves();
            let read_f = async {
                match reader {
                    Some(reader) if wants_read => {
                        Wake::Read(reader.read(&mut read_buf[..chunk]).await)
                    }
                    _ => pending().await,
                }
            };
            let write_f = async {
                match writer {
                    Some(writer) if !to_write.is_empty() => {
                        Wake::Wrote(writer.write(to_write).await)
                    }
                    _ => pending().await,
                }
            };
            if deadline != armed {
                // Re-arm only when the deadline moved: one timer per session,
                // not a new reactor registration per wake-up.
                match deadline {
                    Some(d) => timer.set_at(d),
                    None => timer = Timer::never(),
                }
                armed = deadline;
            }
            let timer_f = async {
                (&mut timer).await;
                Wake::Timer
            };
            or(inbox_f, or(write_f, or(read_f, timer_f))).await
        };
        let now = Instant::now();
        match wake {
            Wake::Inbox(None) => core.abort(),
            Wake::Inbox(Some(msg)) => {
                stopping = stopping.or(deliver(&mut core, &mut out, &id, msg));
                for _ in 1..INBOX_BATCH {
                    match inbox.try_recv() {
                        Some(msg) => stopping = stopping.or(deliver(&mut core, &mut out, &id, msg)),
                        None => break,
                    }
                }
            }
            Wake::Read(Ok(0)) => core.local_eof(),
            Wake::Read(Ok(n)) => {
                // The read buffer holds at most max_chunk: all of it is taken.
                let _ = core.push_data(&read_buf[..n], now);
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
            Wake::Timer => armed = None,
        }
        core.handle_timeout(now);
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
