//! End-to-end tests: a private mosquitto, a server side and a client side
//! of the real binary, and in-process TCP targets.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const MIB: usize = 1024 * 1024;
const KIB: usize = 1024;

/// Bound of an 8 MiB echo (both directions at once) in the debug build.
const BIG_ECHO_TIMEOUT: Duration = Duration::from_secs(50);

/// Starts a server side forwarding to `target_port` and a client side, both
/// with `extra` flags; returns the client side's listening port.
fn tunnel(fx: &mut Fixture, id: &str, target_port: u16, extra: &[&str]) -> u16 {
    fx.server(id, target_port, extra);
    fx.client(id, extra).1
}

fn echo_8_mib_at_qos(qos: &str, seed: u64) {
    let echo = Target::echo();
    let mut fx = Fixture::new(&format!("echo-qos{qos}"));
    let id = format!("echo-qos{qos}");
    let port = tunnel(&mut fx, &id, echo.port, &["--mqtt-qos", qos]);
    let data = Arc::new(random_bytes(8 * MIB, seed));
    let started = Instant::now();
    let received = echo_through(port, data.clone(), BIG_ECHO_TIMEOUT)
        .unwrap_or_else(|e| panic!("8 MiB echo at QoS {qos}: {e}"));
    let elapsed = started.elapsed();
    assert_same_data(&format!("8 MiB echo at QoS {qos}"), &received, &data);
    eprintln!("8 MiB echo at QoS {qos}: {elapsed:.2?}");
    assert_eq!(
        echo.accepted(),
        1,
        "the target should see exactly one session"
    );
}

#[test]
fn echo_of_8_mib_is_intact_at_qos_0() {
    echo_8_mib_at_qos("0", 0);
}

#[test]
fn echo_of_8_mib_is_intact_at_qos_1() {
    echo_8_mib_at_qos("1", 1);
}

#[test]
fn echo_of_8_mib_is_intact_at_qos_2() {
    echo_8_mib_at_qos("2", 2);
}

