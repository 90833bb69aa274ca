//! Safe on a shared broker (issue 10): the server side dials only its own
//! target unless told otherwise, against a real mosquitto.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
