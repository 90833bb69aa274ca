//! Sessions with a pre-shared key (`--psk-file`) against a real
//! mosquitto and a third MQTT client on the broker: a sniffer, a forger, a
//! replayer.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::mqtt_raw::{flags, frame, RawClient};
use common::sniffer::Sniffer;
use common::*;

const KEY: &str = "8d7c1b0e5f2a4c6d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d\n";
const OTHER_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";

/// Writes a key file (mode 600) and returns its path.
fn key_file(dir: &Path, name: &str, key: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, key).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A fixture whose server and client sides both use [`KEY`].
fn keyed_fixture(tag: &str) -> Fixture {
    let mut fx = Fixture::new(tag);
    let key = key_file(fx.dir.path(), "psk", KEY);
    for args in [&mut fx.server_args, &mut fx.client_args] {
        args.extend(["--psk-file".to_owned(), key.clone()]);
    }
    fx
}

/// `len` random bytes with `marker` written every 64 KiB.
fn data_with_marker(len: usize, seed: u64, marker: &[u8]) -> Vec<u8> {
    let mut data = random_bytes(len, seed);
    for at in (1000..len - marker.len()).step_by(64 * 1024) {
        data[at..at + marker.len()].copy_from_slice(marker);
    }
    data
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The direction level of a session topic (`P/S/X/d`, or `P/S/X/d/I`
/// toward a client process).
fn session_suffix(topic: &str) -> Option<&str> {
    topic.split('/').nth(3)
}

/// A fresh random marker for this run.
fn marker() -> Vec<u8> {
    let mut bytes = random_bytes(16, std::process::id() as u64 ^ 0x5eed);
    bytes[..7].copy_from_slice(b"MARKER-");
    bytes
}

#[test]
fn keyed_sides_echo_8_mib_intact_at_qos_0_1_and_2_and_a_sniffer_finds_no_marker() {
    let echo = Target::echo();
    let marker = marker();
    for qos in ["0", "1", "2"] {
        let mut fx = keyed_fixture(&format!("keyed-qos{qos}"));
        fx.server_args.extend(["--mqtt-qos".into(), qos.into()]);
        fx.client_args.extend(["--mqtt-qos".into(), qos.into()]);
        let sniffer = Sniffer::start(fx.broker.port, "#");
        fx.server("keyed", echo.port, &[]);
        let (_, port) = fx.client("keyed", &[]);
        let data = Arc::new(data_with_marker(
            8 * 1024 * 1024,
            40 + qos.len() as u64,
            &marker,
        ));
        let received = echo_through(port, data.clone(), Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("QoS {qos}: {e}\n{}", fx.logs()));
        assert_same_data(&format!("keyed echo at QoS {qos}"), &received, &data);
        let seen = sniffer.stop();
        let session_bytes: usize = seen
            .iter()
            .filter(|(t, _)| matches!(session_suffix(t), Some("ktx" | "krx")))
            .map(|(_, p)| p.len())
            .sum();
        assert!(
            session_bytes >= 2 * data.len(),
            "QoS {qos}: the sniffer saw only {session_bytes} bytes of session traffic"
        );
        let all: Vec<u8> = seen.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        assert!(
            !contains(&all, &marker),
            "QoS {qos}: the marker is readable on the broker"
        );
        assert!(
            !seen
                .iter()
                .any(|(t, _)| matches!(session_suffix(t), Some("tx" | "rx"))
                    && !t.contains("beacon")),
            "QoS {qos}: an unkeyed session topic was used"
        );
    }
}

#[test]
fn forged_and_replayed_frames_against_a_live_keyed_session_change_nothing() {
    let echo = Target::echo();
    let marker = marker();
    let mut fx = keyed_fixture("forged-live");
    let server = fx.server("forged", echo.port, &[]);
    let (_, port) = fx.client("forged", &[]);
    let sniffer = Sniffer::start(fx.broker.port, "ssh/forged/+/+");
    // A slow transfer, so that the forgeries land while it runs.
    let data = Arc::new(random_bytes(4 * 1024 * 1024, 41));
    let transfer = {
        let data = data.clone();
        thread::spawn(move || echo_through(port, data, Duration::from_secs(120)))
    };
    let mut attacker = RawClient::connect(fx.broker.port, "attacker");
    let deadline = Instant::now() + Duration::from_secs(20);
    let topics = loop {
        let seen = sniffer.seen();
        if let Some((topic, _)) = seen.iter().find(|(t, _)| t.ends_with("/ktx")) {
            let base = topic.trim_end_matches("/ktx").to_owned();
            break (format!("{base}/ktx"), format!("{base}/krx"));
        }
        assert!(Instant::now() < deadline, "no keyed session seen");
        thread::sleep(Duration::from_millis(20));
    };
    let mut forged = 0;
    for round in 0..20u64 {
        for topic in [&topics.0, &topics.1] {
            // Plain frames: a close, an ack of everything, data with a marker.
            let close = frame(
                0,
                Some(u64::MAX),
                flags::CAPABLE | flags::DISCONNECT | flags::NO_DATA,
                b"",
            );
            attacker.publish(topic, &close, false);
            attacker.publish(
                topic,
                &frame(0, Some(u64::MAX), flags::CAPABLE | flags::NO_DATA, b""),
                false,
            );
            for seq in 1..9 {
                attacker.publish(
                    topic,
                    &frame(round * 8 + seq, None, flags::CAPABLE, &marker),
                    false,
                );
            }
            forged += 10;
        }
        // Keyed-looking frames: replays of what went by, and altered copies.
        for (topic, payload) in sniffer.seen().iter().rev().take(20) {
            attacker.publish(topic, payload, false);
            let mut altered = payload.clone();
            let at = altered.len() / 2;
            altered[at] ^= 0x01;
            attacker.publish(topic, &altered, false);
            forged += 2;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let received = transfer
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("the transfer failed under forgery: {e}\n{}", fx.logs()));
    assert_same_data("keyed echo under forgery", &received, &data);
    assert!(!contains(&received, &marker));
    assert!(forged > 400);
    // The forgeries are counted in one summary line, not one line each.
    fx.proc(server)
        .wait_for_log("failed authentication", Duration::from_secs(15))
        .unwrap();
    assert!(
        fx.proc(server).log().lines().count() < 20,
        "{}",
        fx.proc(server).log()
    );
    drop(sniffer);
}

#[test]
fn a_recorded_keyed_session_replayed_to_a_restarted_server_delivers_nothing() {
    let echo = Target::echo();
    let mut fx = keyed_fixture("replay");
    let server = fx.server("replayed", echo.port, &[]);
    let (_, port) = fx.client("replayed", &[]);
    let sniffer = Sniffer::start(fx.broker.port, "ssh/replayed/+/ktx");
    let data = Arc::new(random_bytes(256 * 1024, 42));
    let received = echo_through(port, data.clone(), Duration::from_secs(30)).unwrap();
    assert_same_data("recorded session", &received, &data);
    thread::sleep(Duration::from_millis(500));
    let recorded = sniffer.stop();
    assert!(recorded.len() > 8, "recorded {} frames", recorded.len());
    assert_eq!(echo.accepted(), 1);
    // Restarted: no memory of the session id.
    fx.proc(server).kill();
    fx.server("replayed", echo.port, &[]);
    let mut replayer = RawClient::connect(fx.broker.port, "replayer");
    for _ in 0..3 {
        for (topic, payload) in &recorded {
            replayer.publish(topic, payload, false);
        }
        thread::sleep(Duration::from_millis(300));
    }
    thread::sleep(Duration::from_secs(2));
    assert_eq!(
        echo.accepted(),
        1,
        "the replay made the server side dial\n{}",
        fx.logs()
    );
}

/// Connects through the tunnel and expects it to close without a byte
/// within `bound`; returns the client's log.
fn expect_no_session(port: u16, bound: Duration) {
    let mut stream = connect(port);
    stream.set_read_timeout(Some(bound)).unwrap();
    let _ = stream.write_all(b"hello");
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("received {n} bytes without the key"),
    }
}

#[test]
fn a_wrong_key_or_a_missing_key_fails_within_the_setup_timeout_with_one_clear_line() {
    let echo = Target::echo();
    let mut fx = Fixture::new("wrong-key");
    let key = key_file(fx.dir.path(), "psk", KEY);
    let other = key_file(fx.dir.path(), "other", OTHER_KEY);
    fx.server("locked", echo.port, &["--psk-file", &key]);
    fx.server("open", echo.port, &[]);
    // --peer-timeout 4 bounds the setup timeout (default 30 s).
    let cases = [
        ("locked", vec!["--psk-file", other.as_str()], "key differs"),
        ("locked", vec![], "it requires --psk-file"),
        (
            "open",
            vec!["--psk-file", key.as_str()],
            "a server side without a key answers on this id",
        ),
    ];
    for (server, extra, words) in cases {
        let mut args = vec!["--peer-timeout", "4"];
        args.extend(extra.iter().copied());
        let (client, port) = fx.client(server, &args);
        let started = Instant::now();
        expect_no_session(port, Duration::from_secs(10));
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(8),
            "{server} {extra:?}: {waited:?}"
        );
        fx.proc(client)
            .wait_for_log(words, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{server} {extra:?}: {e}"));
        assert_eq!(
            fx.proc(client).log_count("no answer from the server side"),
            1
        );
    }
    assert_eq!(
        echo.accepted(),
        0,
        "a session without the right key was served"
    );
}

#[test]
fn a_forged_unkeyed_announcement_never_makes_a_keyed_client_advise_dropping_its_key() {
    use mqtt_forward::protocol::instance::Announcement;
    let mut fx = keyed_fixture("forged-unkeyed");
    // No server side runs; someone leaves an announcement without a tag.
    let forged = Announcement {
        nonce: [7; 16],
        started_ns: 1,
    }
    .encode();
    let mut attacker = RawClient::connect(fx.broker.port, "attacker");
    attacker.publish("ssh/target/instance", &forged, true);
    let (client, port) = fx.client("target", &["--peer-timeout", "4"]);
    expect_no_session(port, Duration::from_secs(10));
    let said = "no answer from the server side";
    fx.proc(client)
        .wait_for_log(said, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    let log = fx.proc(client).log();
    let line = log.lines().find(|l| l.contains(said)).unwrap_or_default();
    assert!(line.contains("give it the same --psk-file"), "{line}");
    for line in log
        .lines()
        .filter(|l| l.contains("server side") || l.contains("key"))
    {
        for advice in ["neither", "none", "runs without", "run without"] {
            assert!(!line.contains(advice), "{advice:?} advised: {line}");
        }
    }
}

#[test]
fn five_thousand_forged_openings_and_sixteen_hoarders_create_nothing() {
    let echo = Target::echo();
    let mut fx = keyed_fixture("hoard");
    let server = fx.server("hoarded", echo.port, &["--peer-timeout", "3"]);
    let mut attacker = RawClient::connect(fx.broker.port, "attacker");
    let mut rng = random_bytes(6_000 * 64, 43).into_iter();
    let mut forge = |attacker: &mut RawClient, ids: std::ops::Range<u64>| {
        for n in ids {
            let mut payload: Vec<u8> = rng.by_ref().take(40 + (n % 24) as usize).collect();
            // Half of them look like HELLOs of the keyed format.
            if n % 2 == 0 {
                payload[0] = 1;
                payload[1] = 1;
            }
            attacker.publish(&format!("ssh/hoarded/{n:032x}/ktx"), &payload, false);
        }
    };
    // A first thousand warms the allocator's arenas and the buffers every
    // broker connection grows to once (measured: 0.4-0.6 MiB, whatever
    // follows); the bound is on what the next five thousand add.
    forge(&mut attacker, 0..1_000);
    thread::sleep(Duration::from_secs(2));
    let rss_before = fx.proc(server).rss_kib().expect("rss");
    let lines_before = fx.proc(server).log().lines().count();
    forge(&mut attacker, 1_000..6_000);
    // Sixteen hoarders keep "opening" sessions without the key for 4 s, in
    // both formats.
    let opening = frame(
        0,
        None,
        flags::NO_DATA | flags::CAPABLE | flags::OPENING,
        b"",
    );
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        for n in 0..16u64 {
            let topic = format!("ssh/hoarded/{:032x}/ktx", 0xdead_0000 + n);
            attacker.publish(&topic, &opening, false);
            let mut hello = vec![1u8, 1];
            hello.extend(random_bytes(80, n));
            attacker.publish(&topic, &hello, false);
        }
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_secs(11));
    let rss_after = fx.proc(server).rss_kib().expect("rss");
    let log = fx.proc(server).log();
    let new_lines = log.lines().count() - lines_before;
    eprintln!("server RSS {rss_before} KiB -> {rss_after} KiB; {new_lines} new log lines");
    assert!(
        !log.contains("opened to"),
        "a forged frame opened a session\n{log}"
    );
    assert_eq!(echo.accepted(), 0);
    assert!(
        new_lines <= 3,
        "{new_lines} log lines for the forgeries:\n{log}"
    );
    assert!(log.contains("failed authentication"), "{log}");
    assert!(
        rss_after <= rss_before + 512,
        "memory grew from {rss_before} KiB to {rss_after} KiB"
    );
    // A real client with the key still gets through.
    let (_, port) = fx.client("hoarded", &[]);
    let data = Arc::new(random_bytes(64 * 1024, 44));
    let received = echo_through(port, data.clone(), Duration::from_secs(20)).unwrap();
    assert_same_data("a real keyed session after the flood", &received, &data);
}

#[test]
fn list_with_a_key_shows_only_servers_holding_it_and_without_marks_keyed_ones() {
    let echo = Target::echo();
    let mut fx = Fixture::new("keyed-list");
    let key = key_file(fx.dir.path(), "psk", KEY);
    let other = key_file(fx.dir.path(), "other", OTHER_KEY);
    fx.server("keyed-beacon", echo.port, &["-b", "--psk-file", &key]);
    fx.server("other-beacon", echo.port, &["-b", "--psk-file", &other]);
    fx.server("open-beacon", echo.port, &["-b"]);
    let broker_port = fx.broker.port.to_string();
    let list = |extra: &[&str]| {
        let mut args = vec![
            "-l",
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            &broker_port,
        ];
        args.extend_from_slice(extra);
        let out = run_program(&fx.dir, &args, &[], Duration::from_secs(20));
        assert_eq!(out.code, Some(0), "{out:?}");
        out.stdout
    };
    let with_key = list(&["--psk-file", &key]);
    assert!(with_key.contains("keyed-beacon"), "{with_key}");
    assert!(!with_key.contains("other-beacon"), "{with_key}");
    assert!(!with_key.contains("open-beacon"), "{with_key}");
    let without = list(&[]);
    assert!(
        without.contains("keyed-beacon (needs --psk-file)"),
        "{without}"
    );
    assert!(
        without.contains("other-beacon (needs --psk-file)"),
        "{without}"
    );
    assert!(without.contains("open-beacon"), "{without}");
    assert!(!without.contains("open-beacon (needs"), "{without}");
}

#[test]
fn a_keyed_client_resets_its_sessions_within_seconds_of_the_server_side_restarting() {
    let echo = Target::echo();
    let mut fx = keyed_fixture("keyed-restart");
    let server = fx.server("restarting", echo.port, &[]);
    let (client, port) = fx.client("restarting", &[]);
    let mut stream = connect(port);
    stream.write_all(b"before").unwrap();
    let mut back = [0u8; 6];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"before");
    fx.proc(server).kill();
    fx.server("restarting", echo.port, &[]);
    let restarted = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("{n} bytes after the restart"),
    }
    let waited = restarted.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "reset after {waited:?}\n{}",
        fx.logs()
    );
    fx.proc(client)
        .wait_for_log("the server side restarted", Duration::from_secs(5))
        .unwrap();
    // A new session goes to the new process.
    let data = Arc::new(random_bytes(64 * 1024, 45));
    let received = echo_through(port, data.clone(), Duration::from_secs(20)).unwrap();
    assert_same_data("a session after the restart", &received, &data);
}