#[test]
fn sixteen_concurrent_sessions_each_echo_512_kib_intact() {
    const SESSIONS: usize = 16;
    let echo = Target::echo();
    let mut fx = Fixture::new("concurrent");
    let port = tunnel(&mut fx, "concurrent", echo.port, &[]);
    let threads: Vec<_> = (0..SESSIONS)
        .map(|i| {
            thread::spawn(move || {
                let data = Arc::new(random_bytes(512 * KIB, 100 + i as u64));
                let received = echo_through(port, data.clone(), Duration::from_secs(50))
                    .map_err(|e| format!("session {i}: {e}"))?;
                if received.len() != data.len() || sha256(&received) != sha256(&data) {
                    return Err(format!(
                        "session {i}: received {} bytes (sha256 {}), sent {} (sha256 {})",
                        received.len(),
                        hex(&sha256(&received)),
                        data.len(),
                        hex(&sha256(&data))
                    ));
                }
                Ok(())
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .filter_map(|t| {
            t.join()
                .unwrap_or_else(|_| Err("thread panicked".into()))
                .err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(echo.accepted(), SESSIONS);
}

#[test]
fn client_to_target_transfer_of_4_mib_arrives_intact_and_eof_reaches_the_target() {
    let sink = Target::sink();
    let mut fx = Fixture::new("upload");
    let port = tunnel(&mut fx, "upload", sink.port, &[]);
    let data = random_bytes(4 * MIB, 7);
    let mut stream = connect(port);
    write_all_then_shutdown(&mut stream, &data).unwrap_or_else(|e| panic!("{e}"));
    // The sink answers only once it has read EOF, so an answer proves that
    // the half-close crossed the tunnel; then it closes, which must end
    // this connection too.
    let reply = read_to_eof(&mut stream, Instant::now() + Duration::from_secs(40), None)
        .unwrap_or_else(|e| panic!("reading the sink's reply: {e}"));
    assert_eq!(reply.len(), 40, "sink reply: {}", hex(&reply));
    let count = u64::from_be_bytes(reply[32..].try_into().unwrap());
    assert_eq!(count, data.len() as u64, "bytes the target received");
    assert_eq!(
        hex(&reply[..32]),
        hex(&sha256(&data)),
        "SHA-256 of what the target received"
    );
}

#[test]
fn target_to_client_transfer_of_4_mib_arrives_intact_and_close_reaches_the_client() {
    let data = Arc::new(random_bytes(4 * MIB, 8));
    let source = Target::source(data.clone());
    let mut fx = Fixture::new("download");
    let port = tunnel(&mut fx, "download", source.port, &[]);
    let mut stream = connect(port);
    let received = read_to_eof(&mut stream, Instant::now() + Duration::from_secs(40), None)
        .unwrap_or_else(|e| panic!("reading from the source: {e}"));
    assert_same_data("target to client", &received, &data);
}

#[test]
fn half_closed_client_still_receives_the_whole_echo() {
    let echo = Target::echo();
    let mut fx = Fixture::new("half-close");
    let port = tunnel(&mut fx, "half-close", echo.port, &[]);
    // Small enough to sit in socket buffers while nothing reads it.
    let data = random_bytes(64 * KIB, 9);
    let mut stream = connect(port);
    write_all_then_shutdown(&mut stream, &data).unwrap_or_else(|e| panic!("{e}"));
    let received = read_to_eof(&mut stream, Instant::now() + Duration::from_secs(20), None)
        .unwrap_or_else(|e| panic!("reading the echo after shutdown(Write): {e}"));
    assert_same_data("echo after half-close", &received, &data);
}

#[test]
fn target_sees_eof_after_client_half_close_and_can_still_send_1_mib_back() {
    // This target sends nothing until it has read EOF.
    let target = Target::echo_after_eof();
    let mut fx = Fixture::new("reply-after-eof");
    let port = tunnel(&mut fx, "reply-after-eof", target.port, &[]);
    let data = random_bytes(MIB, 10);
    let mut stream = connect(port);
    write_all_then_shutdown(&mut stream, &data).unwrap_or_else(|e| panic!("{e}"));
    let received = read_to_eof(&mut stream, Instant::now() + Duration::from_secs(30), None)
        .unwrap_or_else(|e| panic!("reading the reply sent after EOF: {e}"));
    assert_same_data("reply sent after EOF", &received, &data);
}

#[test]
fn each_new_session_echoes_its_first_byte_within_2_seconds() {
    const BOUND: Duration = Duration::from_secs(2);
    let echo = Target::echo();
    let mut fx = Fixture::new("setup");
    let port = tunnel(&mut fx, "setup", echo.port, &[]);
    let mut times = Vec::new();
    for i in 0..5u8 {
        let started = Instant::now();
        let mut stream = connect(port);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(&[i]).unwrap();
        let mut byte = [0u8; 1];
        stream
            .read_exact(&mut byte)
            .unwrap_or_else(|e| panic!("session {i}: no echo of the first byte: {e}"));
        let elapsed = started.elapsed();
        assert_eq!(byte[0], i, "session {i}: wrong byte echoed");
        assert!(
            elapsed < BOUND,
            "session {i}: first byte echoed after {elapsed:?} (bound {BOUND:?}); earlier: {times:?}"
        );
        times.push(elapsed);
        drop(stream);
    }
    eprintln!("first-byte round trips: {times:?}");
    assert_eq!(echo.accepted(), 5, "each connection is a new session");
}

#[test]
fn refused_target_closes_the_client_connection_within_3_seconds() {
    let closed_port = free_port();
    let mut fx = Fixture::new("refused");
    fx.server("refused", closed_port, &[]);
    let (client, port) = fx.client("refused", &[]);
    for attempt in 0..2 {
        let started = Instant::now();
        // Reset at once: on loopback the reset may even beat the end of
        // the connect.
        let outcome = try_connect(port).and_then(|mut stream| {
            stream.set_read_timeout(Some(Duration::from_secs(3)))?;
            if attempt == 1 {
                // With data pending too.
                let _ = stream.write_all(b"hello");
            }
            stream.read(&mut [0u8; 16])
        });
        let elapsed = started.elapsed();
        eprintln!("attempt {attempt}: {outcome:?} after {elapsed:.2?}");
        match outcome {
            Ok(0) => {}
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => {}
            Ok(n) => panic!("attempt {attempt}: received {n} bytes from a refused target"),
            Err(e) => panic!(
                "attempt {attempt}: connection not closed within 3 s ({e}, {:?}, after {elapsed:?})",
                e.kind()
            ),
        }
        assert!(
            elapsed < Duration::from_secs(3),
            "attempt {attempt}: closed after {elapsed:?}"
        );
    }
    // The server side's reason reaches the client side's log, in words.
    fx.proc(client)
        .wait_for_log(
            "closed (the target refused the connection)",
            Duration::from_secs(5),
        )
        .unwrap();
}

#[test]
fn remote_port_on_the_client_overrides_the_server_target_port() {
    let echo = Target::echo();
    let closed_port = free_port();
    let mut fx = Fixture::new("remote-port");
    let allow = format!("127.0.0.1:{}", echo.port);
    fx.server("remote-port", closed_port, &["--allow-remote", &allow]);
    let remote = echo.port.to_string();
    let (_, port) = fx.client("remote-port", &["--remote-port", &remote]);
    let data = Arc::new(random_bytes(64 * KIB, 11));
    let received = echo_through(port, data.clone(), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("echo via --remote-port: {e}"));
    assert_same_data("echo via --remote-port", &received, &data);
    assert_eq!(echo.accepted(), 1);
}

#[test]
fn remote_ip_on_the_client_overrides_the_server_target_address() {
    // The echo target listens on 127.0.0.1 only; the server side's default
    // target 127.0.0.2 (also loopback on Linux) refuses.
    let echo = Target::echo();
    let mut fx = Fixture::new("remote-ip");
    fx.server(
        "remote-ip",
        echo.port,
        &["-a", "127.0.0.2", "--allow-remote", "127.0.0.0/24:*"],
    );
    let (_, port) = fx.client("remote-ip", &["--remote-ip", "127.0.0.1"]);
    let data = Arc::new(random_bytes(64 * KIB, 12));
    let received = echo_through(port, data.clone(), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("echo via --remote-ip: {e}"));
    assert_same_data("echo via --remote-ip", &received, &data);
    assert_eq!(echo.accepted(), 1);
}

#[test]
fn custom_topic_prefix_on_both_sides_tunnels() {
    let echo = Target::echo();
    let mut fx = Fixture::new("prefix");
    let port = tunnel(
        &mut fx,
        "prefix",
        echo.port,
        &["--mqtt-topic-prefix", "elsewhere"],
    );
    let data = Arc::new(random_bytes(64 * KIB, 13));
    let received = echo_through(port, data.clone(), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("echo with --mqtt-topic-prefix: {e}"));
    assert_same_data("echo with --mqtt-topic-prefix", &received, &data);
}

#[test]
fn list_mode_sees_a_server_side_that_publishes_beacons() {
    let echo = Target::echo();
    let mut fx = Fixture::new("list");
    fx.server("beaconing-server-7", echo.port, &["-b"]);
    // A server side without -b must not be listed.
    fx.server("silent-server-8", echo.port, &[]);
    let broker_port = fx.broker.port.to_string();
    let out = run_program(
        &fx.dir,
        &[
            "-l",
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            &broker_port,
        ],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("Detected servers:"), "{out:?}");
    assert!(out.stdout.contains("Server ID"), "{out:?}");
    assert!(out.stdout.contains("Last seen (seconds ago)"), "{out:?}");
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("beaconing-server-7"))
        .collect();
    assert_eq!(rows.len(), 1, "one row for the server: {out:?}");
    assert!(!out.stdout.contains("silent-server-8"), "{out:?}");
    eprintln!("-l took {:.2?}", out.elapsed);
}

#[test]
fn a_session_survives_a_broker_restart() {
    survives_a_broker_restart(Fixture::new("broker-restart"));
}

#[test]
fn a_session_survives_a_broker_restart_over_mutual_tls() {
    survives_a_broker_restart(Fixture::mutual_tls("broker-restart-tls").0);
}

/// Echoes 1 MiB, kills the broker, writes 2 MiB more, restarts the broker
/// and checks that all of it comes back intact within a bound.
fn survives_a_broker_restart(mut fx: Fixture) {
    const BEFORE: usize = MIB;
    const ACROSS: usize = 2 * MIB;
    let echo = Target::echo();
    let port = tunnel(&mut fx, "broker-restart", echo.port, &[]);
    let mut stream = connect(port);

    // Phase 1: a complete round trip, so the session is established.
    let before = random_bytes(BEFORE, 14);
    let mut reader = stream.try_clone().unwrap();
    let echoed = thread::spawn(move || {
        let mut buf = vec![0u8; BEFORE];
        reader.read_exact(&mut buf).map(|()| buf)
    });
    stream.write_all(&before).unwrap();
    let echoed = echoed
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("echo before the restart: {e}"));
    assert_same_data("echo before the restart", &echoed, &before);

    // Phase 2: the broker is killed, more data is written while it is down,
    // and it is restarted a second later. (Killing it only after starting
    // the transfer would race a fast transfer to its end.)
    fx.broker.kill();
    let across = Arc::new(random_bytes(ACROSS, 15));
    let progress = Arc::new(AtomicUsize::new(0));
    let mut writer_stream = stream.try_clone().unwrap();
    let writer = {
        let across = across.clone();
        thread::spawn(move || write_all_then_shutdown(&mut writer_stream, &across))
    };
    let reader = {
        let progress = progress.clone();
        let mut stream = stream.try_clone().unwrap();
        thread::spawn(move || {
            read_to_eof(
                &mut stream,
                Instant::now() + Duration::from_secs(40),
                Some(&progress),
            )
        })
    };
    thread::sleep(Duration::from_secs(1));
    let at_restart = progress.load(Ordering::Relaxed);
    fx.broker.restart();
    let restarted = Instant::now();

    // Recovery is bounded by the reconnection backoff plus retransmission.
    let deadline = restarted + Duration::from_secs(20);
    while !reader.is_finished() {
        assert!(
            Instant::now() < deadline,
            "no recovery within 20 s of the broker restart: {} of {ACROSS} bytes echoed",
            progress.load(Ordering::Relaxed)
        );
        thread::sleep(Duration::from_millis(10));
    }
    let recovered = restarted.elapsed();
    let received = reader
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("echo across the broker restart: {e}"));
    writer
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("writing across the broker restart: {e}"));
    assert_eq!(at_restart, 0, "bytes were echoed while there was no broker");
    assert_same_data("echo across the broker restart", &received, &across);
    eprintln!("finished {recovered:.2?} after the restart");
}

#[test]
fn client_reset_does_not_disturb_a_parallel_session() {
    let echo = Target::echo();
    let mut fx = Fixture::new("reset");
    let port = tunnel(&mut fx, "reset", echo.port, &[]);
    // One session is abandoned mid-stream: closed while the echo of what
    // it sent is still arriving, so the client side's writes fail.
    let mut doomed = connect(port);
    doomed.write_all(&random_bytes(256 * KIB, 15)).unwrap();
    thread::sleep(Duration::from_millis(200));
    let _ = doomed.shutdown(Shutdown::Both);
    drop(doomed);
    let data = Arc::new(random_bytes(512 * KIB, 16));
    let received = echo_through(port, data.clone(), Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("echo after another session's reset: {e}"));
    assert_same_data("echo after another session's reset", &received, &data);
}

#[test]
fn a_stalled_target_stalls_the_sender_and_loses_nothing() {
    // The target accepts but does not read for a while: the tunnel must
    // push back (the client's writes block) instead of buffering without
    // bound, and everything written must arrive once it reads again.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target_port = listener.local_addr().unwrap().port();
    let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let release_target = release.clone();
    let target = thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("target accept");
        while !release_target.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(20));
        }
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        read_to_eof(&mut conn, Instant::now() + Duration::from_secs(60), None)
    });
    let mut fx = Fixture::new("stalled-target");
    let port = tunnel(&mut fx, "stalled", target_port, &[]);
    let mut stream = connect(port);
    stream
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let chunk = random_bytes(64 * KIB, 77);
    let mut written = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        match stream.write(&chunk) {
            Ok(n) => written.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!(
                "write failed after {} bytes: {e}\n{}",
                written.len(),
                fx.logs()
            ),
        }
    }
    // Without backpressure the client could write at hundreds of MB/s for
    // 3 s; with it, only socket buffers and one window are in flight.
    assert!(
        written.len() < 64 * MIB,
        "{} bytes accepted while the target was stalled",
        written.len()
    );
    eprintln!("accepted while stalled: {} bytes", written.len());
    release.store(true, Ordering::Relaxed);
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let received = target
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("target: {e}\n{}", fx.logs()));
    assert_same_data(
        "data written while the target was stalled",
        &received,
        &written,
    );
}

