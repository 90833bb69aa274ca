//! Two server sides with one id, and what a third client of the broker can
//! do with their announcements, against a real mosquitto: with a key only
//! a live twin (answering this process's challenge) makes the newer stop;
//! a recorded announcement and take-overs of the id never do; without a
//! key a suspected twin is reported once and nobody stops.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::mqtt_raw::RawClient;
use common::*;

const KEY: &str = "8d7c1b0e5f2a4c6d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d\n";

/// How long two server sides with the same id may fight before the newer
/// one stops (a few take-over cycles at a growing backoff).
const TWIN_BOUND: Duration = Duration::from_secs(20);

/// How long an attack is kept up before the victim is checked.
const ATTACK: Duration = Duration::from_secs(12);

fn keyed_fixture(tag: &str) -> Fixture {
    use std::os::unix::fs::PermissionsExt;
    let mut fx = Fixture::new(tag);
    let path = Path::new(fx.dir.path()).join("psk");
    std::fs::write(&path, KEY).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = path.to_str().unwrap().to_owned();
    for args in [&mut fx.server_args, &mut fx.client_args] {
        args.extend(["--psk-file".to_owned(), key.clone()]);
    }
    fx
}

/// Echoes `msg` through a new connection to `port`.
fn echo_once(port: u16, msg: &[u8]) {
    let mut stream = connect(port);
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(msg).expect("write");
    let mut back = vec![0u8; msg.len()];
    stream.read_exact(&mut back).expect("read the echo");
    assert_eq!(back, msg);
}

/// The retained announcement on `id`'s instance topic.
fn record_announcement(port: u16, id: &str) -> Vec<u8> {
    let mut recorder = RawClient::connect(port, "recorder");
    recorder.subscribe(&format!("ssh/{id}/instance"));
    let (_, payload, _) = recorder.next_publish().expect("the retained announcement");
    payload
}

/// For `span`: plants `recorded` retained on `id`'s instance topic and
/// takes the id over (the broker drops the server side, which reconnects
/// and is handed the planted message), about once a second.
fn replay_with_take_overs(port: u16, id: &str, recorded: &[u8], span: Duration) -> usize {
    let started = Instant::now();
    let mut take_overs = 0;
    while started.elapsed() < span {
        let mut attacker = RawClient::connect(port, "attacker");
        attacker.publish(&format!("ssh/{id}/instance"), recorded, true);
        drop(attacker);
        drop(RawClient::connect(port, id));
        take_overs += 1;
        thread::sleep(Duration::from_millis(1_000));
    }
    take_overs
}

#[test]
fn with_a_key_a_second_server_side_with_the_same_id_stops_with_one_line_and_the_first_keeps_serving(
) {
    let echo = Target::echo();
    let mut fx = keyed_fixture("keyed-twins");
    let first = fx.server("twin", echo.port, &[]);
    thread::sleep(Duration::from_millis(300));
    let second = fx.server("twin", echo.port, &[]);
    let (code, took) = fx.proc(second).wait_exit(TWIN_BOUND);
    assert_eq!(code, Some(2), "{}", fx.logs());
    let log = fx.proc(second).log();
    assert_eq!(
        log.matches("another server side with id 'twin'").count(),
        1,
        "{log}"
    );
    assert!(log.contains("stopping this one"), "{log}");
    assert!(fx.proc(first).exited().is_none(), "the first keeps serving");
    assert_eq!(
        fx.proc(first).log_count("keeps serving"),
        1,
        "{}",
        fx.logs()
    );
    let (_, port) = fx.client("twin", &[]);
    echo_once(port, b"served by the first twin");
    eprintln!("the newer keyed twin stopped {took:.2?} after it started");
}

#[test]
fn with_a_key_a_recorded_announcement_replayed_with_take_overs_never_stops_a_server_side() {
    let echo = Target::echo();
    let mut fx = keyed_fixture("keyed-replay");
    let earlier = fx.server("victim", echo.port, &[]);
    // One take-over makes the earlier process announce again: recorded.
    thread::sleep(Duration::from_millis(300));
    drop(RawClient::connect(fx.broker.port, "victim"));
    thread::sleep(Duration::from_millis(1_500));
    let recorded = record_announcement(fx.broker.port, "victim");
    fx.proc(earlier).kill();
    let victim = fx.server("victim", echo.port, &[]);
    thread::sleep(Duration::from_millis(300));
    let take_overs = replay_with_take_overs(fx.broker.port, "victim", &recorded, ATTACK);
    assert!(
        fx.proc(victim).exited().is_none(),
        "stopped by a replay:\n{}",
        fx.logs()
    );
    assert_eq!(fx.proc(victim).log_count("another server side"), 0);
    // Served once it is back from its backoff (its own announcement
    // retained again).
    let deadline = Instant::now() + Duration::from_secs(30);
    while record_announcement(fx.broker.port, "victim") == recorded {
        assert!(
            Instant::now() < deadline,
            "never reconnected\n{}",
            fx.logs()
        );
        thread::sleep(Duration::from_millis(200));
    }
    let (_, port) = fx.client("victim", &[]);
    echo_once(port, b"still serving");
    eprintln!("{take_overs} take-overs with the recorded announcement planted: still serving");
}

#[test]
fn without_a_key_a_second_server_side_with_the_same_id_is_reported_once_and_neither_stops() {
    let echo = Target::echo();
    let mut fx = Fixture::new("twins");
    let first = fx.server("twin", echo.port, &[]);
    let second = fx.server("twin", echo.port, &[]);
    for side in [first, second] {
        fx.proc(side)
            .wait_for_log("seems to connect to this broker too", TWIN_BOUND)
            .unwrap_or_else(|e| panic!("{e}\n{}", fx.logs()));
    }
    thread::sleep(Duration::from_secs(3));
    for side in [first, second] {
        assert!(fx.proc(side).exited().is_none(), "{}", fx.logs());
        assert_eq!(
            fx.proc(side).log_count("seems to connect"),
            1,
            "{}",
            fx.logs()
        );
    }
}

#[test]
fn without_a_key_a_forged_announcement_with_take_overs_is_reported_and_never_stops_a_server_side() {
    let echo = Target::echo();
    let mut fx = Fixture::new("forged-twin");
    let victim = fx.server("victim", echo.port, &[]);
    thread::sleep(Duration::from_millis(300));
    // Started at 1 ns after the epoch: older than any process.
    let mut forged = b"MQFI\x01".to_vec();
    forged.extend_from_slice(&[0xee; 16]);
    forged.extend_from_slice(&1u64.to_be_bytes());
    replay_with_take_overs(fx.broker.port, "victim", &forged, ATTACK);
    assert!(fx.proc(victim).exited().is_none(), "{}", fx.logs());
    assert_eq!(
        fx.proc(victim).log_count("seems to connect"),
        1,
        "{}",
        fx.logs()
    );
    let (_, port) = fx.client("victim", &[]);
    echo_once(port, b"still serving");
}
