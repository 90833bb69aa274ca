//! What both routers' loops do alike: wait for the next input, hand the
//! broker connection's reports to the router, deliver frames to sessions,
//! and publish what the router queued.

use std::future::Future;
use std::time::Instant;

use rumqttc::Publish;
use smol::channel::Receiver;
use smol::future::or;
use smol::Timer;

use super::inbox::{InboxSender, ToSession};
use super::mqtt::{Broker, Inbound};
use crate::protocol::topic::SessionId;
use crate::router::{self, LinkError, Message, Router};

/// Why a router's loop woke up.
pub enum Wake<L> {
    /// The broker connection reported something (`None`: it is gone).
    Inbound(Option<Inbound>),
    /// A session's task ended (`None`: every sender is gone).
    Done(Option<SessionId>),
    /// A signal asked for the graceful stop.
    Stop,
    /// The router's deadline passed.
    Timer,
    /// The side's own source (the client's listener).
    Local(L),
}

/// The inputs of a router's loop.
pub struct Inputs {
    /// From the broker connection.
    pub inbound: Receiver<Inbound>,
    /// Ids of sessions whose task ended.
    pub done: Receiver<SessionId>,
    /// The graceful stop.
    pub stop: Receiver<()>,
}

impl Inputs {
    /// Waits for the next input: the side's own `local` source first, then
    /// the broker, the stop, ended sessions, and the router's `deadline`.
    pub async fn next<L>(
        &self,
        deadline: Option<Instant>,
        local: impl Future<Output = L>,
    ) -> Wake<L> {
        let broker = async { Wake::Inbound(self.inbound.recv().await.ok()) };
        let stop = async {
            let _ = self.stop.recv().await;
            Wake::Stop
        };
        let done = async { Wake::Done(self.done.recv().await.ok()) };
        let timer = async {
            match deadline {
                Some(at) => {
                    Timer::at(at).await;
                }
                None => smol::future::pending().await,
            }
            Wake::Timer
        };
        let local = async { Wake::Local(local.await) };
        or(local, or(broker, or(stop, or(done, timer)))).await
    }
}

/// What is left of a broker report for the side's own rules.
pub enum Report {
    /// Handled.
    Done,
    /// A message, for the side's router.
    Message(Publish),
    /// The connection dropped; why, in words (read by `--stdio` only).
    Down(String),
    /// The broker connection has ended after a requested DISCONNECT.
    Ended,
}

/// Hands `report` to the router where both sides handle it alike.
pub fn report<R: Router<Handle = InboxSender>>(
    router: &mut R,
    report: Inbound,
    now: Instant,
) -> Report {
    match report {
        Inbound::Up => {
            if router.link_up(now) {
                for tx in router.common().handles() {
                    let _ = tx.try_send(ToSession::LinkRestored);
                }
            }
            Report::Done
        }
        Inbound::Down(why) => {
            router.link_down();
            Report::Down(why)
        }
        Inbound::FrameLimit(n) => {
            router.common_mut().frame_limit(n);
            Report::Done
        }
        Inbound::Oversized(n) => {
            router.common_mut().oversized(n as u64, now);
            Report::Done
        }
        Inbound::Stopped => Report::Ended,
        Inbound::Message(p) => Report::Message(p),
    }
}

/// The router's view of a delivered publish.
pub fn message(p: &Publish) -> Message<'_> {
    Message {
        topic: &p.topic,
        payload: &p.payload,
        retain: p.retain,
    }
}

/// Hands a frame to its session. Never waits on a session: a full inbox
/// drops the frame like a lossy link would, and retransmission recovers.
pub fn deliver<R: Router<Handle = InboxSender>>(router: &R, id: &SessionId, p: Publish) {
    if let Some(tx) = router.common().session(id) {
        let _ = tx.try_send(ToSession::Frame(p));
    }
}

/// Publishes what the router queued. A full broker queue drops the message
/// (an answer or a beacon, repeated later anyway), said once; `Err` if the
/// broker connection is gone.
pub fn publish<R: Router>(
    router: &mut R,
    broker: &Broker,
    said_full: &mut bool,
) -> Result<(), LinkError> {
    let dropped = router::flush(router.common_mut(), broker)?;
    if dropped > 0 && !std::mem::replace(said_full, true) {
        log::warn!(
            "the broker connection's queue was full: dropped {dropped} of this side's own \
             messages (answers, beacons); said once"
        );
    }
    Ok(())
}
