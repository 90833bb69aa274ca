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

/// Sends `signal` (e.g. "TERM") to `pid`.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The graceful stop must reach the peer within this (the stop waits at
/// most 1 s for its frames; the peer acts on them at once).
const STOP_BOUND: Duration = Duration::from_secs(2);

#[test]
fn sigterm_on_the_server_side_resets_the_clients_connection_at_once_and_exits_0() {
    let echo = Target::echo();
    let mut fx = Fixture::new("sigterm-server");
    let server = fx.server("stopping", echo.port, &[]);
    let (_, port) = fx.client("stopping", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"before systemctl restart");
    let pid = fx.proc(server).pid();
    let sent = Instant::now();
    signal(pid, "TERM");
    stream.set_read_timeout(Some(STOP_BOUND)).unwrap();
    let mut buf = [0u8; 16];
    let outcome = stream.read(&mut buf);
    let reset_after = sent.elapsed();
    assert!(
        matches!(&outcome, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{outcome:?} after {reset_after:?}\n{}",
        fx.logs()
    );
    let (code, _) = fx.proc(server).wait_exit(STOP_BOUND);
    let exited_after = sent.elapsed();
    assert_eq!(code, Some(0), "{}", fx.logs());
    assert!(
        fx.proc(server).log().contains("1 sessions aborted"),
        "{}",
        fx.logs()
    );
    eprintln!("server side SIGTERM: client reset after {reset_after:.2?}, exit 0 after {exited_after:.2?}");
}

/// When and how a target's connection ended: EOF (`Ok(0)`) or an error.
type ConnectionEnd = (Instant, Result<usize, ErrorKind>);

#[test]
fn sigterm_on_the_client_side_resets_the_targets_connection_at_once_and_exits_0() {
    use std::sync::{Arc, Mutex};
    // A target that records how and when its connection ended.
    let ended: Arc<Mutex<Option<ConnectionEnd>>> = Arc::default();
    let target = {
        let ended = ended.clone();
        Target::spawn(move |mut s| {
            let mut buf = [0u8; 256];
            let result = loop {
                match s.read(&mut buf) {
                    Ok(0) => break Ok(0),
                    Ok(n) => {
                        let _ = s.write_all(&buf[..n]);
                    }
                    Err(e) => break Err(e.kind()),
                }
            };
            *ended.lock().unwrap() = Some((Instant::now(), result));
        })
    };
    let mut fx = Fixture::new("sigterm-client");
    fx.server("stopping-client", target.port, &[]);
    let (client, port) = fx.client("stopping-client", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"before the desktop shuts down");
    let sent = Instant::now();
    signal(fx.proc(client).pid(), "TERM");
    let (code, _) = fx.proc(client).wait_exit(STOP_BOUND);
    assert_eq!(code, Some(0), "{}", fx.logs());
    let deadline = sent + STOP_BOUND;
    let (at, how) = loop {
        if let Some(e) = *ended.lock().unwrap() {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "the target's connection is still open\n{}",
            fx.logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(how, Err(ErrorKind::ConnectionReset), "{}", fx.logs());
    // The local connection is reset too, not closed as if complete.
    stream.set_read_timeout(Some(STOP_BOUND)).unwrap();
    let mut buf = [0u8; 16];
    let local = stream.read(&mut buf);
    assert!(
        matches!(&local, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{local:?}"
    );
    eprintln!("client side SIGTERM: target reset after {:.2?}", at - sent);
}

#[test]
fn a_second_signal_during_the_graceful_stop_exits_at_once() {
    let echo = Target::echo();
    let mut fx = Fixture::new("second-signal");
    fx.server("impatient", echo.port, &[]);
    let (client, port) = fx.client("impatient", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"hello");
    // With the broker gone, the stop waits its whole grace period.
    fx.broker.kill();
    let pid = fx.proc(client).pid();
    signal(pid, "TERM");
    std::thread::sleep(Duration::from_millis(100));
    let second = Instant::now();
    signal(pid, "INT");
    let (code, _) = fx.proc(client).wait_exit(STOP_BOUND);
    let took = second.elapsed();
    assert_eq!(code, Some(130), "{}", fx.logs());
    assert!(
        took < Duration::from_millis(500),
        "exited {took:?} after the second signal"
    );
}

/// A session id as the client side makes them (32 lowercase hex digits).
fn session_id(n: u64) -> String {
    format!("{n:032x}")
}

/// The session id the client side logged for its latest session.
fn last_session_id(log: &str) -> String {
    log.lines()
        .rev()
        .filter_map(|l| l.split("session ").nth(1))
        .filter_map(|rest| rest.split(':').next())
        .find(|id| id.len() == 32)
        .expect("a session in the log")
        .to_owned()
}

#[test]
fn a_retained_opening_frame_on_a_server_topic_opens_nothing() {
    use common::mqtt_raw::{flags, frame, RawClient};
    let echo = Target::echo();
    let mut fx = Fixture::new("retained-server");
    // Published before the server side subscribes: delivered at subscribe.
    let mut publisher = RawClient::connect(fx.broker.port, "stray-publisher");
    let opening = frame(
        0,
        None,
        flags::NO_DATA | flags::CAPABLE | flags::OPENING,
        b"",
    );
    publisher.publish(
        &format!("ssh/retained/{}/tx", session_id(7)),
        &opening,
        true,
    );
    fx.server("retained", echo.port, &[]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        echo.accepted(),
        0,
        "a retained frame opened a session\n{}",
        fx.logs()
    );
    let (_, port) = fx.client("retained", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"still serving");
}

#[test]
fn a_retained_close_frame_on_a_clients_topic_does_not_end_its_session() {
    use common::fault_proxy::{FaultProxy, Faults};
    use common::mqtt_raw::{flags, frame, RawClient};
    let echo = Target::echo();
    let mut fx = Fixture::new("retained-client");
    fx.server("retained-c", echo.port, &[]);
    // The client side reaches the broker through a proxy that can cut it.
    let proxy = FaultProxy::start(fx.broker.port, Faults::default());
    fx.client_mqtt_port = Some(proxy.port);
    let (client, port) = fx.client("retained-c", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"before");
    let id = last_session_id(&fx.proc(client).log());
    // While the client is away, a close frame is left retained on its topic;
    // it is delivered when the client resubscribes.
    proxy.set_blocked(true);
    proxy.cut();
    let mut publisher = RawClient::connect(fx.broker.port, "stray-publisher");
    let close = frame(
        0,
        Some(u64::MAX),
        flags::CAPABLE | flags::DISCONNECT | flags::NO_DATA,
        b"",
    );
    publisher.publish(&format!("ssh/retained-c/{id}/rx"), &close, true);
    proxy.set_blocked(false);
    // After the reconnect (backoff), the session still works.
    echo_once(&mut stream, b"after the resubscribe");
    assert!(
        fx.proc(client).log_count("connected to broker") >= 2,
        "the client never reconnected\n{}",
        fx.logs()
    );
}

#[test]
fn a_flood_of_forged_opening_frames_holds_no_slot_and_writes_few_log_lines() {
    use common::mqtt_raw::{flags, frame, RawClient};
    const SLOTS: usize = 20;
    const FORGED: u64 = 5_000;
    let echo = Target::echo();
    let mut fx = Fixture::new("flood");
    // --peer-timeout 3 caps the unused-session timeout (default 30 s) at 3 s.
    let slots = SLOTS.to_string();
    let server = fx.server(
        "flooded",
        echo.port,
        &["--max-sessions", &slots, "--peer-timeout", "3"],
    );
    let mut attacker = RawClient::connect(fx.broker.port, "attacker");
    let opening = frame(
        0,
        None,
        flags::NO_DATA | flags::CAPABLE | flags::OPENING,
        b"",
    );
    for n in 0..FORGED {
        attacker.publish(
            &format!("ssh/flooded/{}/tx", session_id(n)),
            &opening,
            false,
        );
    }
    // Heartbeats keep coming for the first ids, as the attacker did.
    let heartbeat = frame(0, None, flags::NO_DATA | flags::CAPABLE, b"");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        for n in 0..SLOTS as u64 {
            attacker.publish(
                &format!("ssh/flooded/{}/tx", session_id(n)),
                &heartbeat,
                false,
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        echo.accepted() <= SLOTS,
        "{} dials for {SLOTS} slots",
        echo.accepted()
    );
    // The slots were freed (unused for 6 s; lingering sessions hold none):
    // a real session gets through at once.
    let (_, port) = fx.client("flooded", &[]);
    let real = Instant::now();
    let mut stream = connect(port);
    echo_once(&mut stream, b"a real user");
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
    let log = fx.proc(server).log();
    let lines = log.lines().count();
    assert!(
        lines < 60,
        "{lines} log lines for {FORGED} forged frames:\n{log}"
    );
    eprintln!(
        "{FORGED} forged opening frames: {} dials, {lines} server log lines",
        echo.accepted()
    );
}

#[test]
fn the_client_side_resets_connections_beyond_max_sessions() {
    let echo = Target::echo();
    let mut fx = Fixture::new("client-cap");
    fx.server("capped", echo.port, &[]);
    let (_, port) = fx.client("capped", &["--max-sessions", "3"]);
    let mut kept: Vec<_> = (0..3).map(|_| connect(port)).collect();
    for (i, s) in kept.iter_mut().enumerate() {
        echo_once(s, format!("session {i}").as_bytes());
    }
    for _ in 0..2 {
        // Reset at once: on loopback the reset may even beat the end of
        // the connect.
        let outcome = try_connect(port).and_then(|mut extra| {
            extra.set_read_timeout(Some(Duration::from_secs(5)))?;
            extra.read(&mut [0u8; 8])
        });
        assert!(
            matches!(&outcome, Err(e) if e.kind() == ErrorKind::ConnectionReset),
            "{outcome:?}"
        );
    }
    // The sessions within the cap are untouched.
    echo_once(&mut kept[0], b"still here");
}

#[test]
fn qos_2_with_eight_concurrent_sessions_keeps_the_broker_connection_repeatedly() {
    const SESSIONS: usize = 8;
    let echo = Target::echo();
    let mut fx = Fixture::new("qos2-load");
    let server = fx.server("qos2", echo.port, &["--mqtt-qos", "2"]);
    let (client, port) = fx.client("qos2", &["--mqtt-qos", "2"]);
    for round in 0..3u64 {
        let threads: Vec<_> = (0..SESSIONS as u64)
            .map(|i| {
                std::thread::spawn(move || {
                    let data = std::sync::Arc::new(random_bytes(256 * 1024, round * 100 + i));
                    let got = echo_through(port, data.clone(), Duration::from_secs(60))?;
                    (got == *data)
                        .then_some(())
                        .ok_or_else(|| format!("session {i}: data differs"))
                })
            })
            .collect();
        for t in threads {
            if let Err(e) = t.join().unwrap() {
                panic!("round {round}: {e}\n{}", fx.logs());
            }
        }
    }
    for id in [server, client] {
        let log = fx.proc(id).log();
        assert!(
            !log.contains("lost") && log.matches("connected to broker").count() == 1,
            "the broker connection dropped under QoS 2:\n{log}"
        );
    }
}

#[test]
fn an_oversized_retained_message_on_a_session_topic_does_not_drop_the_connection() {
    use common::mqtt_raw::RawClient;
    let echo = Target::echo();
    let mut fx = Fixture::new("oversized");
    let mut attacker = RawClient::connect(fx.broker.port, "attacker");
    let big = vec![0x42u8; 70_000];
    attacker.publish(&format!("ssh/big/{}/tx", session_id(9)), &big, true);
    let server = fx.server("big", echo.port, &[]);
    let (client, port) = fx.client("big", &[]);
    let mut stream = connect(port);
    echo_once(&mut stream, b"first");
    // The same on the client's live session topic.
    let id = last_session_id(&fx.proc(client).log());
    attacker.publish(&format!("ssh/big/{id}/rx"), &big, true);
    std::thread::sleep(Duration::from_secs(2));
    echo_once(&mut stream, b"second");
    for p in [server, client] {
        let log = fx.proc(p).log();
        assert_eq!(
            log.matches("connected to broker").count(),
            1,
            "the connection dropped:\n{log}"
        );
    }
}

#[test]
fn a_broker_acl_that_denies_the_client_is_reported_in_words() {
    let echo = Target::echo();
    let mut fx = Fixture::with_broker("acl", |dir| {
        let acl = dir.file("acl");
        // Each client may use only the topics under its own client id: the
        // server side (client id = its id) is served, a client side is not.
        std::fs::write(&acl, "pattern readwrite ssh/%c/#\n").unwrap();
        format!("allow_anonymous true\nacl_file {}\n", acl.display())
    });
    fx.server("guarded", echo.port, &[]);
    let (client, port) = fx.client("guarded", &["--peer-timeout", "3"]);
    let mut stream = connect(port);
    let _ = stream.write_all(b"denied");
    let proc = fx.proc(client);
    proc.wait_for_log("no answer from the server side", READY_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(proc.log().contains("check its ACL"));
    assert_eq!(echo.accepted(), 0);
    // -l under the same ACL (mosquitto grants its subscription but delivers
    // nothing): it says that it saw no beacon at all.
    let port = fx.broker.port.to_string();
    let out = run_program(
        &fx.dir,
        &["-l", "--mqtt-host", "127.0.0.1", "--mqtt-port", &port],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("no beacon seen"), "{out:?}");
}

#[test]
fn a_refused_subscription_is_an_error_line_naming_its_topics() {
    use common::fault_proxy::{FaultProxy, Faults};
    let echo = Target::echo();
    let mut fx = Fixture::new("suback");
    // mosquitto grants every subscription (its ACL filters at delivery); a
    // broker that refuses one answers 0x80 in the SUBACK, as this proxy does.
    let faults = Faults {
        refuse_subscriptions: true,
        ..Faults::default()
    };
    let proxy = FaultProxy::start(fx.broker.port, faults);
    fx.server_mqtt_port = Some(proxy.port);
    let server = fx.server("refused", echo.port, &[]);
    fx.proc(server)
        .wait_for_log(
            "the broker refused the subscription to ssh/refused/+/tx, ssh/refused/instance",
            READY_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(fx.proc(server).log().contains("check its ACL"));
    // A client side's per-session subscription: named with its session id.
    fx.client_mqtt_port = Some(proxy.port);
    let (client, port) = fx.client("refused", &[]);
    let _stream = connect(port);
    fx.proc(client)
        .wait_for_log("opened for", READY_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    let id = last_session_id(&fx.proc(client).log());
    fx.proc(client)
        .wait_for_log(
            &format!("the broker refused the subscription to ssh/refused/{id}/rx"),
            READY_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("{e}"));
}
