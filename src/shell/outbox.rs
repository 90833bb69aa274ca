//! The publishing end of a session: the broker connection, the session's
//! outgoing topic, recycled payload buffers, and the keys if sealed
//! (`--psk-file`): frames are sealed on the way out and opened on the way
//! in here, so that the session task sees only plain frames.

use std::rc::Rc;
use std::time::Instant;

use bytes::BytesMut;

use super::mqtt::Broker;
use super::payload_pool::PayloadPool;
use crate::protocol::frame::{decode, flags, Frame, FrameBuf, Header, MAX_CONFIG_LEN};
use crate::protocol::instance::Announcement;
use crate::protocol::limits::HEADER_LEN;
use crate::protocol::topic::SessionId;
use crate::reliable::session::Session;
use crate::router::twins::Challenge;
use crate::router::Counters;
use crate::secure::channel::{Channel, MAX_OVERHEAD, SEALED_OVERHEAD};

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
    /// Under a broker's quota: the session's turn (see [`Turn`]).
    turn: Option<Turn>,
}

/// A frame in turn carrying stream bytes and at most this many bytes in
/// all before sealing (a few keystrokes) is taken ahead of the others.
const SPARSE_PAYLOAD: usize = 512;

/// Under a broker's quota a session has one publish at most waiting in the
/// broker connection's queue ([`Broker::publish_in_turn`]): the sessions'
/// frames take turns, and the core makes its next frame (with its newest
/// acknowledgement) only when the last one was taken.
struct Turn {
    tx: smol::channel::Sender<()>,
    rx: smol::channel::Receiver<()>,
    /// A publish is waiting to be taken.
    waiting: bool,
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
            turn: None,
        }
    }

    /// Publishes in turn with the other sessions (under a broker's quota).
    pub fn take_turns(mut self) -> Outbox {
        let (tx, rx) = smol::channel::bounded(1);
        self.turn = Some(Turn {
            tx,
            rx,
            waiting: false,
        });
        self
    }

    /// Waits until the publish waiting for its turn has been taken (never,
    /// if none is waiting); then the session may publish again.
    pub async fn turn_back(&self) {
        match &self.turn {
            Some(turn) if turn.waiting => {
                let _ = turn.rx.recv().await;
            }
            _ => smol::future::pending().await,
        }
    }

    /// Whether a publish is waiting for its turn: what the core has ready
    /// (an acknowledgement, a heartbeat) waits too.
    pub fn waiting_for_turn(&self) -> bool {
        self.turn.as_ref().is_some_and(|t| t.waiting)
    }

    /// The publish waiting for its turn was taken (after [`Self::turn_back`]).
    pub fn turn_returned(&mut self) {
        if let Some(turn) = &mut self.turn {
            turn.waiting = false;
        }
    }

    /// A newer server process announced itself: true if this session's
    /// own server process is gone (see `Channel::announced`).
    pub fn server_announced(&mut self, a: Announcement, challenge: Option<Challenge>) -> bool {
        self.sealing
            .as_mut()
            .is_some_and(|s| s.channel.announced(a, challenge))
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
    #[must_use = "false: the broker connection is gone"]
    pub async fn flush(&mut self, core: &mut Session, id: &SessionId) -> bool {
        loop {
            if self.waiting_for_turn() && !core.close_due() {
                return true;
            }
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
            // In turn only (not on the fast path): stream bytes, not only an
            // acknowledgement or a heartbeat; a small one (typing) goes
            // ahead of frames in turn, a transfer's acknowledgement waits.
            let sparse = self.turn.is_some()
                && buf.len() <= SPARSE_PAYLOAD
                && buf
                    .get(prefix..prefix + HEADER_LEN)
                    .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
                    .is_some_and(|h| !Header::read(h).has(flags::NO_DATA));
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
            let published = match &mut self.turn {
                None => self.broker.publish(&self.topic, payload).await,
                Some(turn) => {
                    // A turn returned late (after a close frame went out of
                    // turn) is not taken for the next one's.
                    while turn.rx.try_recv().is_ok() {}
                    turn.waiting = true;
                    let tx = turn.tx.clone();
                    self.broker
                        .publish_in_turn(&self.topic, payload, tx, sparse)
                        .await
                }
            };
            if published.is_err() {
                return false;
            }
        }
    }
}

/// One trace line per frame (`-vv`).
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
