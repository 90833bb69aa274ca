//! A keyed server side that restarts, and what a third client of the
//! broker replays against it, against a real mosquitto: replayed genuine
//! announcements never reset the sessions of the process serving them,
//! and HELLOs recorded before a restart cannot keep fresh clients out.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::mqtt_raw::RawClient;
use common::sniffer::Sniffer;
use common::*;

const KEY: &str = "8d7c1b0e5f2a4c6d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d\n";

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

/// The retained announcement on `id`'s instance topic.
fn retained_announcement(port: u16, id: &str) -> Vec<u8> {
    let mut recorder = RawClient::connect(port, "recorder");
    recorder.subscribe(&format!("ssh/{id}/instance"));
    let (_, payload, _) = recorder.next_publish().expect("the retained announcement");
    payload
}

/// Echoes `msg` through `stream`.
fn echo(stream: &mut std::net::TcpStream, msg: &[u8]) -> std::io::Result<()> {
    stream.write_all(msg)?;
    let mut back = vec![0u8; msg.len()];
    stream.read_exact(&mut back)?;
    assert_eq!(back, msg);
    Ok(())
}

#[test]
fn replayed_genuine_announcements_never_reset_a_session_of_the_process_serving_it() {
    let echo_target = Target::echo();
    let mut fx = keyed_fixture("announce-baseline");
    let earlier = fx.server("victim", echo_target.port, &[]);
    thread::sleep(Duration::from_millis(300));
    let old = retained_announcement(fx.broker.port, "victim");
    fx.proc(earlier).kill();
    let server = fx.server("victim", echo_target.port, &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut current = retained_announcement(fx.broker.port, "victim");
    while current == old {
        assert!(Instant::now() < deadline, "never announced");
        thread::sleep(Duration::from_millis(100));
        current = retained_announcement(fx.broker.port, "victim");
    }
    // The old one planted retained (twice: the server side answers the
    // first one's challenge once per connect): a client's first view.
    let mut attacker = RawClient::connect(fx.broker.port, "attacker");
    for _ in 0..2 {
        attacker.publish("ssh/victim/instance", &old, true);
        thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(retained_announcement(fx.broker.port, "victim"), old);
    let (client, port) = fx.client("victim", &[]);
    let mut stream = connect(port);
    echo(&mut stream, b"before").unwrap();
    // Replays of the serving process's own announcement, and of the old
    // one: before, the first reset every session.
    for payload in [&current, &old, &current, &current] {
        attacker.publish("ssh/victim/instance", payload, false);
        thread::sleep(Duration::from_millis(300));
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    echo(&mut stream, b"after!")
        .unwrap_or_else(|e| panic!("the session did not survive the replay: {e}\n{}", fx.logs()));
    assert_eq!(fx.proc(client).log_count("the server side restarted"), 0);
    assert!(fx.proc(server).exited().is_none());
}

#[test]
fn hellos_recorded_before_a_restart_replayed_cannot_keep_a_fresh_client_out() {
    const RECORDED: usize = 80;
    let echo_target = Target::echo();
    let mut fx = keyed_fixture("hello-replay");
    let earlier = fx.server("victim", echo_target.port, &[]);
    // Record the HELLOs of many sessions of the earlier process.
    let sniffer = Sniffer::start(fx.broker.port, "ssh/victim/+/ktx");
    let (_, port) = fx.client("victim", &[]);
    for i in 0..RECORDED {
        let mut s = connect(port);
        echo(&mut s, format!("session {i}").as_bytes()).unwrap();
    }
    let mut seen = HashSet::new();
    let hellos: Vec<(String, Vec<u8>)> = sniffer
        .stop()
        .into_iter()
        .filter(|(topic, _)| seen.insert(topic.clone()))
        .collect();
    assert!(hellos.len() >= RECORDED, "{} recorded", hellos.len());
    fx.proc(earlier).kill();
    let _server = fx.server("victim", echo_target.port, &[]);
    // Replayed every 200 ms from now on.
    let stop = Arc::new(AtomicBool::new(false));
    let replaying = {
        let (stop, broker) = (stop.clone(), fx.broker.port);
        thread::spawn(move || {
            let mut attacker = RawClient::connect(broker, "replayer");
            while !stop.load(Ordering::Relaxed) {
                for (topic, payload) in &hellos {
                    attacker.publish(topic, payload, false);
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
    };
    thread::sleep(Duration::from_secs(1));
    let (_, port) = fx.client("victim", &[]);
    let started = Instant::now();
    let mut stream = connect(port);
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let result = echo(&mut stream, b"a fresh client");
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    replaying.join().unwrap();
    result.unwrap_or_else(|e| panic!("no echo ({e}) after {took:?}\n{}", fx.logs()));
    eprintln!("{RECORDED} recorded HELLOs replayed every 200 ms: first echo after {took:?}");
    // Before, 9.0 s (the replays held every unconfirmed slot for 10 s).
    assert!(took < Duration::from_secs(3), "first echo after {took:?}");
}
