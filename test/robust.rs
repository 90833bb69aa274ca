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

/// How long two server sides with the same id may fight before the newer
/// one stops (a few take-over cycles at a growing backoff).
const TWIN_BOUND: Duration = Duration::from_secs(20);

#[test]
fn a_second_server_side_with_the_same_id_stops_with_one_line_and_the_first_keeps_serving() {
    let echo = Target::echo();
    let mut fx = Fixture::new("twins");
    let first = fx.server("twin", echo.port, &[]);
    let second = fx.server("twin", echo.port, &[]);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = fx.proc(second).exited() {
            break status;
        }
        assert!(
            started.elapsed() < TWIN_BOUND,
            "the newer twin still runs after {TWIN_BOUND:?}\n{}",
            fx.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    assert_eq!(status.code(), Some(2), "{}", fx.logs());
    let log = fx.proc(second).log();
    assert_eq!(
        log.matches("another server side with id 'twin'").count(),
        1,
        "{log}"
    );
    assert!(log.contains("stopping this one"), "{log}");
    assert!(
        fx.proc(first).exited().is_none(),
        "the first one must keep serving"
    );
    // The first one said so once, and serves.
    let first_log = fx.proc(first).log();
    assert_eq!(first_log.matches("keeps serving").count(), 1, "{first_log}");
    let (_, port) = fx.client("twin", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"served by the first twin");
    eprintln!("the newer twin stopped {took:.2?} after it started");
}

#[test]
fn a_server_side_restarted_after_a_crash_is_not_taken_for_its_own_twin() {
    let echo = Target::echo();
    let mut fx = Fixture::new("crash-restart");
    let crashed = fx.server("phoenix", echo.port, &[]);
    // Its announcement stays retained on the broker.
    std::thread::sleep(Duration::from_millis(300));
    fx.proc(crashed).kill();
    let reborn = fx.server("phoenix", echo.port, &[]);
    let (_, port) = fx.client("phoenix", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"after the crash");
    // A few reconnects later (the broker restarting), still no twin.
    for n in 0..2 {
        fx.broker.restart();
        // Served again once both sides have reconnected.
        let mut stream = connect(port);
        echo_once(&mut stream, format!("after broker restart {n}").as_bytes());
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(fx.proc(reborn).exited().is_none(), "{}", fx.logs());
    assert!(
        !fx.proc(reborn).log().contains("another server side"),
        "{}",
        fx.logs()
    );
}
