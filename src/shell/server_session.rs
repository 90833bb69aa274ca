//! One server session's task: answer at once, (sealed: wait until the
//! client has proven its key) dial the target, then forward.

use std::rc::Rc;
use std::time::{Duration, Instant};

use smol::channel::Sender;
use smol::future::or;
use smol::Timer;

use super::inbox::Inbox;
use super::local::LocalStream;
use super::session_task::{self, Outbox, SessionIo};
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::decode;
use crate::protocol::topic::SessionId;
use crate::reliable::session::{Role, Session, SessionConfig};
use crate::router::{Counters, Opening};

/// How long dialing the target may take before the session is refused.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a sealed session waits for its client to prove its key. A real
/// client answers within a round trip through the broker.
const UNCONFIRMED_TIMEOUT: Duration = Duration::from_secs(10);

/// What a server session task talks to, besides its opening.
pub struct Links {
    /// Frames from the router.
    pub inbox: Inbox,
    /// Where it publishes.
    pub out: Outbox,
    /// What the router shares.
    pub counters: Rc<Counters>,
    /// Told the id when the task ends.
    pub done: Sender<SessionId>,
}

/// Runs one server session to its end.
pub async fn serve(opening: Opening, config: SessionConfig, links: Links) {
    let Opening {
        id,
        frame,
        host,
        port,
        permitted,
        slot,
        pending,
        ..
    } = opening;
    let now = Instant::now();
    let mut core = Session::new(Role::Server, config, now);
    if let Ok(frame) = decode(&frame) {
        core.handle_frame(&frame, now);
    }
    drop(frame);
    let mut links = links;
    if !permitted {
        core.abort_with(AbortCode::TargetNotAllowed);
    }
    // The first answer tells the client what kind of peer this is before
    // the (possibly slow) dial completes.
    if !links.out.flush(&mut core, &id).await {
        core.abort();
    }
    let confirmed = or(
        session_task::await_confirmation(&mut core, &id, &links.inbox, &mut links.out),
        async {
            Timer::after(UNCONFIRMED_TIMEOUT).await;
            false
        },
    )
    .await;
    drop(pending);
    if confirmed && permitted {
        match dial(&host, port).await {
            Ok(stream) => {
                log::debug!("session {id}: opened to {host}:{port}");
                let io = SessionIo {
                    id,
                    stream: LocalStream::tcp(stream),
                    inbox: links.inbox,
                    out: links.out,
                    slot,
                    counters: links.counters,
                    on_end: None,
                };
                session_task::run(core, io).await;
            }
            Err((code, e)) => {
                log::warn!("session {id}: cannot connect to {host}:{port}: {e}");
                core.abort_with(code);
                // Gone: the client gives up on its own.
                let _ = links.out.flush(&mut core, &id).await;
            }
        }
    }
    let _ = links.done.send(id).await;
}

/// Dials the target within [`DIAL_TIMEOUT`]; why not, as an abort code and
/// in words.
async fn dial(host: &str, port: u16) -> Result<async_net::TcpStream, (AbortCode, String)> {
    let connect = async {
        async_net::TcpStream::connect((host, port))
            .await
            .map_err(|e| (AbortCode::from_dial_error(&e), e.to_string()))
    };
    let timeout = async {
        Timer::after(DIAL_TIMEOUT).await;
        Err((
            AbortCode::TargetUnreachable,
            format!("no answer within {}", super::words::Span(DIAL_TIMEOUT)),
        ))
    };
    let stream = or(connect, timeout).await?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