#[test]
fn a_recorded_keyed_announcement_replayed_neither_resets_sessions_nor_counts_as_a_twin() {
    let echo = Target::echo();
    let mut fx = keyed_fixture("announce-replay");
    let first = fx.server("announced", echo.port, &[]);
    // Record the first process's announcement (retained).
    let mut recorder = RawClient::connect(fx.broker.port, "recorder");
    recorder.subscribe("ssh/announced/instance");
    let (_, old, _) = recorder.next_publish().expect("the retained announcement");
    drop(recorder);
    fx.proc(first).kill();
    let server = fx.server("announced", echo.port, &[]);
    let (client, port) = fx.client("announced", &[]);
    let mut stream = connect(port);
    stream.write_all(b"before").unwrap();
    let mut back = [0u8; 6];
    stream.read_exact(&mut back).unwrap();
    let mut attacker = RawClient::connect(fx.broker.port, "attacker");
    for _ in 0..3 {
        attacker.publish("ssh/announced/instance", &old, false);
        thread::sleep(Duration::from_millis(300));
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"after!").unwrap();
    stream
        .read_exact(&mut back)
        .unwrap_or_else(|e| panic!("the session did not survive the replay: {e}\n{}", fx.logs()));
    assert_eq!(&back, b"after!");
    assert_eq!(fx.proc(client).log_count("the server side restarted"), 0);
    assert_eq!(fx.proc(server).log_count("another server side"), 0);
    assert!(fx.proc(server).exited().is_none());
}
