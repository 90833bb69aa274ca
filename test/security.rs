//! Safe on a shared broker: the server side dials only its own
//! target unless told otherwise, and nothing published names a side's MQTT
//! client id, against a real mosquitto.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sniffer::Sniffer;
use common::*;

/// How soon a refused client connection must be reset.
const REFUSAL_BOUND: Duration = Duration::from_secs(5);

/// Connects through the tunnel on `port`, sends a few bytes, and expects the
/// connection to be closed or reset within [`REFUSAL_BOUND`] without a byte.
fn assert_refused(port: u16, what: &str) {
    let started = Instant::now();
    let mut stream = connect(port);
    stream
        .set_read_timeout(Some(REFUSAL_BOUND + Duration::from_secs(1)))
        .unwrap();
    let _ = stream.write_all(b"hello");
    let mut buf = [0u8; 16];
    let outcome = stream.read(&mut buf);
    let elapsed = started.elapsed();
    match outcome {
        Ok(0) => {}
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ) => {}
        Ok(n) => panic!("{what}: received {n} bytes from a target that must be refused"),
        Err(e) => panic!("{what}: not closed ({e}) after {elapsed:?}"),
    }
    assert!(elapsed < REFUSAL_BOUND, "{what}: closed after {elapsed:?}");
}

#[test]
fn a_server_side_refuses_a_port_it_was_not_given_and_the_client_says_why() {
    let own = Target::echo();
    let other = Target::echo();
    let mut fx = Fixture::new("deny-port");
    let server = fx.server("deny-port", own.port, &[]);
    let remote = other.port.to_string();
    let (client, port) = fx.client("deny-port", &["--remote-port", &remote]);
    assert_refused(port, "--remote-port without --allow-remote");
    assert_eq!(other.accepted(), 0, "the other target was dialed");
    assert_eq!(
        own.accepted(),
        0,
        "the server's own target was dialed instead"
    );
    fx.proc(server)
        .wait_for_log(
            &format!("refused to dial 127.0.0.1:{remote}"),
            Duration::from_secs(10),
        )
        .unwrap();
    fx.proc(client)
        .wait_for_log("does not allow this target", Duration::from_secs(10))
        .unwrap();
}

#[test]
fn a_server_side_refuses_an_address_it_was_not_given() {
    let own = Target::echo();
    let mut fx = Fixture::new("deny-ip");
    fx.server("deny-ip", own.port, &[]);
    let (_, port) = fx.client("deny-ip", &["--remote-ip", "127.0.0.2"]);
    assert_refused(port, "--remote-ip without --allow-remote");
    assert_eq!(own.accepted(), 0);
}

#[test]
fn asking_for_the_servers_own_target_needs_no_rule() {
    let own = Target::echo();
    let mut fx = Fixture::new("own-target");
    fx.server("own-target", own.port, &[]);
    let remote = own.port.to_string();
    let (_, port) = fx.client(
        "own-target",
        &["--remote-ip", "127.0.0.1", "--remote-port", &remote],
    );
    let data = Arc::new(random_bytes(16 * 1024, 31));
    let received = echo_through(port, data.clone(), Duration::from_secs(20)).unwrap();
    assert_same_data("own target asked for explicitly", &received, &data);
}

#[test]
fn allow_remote_rules_from_the_environment_enable_a_range_and_nothing_else() {
    let own = Target::echo();
    let allowed = Target::echo();
    let denied = Target::echo();
    let mut fx = Fixture::new("allow-env");
    let rules = format!("127.0.0.0/8:{}, 10.0.0.1:*", allowed.port);
    let mut args = vec!["-s".to_owned()];
    args.extend(fx.broker_args("allow-env"));
    args.extend(["-p".to_owned(), own.port.to_string()]);
    let server = fx.spawn_with_env(
        "server-allow-env",
        &args,
        &[("MQTT_FORWARD_ALLOW_REMOTE", &rules)],
    );
    fx.proc(server)
        .wait_for_log("connected to broker", Duration::from_secs(20))
        .unwrap();
    let ok = allowed.port.to_string();
    let (_, port) = fx.client(
        "allow-env",
        &["--remote-ip", "127.0.0.1", "--remote-port", &ok],
    );
    let data = Arc::new(random_bytes(64 * 1024, 32));
    let received = echo_through(port, data.clone(), Duration::from_secs(20)).unwrap();
    assert_same_data("allowed target", &received, &data);
    assert_eq!(allowed.accepted(), 1);
    let no = denied.port.to_string();
    let (_, port) = fx.client("allow-env", &["--remote-port", &no]);
    assert_refused(port, "a port outside the rules");
    assert_eq!(denied.accepted(), 0);
}

