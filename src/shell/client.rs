//! Client side: the loop around the client router. It accepts local
//! connections (or carries one session over stdin and stdout), hands the
//! broker's messages to the router and does what the router decides:
//! admit a connection, deliver a frame to its session, reset every session.

use std::rc::Rc;
use std::time::{Duration, Instant};

use smol::channel::Receiver;
use smol::{LocalExecutor, Timer};

use super::dispatch::{self, Inputs, Report, Wake};
use super::factory::{self, SessionFactory};
use super::inbox::InboxSender;
use super::local::LocalStream;
use super::mqtt::{Broker, Inbound};
use super::stdio::{SessionEnd, Single};
use super::{ListenError, RunError};
use crate::config::Config;
use crate::protocol::instance::Announcement;
use crate::router::twins::Challenge;
use crate::router::{ClientAction, ClientRouter, Router};

/// Pause after a failed accept (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Where the client side's sessions come from.
pub enum Local {
    /// `-p`: one session per accepted connection.
    Listener(async_net::TcpListener),
    /// `--stdio`: one session, whose end (told here) ends the program.
    /// (Without `stdio`, [`Single`] has no values.)
    #[cfg_attr(not(feature = "stdio"), allow(dead_code))]
    Single(Single),
}

/// What the local source gave.
pub enum Arrival {
    /// A connection was accepted.
    Connection(async_net::TcpStream, std::net::SocketAddr),
    /// Accepting failed.
    Failed(std::io::Error),
    /// The one session ended.
    Ended(SessionEnd),
}

impl Local {
    /// The next arrival (never, once the one session's end was told).
    async fn next(&self) -> Arrival {
        match self {
            Local::Listener(listener) => match listener.accept().await {
                Ok((stream, peer)) => Arrival::Connection(stream, peer),
                Err(e) => Arrival::Failed(e),
            },
            Local::Single(single) => Arrival::Ended(single.ended().await),
        }
    }
}

/// Binds the listener of `-a`/`-p`.
pub async fn listen(host: &str, port: u16, server_side_id: &str) -> Result<Local, RunError> {
    let failed = |error| {
        RunError::Listen(ListenError {
            host: host.to_owned(),
            port,
            error,
        })
    };
    let listener = async_net::TcpListener::bind((host, port))
        .await
        .map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    log::info!("client side listening on {local}, forwarding to server side '{server_side_id}'");
    Ok(Local::Listener(listener))
}

/// Runs the client side, listening on `listen_on` (`None`: `--stdio`),
/// until the broker connection ends, a signal stops it, or (`--stdio`) its
/// one session ends.
pub async fn run(
    ex: Rc<LocalExecutor<'static>>,
    config: &Config,
    listen_on: Option<(&str, u16)>,
    broker: Broker,
    inbound: Receiver<Inbound>,
    stop: Receiver<()>,
) -> Result<(), RunError> {
    let (sessions, counters, done) = SessionFactory::start(ex, broker.clone(), config);
    // A server side of this program answers every session of this process
    // on one topic (`router::replies`): subscribed once, before any session.
    let topics = factory::topics(config).with_instance(counters.instance);
    if broker
        .subscribe(&topics.instance_filter_for(counters.instance))
        .await
        .is_err()
    {
        log::debug!("the broker connection is gone");
    }
    let mut router: ClientRouter<InboxSender> = ClientRouter::new(
        &config.server_side_id,
        topics,
        factory::scoped_psk(config),
        config.tuning.max_sessions,
        counters,
        Instant::now(),
    );
    if let Some(limit) = config.broker.max_subscriptions {
        // The server side's announcement, the process's reply topic, and
        // the size probe's topic unless --frame-size is given.
        let permanent = 2 + usize::from(config.tuning.probe_frame_size);
        router.set_subscription_limit(limit, permanent);
    }
    let local = match listen_on {
        None => {
            let (stdin, stdout, on_end, single) = super::stdio::open()?;
            let stream = LocalStream::pipes(stdin, stdout);
            let started = sessions.start_client(stream, "stdin/stdout", Some(on_end));
            let (id, handle) = started
                .await
                .ok_or_else(|| RunError::Session("no session could be started".into()))?;
            router.common_mut().insert(id, handle);
            Local::Single(single)
        }
        Some((host, port)) => listen(host, port, &config.server_side_id).await?,
    };
    let inputs = Inputs {
        inbound,
        done,
        stop,
    };
    // Why the broker is unreachable, for the --stdio session's last line.
    let mut broker_down: Option<String> = None;
    let mut said_full = false;
    loop {
        let wake = inputs.next(router.poll_timeout(), local.next()).await;
        let now = Instant::now();
        match wake {
            Wake::Local(Arrival::Connection(stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let stream = LocalStream::tcp(stream);
                admit(&mut router, &sessions, stream, &peer.to_string(), now).await;
            }
            Wake::Local(Arrival::Failed(e)) => {
                log::warn!("accept failed: {e}");
                Timer::after(ACCEPT_RETRY).await;
            }
            Wake::Local(Arrival::Ended(end)) => {
                // Whatever the session still sent reaches the broker first.
                super::disconnect(&broker, &inputs.inbound).await;
                return ended(end, broker_down, router.common().was_up());
            }
            Wake::Stop => {
                // Dropping the listener closes it.
                drop(local);
                super::stop_sessions(router.common().handles(), &broker, &inputs.inbound).await;
                return Ok(());
            }
            Wake::Inbound(None) | Wake::Done(None) => return Ok(()),
            Wake::Done(Some(id)) => router.session_done(&id, now),
            Wake::Timer => router.handle_timeout(now),
            Wake::Inbound(Some(report)) => match dispatch::report(&mut router, report, now) {
                Report::Done => {}
                Report::Down(why) => broker_down = Some(why),
                Report::Ended => return Ok(()),
                Report::Message(p) => match router.handle_message(&dispatch::message(&p), now) {
                    ClientAction::None => {}
                    ClientAction::Deliver(id) => dispatch::deliver(&router, &id, p),
                    ClientAction::ServerAnnounced(a, c) => announced(&router, a, c),
                },
            },
        }
        if dispatch::publish(&mut router, &broker, &mut said_full).is_err() {
            return Ok(());
        }
    }
}

/// A local connection: a session if the router admits it, else reset (not
/// closed: the local peer must not take it for a connection that worked).
async fn admit(
    router: &mut ClientRouter<InboxSender>,
    sessions: &SessionFactory,
    mut stream: LocalStream,
    peer: &str,
    now: Instant,
) {
    if !router.admit_local(now) {
        stream.close(false).await;
        return;
    }
    if let Some((id, tx)) = sessions.start_client(stream, peer, None).await {
        router.common_mut().insert(id, tx);
    }
}

/// Tells every session that server process `a` announced itself: those
/// an earlier process served reset themselves.
fn announced(router: &ClientRouter<InboxSender>, a: Announcement, challenge: Option<Challenge>) {
    for session in router.common().handles() {
        session.announced(a, challenge);
    }
}

/// The `--stdio` session ended: the program's outcome. Without an answer
/// while the broker was never reached, the broker is why.
fn ended(end: SessionEnd, broker_down: Option<String>, was_up: bool) -> Result<(), RunError> {
    if end.graceful {
        return Ok(());
    }
    let why = match (end.no_answer, broker_down) {
        (true, Some(down)) if !was_up => down,
        _ => end.words,
    };
    Err(RunError::Session(why))
}