#[test]
fn list_mode_in_json_says_which_servers_are_this_program() {
    let echo = Target::echo();
    let mut fx = Fixture::new("list-json");
    fx.server("json-server-9", echo.port, &["-b"]);
    let broker_port = fx.broker.port.to_string();
    let out = run_program(
        &fx.dir,
        &[
            "-l",
            "--json",
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            &broker_port,
        ],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("\"json-server-9\""))
        .unwrap_or_else(|| panic!("no line for the server: {out:?}"));
    assert!(
        line.starts_with("{\"id\":\"json-server-9\",\"last_seen_secs\":"),
        "{line}"
    );
    assert!(line.contains("\"program\":\"mqtt-forward\""), "{line}");
    assert!(
        line.ends_with("\"needs_key\":false,\"gone\":false}"),
        "{line}"
    );
    assert!(!out.stdout.contains("Detected servers"), "{out:?}");
}

#[test]
fn list_watch_redraws_in_place_on_a_terminal_and_appends_otherwise() {
    use std::process::Command;
    let echo = Target::echo();
    let mut fx = Fixture::new("list-watch");
    fx.server("watched-server", echo.port, &["-b"]);
    let broker_port = fx.broker.port.to_string();
    let list = format!("{BIN} -l --watch --mqtt-host 127.0.0.1 --mqtt-port {broker_port}");
    // On a terminal (script(1) gives it one): home and clear before each
    // table.
    let tty = Command::new("timeout")
        .args(["9", "script", "-qec", &list, "/dev/null"])
        .output()
        .expect("run script(1)");
    let tty_out = String::from_utf8_lossy(&tty.stdout);
    assert!(tty_out.matches("\x1b[H\x1b[2J").count() >= 2, "{tty_out:?}");
    assert!(tty_out.contains("watched-server"), "{tty_out:?}");
    // Into a pipe: plain tables, one after the other.
    let piped = Command::new("timeout")
        .args(["9", "sh", "-c", &list])
        .output()
        .expect("run the listing");
    let piped_out = String::from_utf8_lossy(&piped.stdout);
    assert!(!piped_out.contains('\x1b'), "{piped_out:?}");
    assert!(
        piped_out.matches("watched-server").count() >= 2,
        "{piped_out:?}"
    );
    assert!(piped_out.contains("mqtt-forward"), "{piped_out:?}");
}
