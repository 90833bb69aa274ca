//! Robustness against imperfect brokers, restarted processes and bad
//! publishers, against a real mosquitto: what real deployments do to the
//! tunnel (a router that reboots, a broker that drops the connection, a
//! stray or forged message).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use common::*;

/// Within this long of its server side coming back, a client whose session
/// was lost resets its TCP connection (one backed-off retransmission or
/// heartbeat, each at most 5 s apart, plus slack).
const RESET_BOUND: Duration = Duration::from_secs(15);

/// Echoes `msg` through `stream` and checks it.
fn echo_once(stream: &mut std::net::TcpStream, msg: &[u8]) {
    stream.write_all(msg).expect("write");
    let mut back = vec![0u8; msg.len()];
    stream.read_exact(&mut back).expect("read the echo");
    assert_eq!(back, msg);
}

#[test]
fn a_client_is_reset_within_15_s_of_its_server_side_restarting_and_never_redialled() {
    let echo = Target::echo();
    let mut fx = Fixture::new("server-restart");
    let server = fx.server("restarting", echo.port, &[]);
    let (_, port) = fx.client("restarting", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"before the reboot");
    // A second session stays idle: only its heartbeats reach the new process.
    let mut idle = connect(port);
    echo_once(&mut idle, b"idle from now on");
    assert_eq!(echo.accepted(), 2);

    // The router reboots: the server side dies without a word and comes back.
    fx.proc(server).kill();
    let restarted = fx.server("restarting", echo.port, &[]);
    let back = Instant::now();
    // The user types on: the client retransmits into the new process.
    stream.write_all(b"typed during the reboot").expect("write");
    stream
        .set_read_timeout(Some(RESET_BOUND + Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let outcome = stream.read(&mut buf);
    let after = back.elapsed();
    match outcome {
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!(
            "expected a reset of the old connection, got {other:?} after {after:?}\n{}",
            fx.logs()
        ),
    }
    assert!(after <= RESET_BOUND, "reset after {after:?}");
    idle.set_read_timeout(Some(RESET_BOUND + Duration::from_secs(5)))
        .unwrap();
    let idle_outcome = idle.read(&mut buf);
    let idle_after = back.elapsed();
    assert!(
        matches!(&idle_outcome, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "idle session: {idle_outcome:?} after {idle_after:?}\n{}",
        fx.logs()
    );
    assert!(
        idle_after <= RESET_BOUND,
        "idle session reset after {idle_after:?}"
    );
    assert_eq!(
        echo.accepted(),
        2,
        "the restarted server side dialled for a lost session"
    );
    let _ = restarted;

    // A new connection works at once.
    let started = Instant::now();
    let mut fresh = connect(port);
    echo_once(&mut fresh, b"after the reboot");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(echo.accepted(), 3);
    eprintln!(
        "after the server side came back: a busy connection reset in {after:.2?}, \
         an idle one in {idle_after:.2?}"
    );
}