/// Runs `mqtt-forward --stdio` with `extra`, feeding `input` on stdin;
/// returns (exit code, stdout, stderr).
fn stdio_run(
    fx: &Fixture,
    server_side_id: &str,
    extra: &[&str],
    input: Vec<u8>,
) -> (Option<i32>, Vec<u8>, String) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(BIN)
        .args(fx.broker_args(server_side_id))
        .arg("--stdio")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stdio_mode_carries_one_session_over_stdin_and_stdout_and_exits_0() {
    let echo = Target::echo();
    let mut fx = Fixture::new("stdio-echo");
    fx.server("stdio-echo", echo.port, &[]);
    let data = random_bytes(2 * 1024 * 1024, 33);
    let (code, stdout, stderr) = stdio_run(&fx, "stdio-echo", &[], data.clone());
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert_same_data("echo over --stdio", &stdout, &data);
    assert!(stderr.is_empty(), "stderr: {stderr}");
}

#[test]
fn stdio_mode_fails_with_one_line_and_exit_1() {
    let own = Target::echo();
    let mut fx = Fixture::new("stdio-fail");
    fx.server("stdio-fail", own.port, &[]);
    // A refused target: the server side's reason.
    let (code, stdout, stderr) =
        stdio_run(&fx, "stdio-fail", &["--remote-port", "9"], b"x".to_vec());
    assert_eq!(code, Some(1), "stderr: {stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("does not allow this target"), "{stderr}");
    // No server side at all (--peer-timeout bounds the setup timeout).
    let (code, _, stderr) = stdio_run(&fx, "nobody", &["--peer-timeout", "3"], b"x".to_vec());
    assert_eq!(code, Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no answer from the server side"),
        "{stderr}"
    );
}

/// The client ids of the connections the broker's log names (mosquitto:
/// `New client connected from ADDR as ID (...)`).
fn connected_client_ids(broker_log: &str) -> Vec<String> {
    broker_log
        .lines()
        .filter(|l| l.contains("New client connected"))
        .filter_map(|l| l.split(" as ").nth(1)?.split(' ').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_sniffer_on_every_topic_never_sees_the_mqtt_client_id_of_either_side() {
    // A client id read from the broker lets anyone connect with it, and the
    // broker then drops the side's own connection.
    const SERVER_ID: &str = "srv-3e9d";
    const GIVEN_ID: &str = "given-7b2f41";
    let echo = Target::echo();
    let mut fx = Fixture::new("client-id");
    let sniffer = Sniffer::start(fx.broker.port, "#");
    let server = fx.server(SERVER_ID, echo.port, &[]);
    let (given, given_port) = fx.client(SERVER_ID, &["--client-id", GIVEN_ID]);
    let (generated, generated_port) = fx.client(SERVER_ID, &[]);
    for port in [given_port, generated_port] {
        let data = Arc::new(random_bytes(256 * 1024, 47));
        let got = echo_through(port, data.clone(), Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}\n{}", fx.logs()));
        assert_same_data("echo", &got, &data);
    }
    for side in [server, given, generated] {
        // Each side's probe came back: probing still works.
        fx.proc(side)
            .wait_for_log("carries frames of up to", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let seen = sniffer.stop();
    let ids = connected_client_ids(&fx.broker.logs());
    let clients: Vec<&String> = ids
        .iter()
        .filter(|id| id.starts_with("mqtt-forward-"))
        .collect();
    assert_eq!(clients.len(), 1, "one generated client id: {ids:?}");
    assert!(ids.iter().any(|id| id == GIVEN_ID), "{ids:?}");
    assert!(
        seen.iter().any(|(t, _)| t.contains("/probe/")),
        "no probe seen"
    );
    let mut leaks = Vec::new();
    for (topic, payload) in &seen {
        for id in [GIVEN_ID, clients[0].as_str(), SERVER_ID] {
            if payload.windows(id.len()).any(|w| w == id.as_bytes()) {
                leaks.push(format!("{id} in the payload of {topic}"));
            }
        }
        for id in [GIVEN_ID, clients[0].as_str()] {
            if topic.contains(id) {
                leaks.push(format!("{id} in the topic {topic}"));
            }
        }
        // The server side's client id is its server-side id, the second
        // level of every topic of the tunnel: nowhere else.
        if topic
            .split('/')
            .enumerate()
            .any(|(i, l)| i != 1 && l == SERVER_ID)
        {
            leaks.push(format!("{SERVER_ID} named again in the topic {topic}"));
        }
    }
    leaks.dedup();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
