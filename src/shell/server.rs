//! Server side: the loop around the server router. It hands the broker's
//! messages to the router and does what the router decides: deliver a frame
//! to its session, start a session (which dials the target), stop for a
//! twin; and it publishes what the router queued (answers, the beacon, the
//! announcement).

use std::rc::Rc;
use std::time::Instant;

use smol::channel::Receiver;
use smol::LocalExecutor;

use super::dispatch::{self, Inputs, Report, Wake};
use super::factory::{self, SessionFactory};
use super::inbox::InboxSender;
use super::mqtt::{Broker, Inbound};
use super::RunError;
use crate::config::Config;
use crate::protocol::instance::{self, Announcement};
use crate::router::{Router, ServerAction, ServerRouter, ServerSettings};

/// Runs the server side until the broker connection ends or a signal
/// stops it.
pub async fn run(
    ex: Rc<LocalExecutor<'static>>,
    config: &Config,
    settings: ServerSettings,
    broker: Broker,
    inbound: Receiver<Inbound>,
    stop: Receiver<()>,
) -> Result<(), RunError> {
    let (sessions, counters, done) = SessionFactory::start(ex, broker.clone(), config);
    log_start(&settings);
    let topics = factory::topics(config);
    let mut router: ServerRouter<InboxSender> =
        ServerRouter::new(settings, topics, counters, announcement(), Instant::now());
    let inputs = Inputs {
        inbound,
        done,
        stop,
    };
    let mut said_full = false;
    loop {
        let wake = inputs
            .next(router.poll_timeout(), smol::future::pending::<()>())
            .await;
        let now = Instant::now();
        match wake {
            Wake::Inbound(None) | Wake::Done(None) | Wake::Local(()) => return Ok(()),
            Wake::Done(Some(id)) => router.session_done(&id, now),
            Wake::Timer => router.handle_timeout(now),
            Wake::Stop => {
                // The announcement stays retained: the next process with
                // this id ignores it at its first connect (see twins.rs).
                // Clearing it with an empty retained message is what MQTT
                // provides, but mosquitto 2.0.11 then drops the connection
                // ("out of memory"), losing the abort frames queued behind.
                super::stop_sessions(router.common().handles(), &broker, &inputs.inbound).await;
                return Ok(());
            }
            Wake::Inbound(Some(report)) => match dispatch::report(&mut router, report, now) {
                Report::Done | Report::Down(_) => {}
                Report::Ended => return Ok(()),
                Report::Message(p) => match router.handle_message(&dispatch::message(&p), now) {
                    ServerAction::None => {}
                    ServerAction::Deliver(id) => dispatch::deliver(&router, &id, p),
                    ServerAction::Open(opening) => {
                        let id = opening.id;
                        let tx = sessions.start_server(opening);
                        router.common_mut().insert(id, tx);
                    }
                    ServerAction::Stop(twin) => return Err(RunError::Twin(twin)),
                },
            },
        }
        if dispatch::publish(&mut router, &broker, &mut said_full).is_err() {
            return Ok(());
        }
    }
}

/// The first line a server side logs.
fn log_start(settings: &ServerSettings) {
    log::info!(
        "server side '{}' forwarding to {}:{} (beacon {}; other targets: {})",
        settings.server_side_id,
        settings.target.host,
        settings.target.port,
        if settings.beacon { "on" } else { "off" },
        if settings.allow.is_empty() {
            "none".to_owned()
        } else {
            settings.allow.to_string()
        }
    );
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
