//! Cross-built binaries (cross/build.sh) run under qemu-user against a real
//! mosquitto on loopback, next to the native binary: what a router runs,
//! short of the router itself.
//!
//! The tests are ignored in a plain `cargo test`: they need the cross-built
//! binaries and qemu. `cross/test-emulated.sh` builds what is missing and
//! runs them with `MQTT_FORWARD_EMULATED` set to a list of
//! `TARGET=PATH` pairs (whitespace-separated); run by hand, set it and pass
//! `--ignored`. Each test runs for every listed target.
//!
//! The banner test needs the emulated side's retransmission timer, the
//! beacon and `-l` tests its periodic and one-shot timers: they fail with
//! the MIPS timer bug (see .cargo/config.toml), which the echo tests alone
//! did not catch (fast retransmission and the native peer's timers mask it).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::fault_proxy::{FaultProxy, Faults};
use common::*;

const MIB: usize = 1024 * 1024;

/// Bound of a 1 MiB echo through an emulated side (qemu runs the binary
/// 5-20 times slower than natively; with 5 % loss, retransmissions add
/// round trips of a backed-off timeout).
const EMULATED_ECHO_TIMEOUT: Duration = Duration::from_secs(120);
/// The server side's beacon period (src/config.rs).
const BEACON_PERIOD: Duration = Duration::from_secs(3);
/// Bound of the banner test. Two lost copies cost the initial
/// retransmission timeout and its doubling (0.5 + 1 s, src/reliable/rtt.rs);
/// the client side's 5 s heartbeat would wake the server side's task and
/// deliver the banner at 10 s even with dead timers (measured), so the
/// bound must stay below 5 s.
const BANNER_BOUND: Duration = Duration::from_secs(4);

/// One cross-built binary and the qemu-user that runs it.
struct Emulated {
    /// The target triple and the binary's file name, for messages.
    target: String,
    program: Vec<String>,
}

/// The qemu-user binary for a Rust target triple.
fn qemu_for(target: &str) -> &'static str {
    let arch = target.split('-').next().unwrap_or_default();
    match arch {
        "mips" => "qemu-mips-static",
        "mipsel" => "qemu-mipsel-static",
        "aarch64" => "qemu-aarch64-static",
        a if a.starts_with("armv7") || a.starts_with("arm") => "qemu-arm-static",
        "x86_64" => "",
        other => panic!("no qemu-user known for target {target} (arch {other})"),
    }
}

/// The binaries to test, from `MQTT_FORWARD_EMULATED`.
fn emulated() -> Vec<Emulated> {
    let list = std::env::var("MQTT_FORWARD_EMULATED").unwrap_or_else(|_| {
        panic!(
            "MQTT_FORWARD_EMULATED is not set: run cross/test-emulated.sh, or set it to \
             TARGET=PATH pairs of cross-built binaries"
        )
    });
    let all: Vec<Emulated> = list
        .split_whitespace()
        .map(|pair| {
            let (target, path) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("MQTT_FORWARD_EMULATED: {pair:?} is not TARGET=PATH"));
            assert!(
                Path::new(path).is_file(),
                "MQTT_FORWARD_EMULATED: {path} ({target}) does not exist: build it with cross/build.sh"
            );
            let qemu = qemu_for(target);
            let mut program = Vec::new();
            if !qemu.is_empty() {
                program.push(qemu.to_owned());
            }
            program.push(path.to_owned());
            let file = Path::new(path).file_name().map_or(path.into(), |f| f.to_string_lossy());
            Emulated {
                target: format!("{target} ({file})"),
                program,
            }
        })
        .collect();
    assert!(!all.is_empty(), "MQTT_FORWARD_EMULATED lists no binary");
    all
}

/// A fixture whose server sides run `emu`.
fn fixture_with_emulated_server(tag: &str, emu: &Emulated) -> Fixture {
    let mut fx = Fixture::new(tag);
    fx.server_program = emu.program.clone();
    fx
}

/// Echoes 1 MiB through the client side on `port`, checks it, and prints
/// the rate and the emulated process's memory.
fn echo_1_mib(what: &str, port: u16, seed: u64, emulated: &Proc) {
    let data = Arc::new(random_bytes(MIB, seed));
    let started = Instant::now();
    let received = echo_through(port, data.clone(), EMULATED_ECHO_TIMEOUT)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let elapsed = started.elapsed();
    assert_same_data(what, &received, &data);
    eprintln!(
        "{what}: 1 MiB echo in {elapsed:.2?} ({:.2} MB/s); RSS of the emulated process \
         (qemu included) {} KiB",
        MIB as f64 / elapsed.as_secs_f64() / 1e6,
        emulated.rss_kib().map_or("?".to_owned(), |k| k.to_string())
    );
}

#[test]
#[ignore = "needs cross-built binaries and qemu: run cross/test-emulated.sh"]
fn emulated_server_side_echoes_1_mib_intact_at_qos_1() {
    for emu in emulated() {
        let echo = Target::echo();
        let mut fx = fixture_with_emulated_server("emu-qos1", &emu);
        let server = fx.server("emu-qos1", echo.port, &["--mqtt-qos", "1"]);
        let (_, port) = fx.client("emu-qos1", &["--mqtt-qos", "1"]);
        let what = format!("{} server side, QoS 1", emu.target);
        echo_1_mib(&what, port, 11, fx.proc(server));
    }
}

#[test]
#[ignore = "needs cross-built binaries and qemu: run cross/test-emulated.sh"]
fn emulated_server_side_echoes_1_mib_intact_at_qos_0_through_5_percent_frame_loss() {
    for emu in emulated() {
        let echo = Target::echo();
        let mut fx = fixture_with_emulated_server("emu-lossy", &emu);
        // Both directions of the server side's broker link lose 5 % of the
        // publishes: the reliability layer (fast retransmission on gaps, and
        // timers for a lost tail) must recover them.
        let proxy = FaultProxy::start(fx.broker.port, Faults::drop(5, 0x5eed));
        fx.server_mqtt_port = Some(proxy.port);
        let server = fx.server("emu-lossy", echo.port, &["--mqtt-qos", "0"]);
        let (_, port) = fx.client("emu-lossy", &["--mqtt-qos", "0"]);
        let what = format!("{} server side, QoS 0, 5 % loss", emu.target);
        echo_1_mib(&what, port, 12, fx.proc(server));
        assert!(
            proxy.dropped() > 0,
            "{what}: the proxy dropped nothing out of {} QoS 0 publishes",
            proxy.qos0_publishes()
        );
        eprintln!(
            "{what}: {} of {} QoS 0 publishes dropped",
            proxy.dropped(),
            proxy.qos0_publishes()
        );
    }
}

#[test]
#[ignore = "needs cross-built binaries and qemu: run cross/test-emulated.sh"]
fn emulated_server_side_beacon_repeats_and_a_native_list_sees_it() {
    for emu in emulated() {
        let mut fx = fixture_with_emulated_server("emu-beacon", &emu);
        let id = "emu-beacon";
        fx.server(id, 9, &["-b"]);
        // The first beacon goes out at start-up; a listing that starts more
        // than one period later sees the server only if the periodic timer
        // fires under emulation.
        thread::sleep(BEACON_PERIOD + Duration::from_secs(1));
        let port = fx.broker.port.to_string();
        let out = run_program(
            &fx.dir,
            &["-l", "--mqtt-host", "127.0.0.1", "--mqtt-port", &port],
            &[],
            Duration::from_secs(20),
        );
        assert_eq!(out.code, Some(0), "{}: {out:?}", emu.target);
        assert!(
            out.stdout.contains(id),
            "{}: a native -l started {BEACON_PERIOD:?} after the emulated server side did \
             not see its beacon: {out:?}\n{}",
            emu.target,
            fx.logs()
        );
    }
}

/// Runs `-l` (with `extra` flags) under qemu; returns its output once it
/// has exited 0, within one beacon period plus qemu's start-up and the
/// broker connection.
fn emulated_list(fx: &mut Fixture, emu: &Emulated, extra: &[&str]) -> String {
    let port = fx.broker.port.to_string();
    let mut args: Vec<String> = ["-l", "--mqtt-host", "127.0.0.1", "--mqtt-port", &port]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let list = fx.spawn_program("list", &emu.program, &args, &[]);
    let (code, took) = fx
        .proc(list)
        .wait_exit(BEACON_PERIOD + Duration::from_secs(12));
    let output = fx.proc(list).log();
    assert_eq!(
        code,
        Some(0),
        "{}: -l {extra:?} failed: {output}",
        emu.target
    );
    eprintln!(
        "{}: -l {extra:?} under qemu answered in {took:.2?}",
        emu.target
    );
    output
}

/// True if the binary has `-l` (the router build leaves it out).
fn has_list_mode(emu: &Emulated) -> bool {
    let out = std::process::Command::new(&emu.program[0])
        .args(&emu.program[1..])
        .arg("--version")
        .output()
        .expect("run --version");
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.starts_with("mqtt-forward "), "{version}");
    !version.contains("list")
}

#[test]
#[ignore = "needs cross-built binaries and qemu: run cross/test-emulated.sh"]
fn list_mode_under_qemu_answers_within_its_beacon_period() {
    for emu in emulated().into_iter().filter(has_list_mode) {
        let mut fx = Fixture::new("emu-list");
        let id = "native-beacon";
        fx.server(id, 9, &["-b"]);
        let output = emulated_list(&mut fx, &emu, &[]);
        assert!(output.contains(id), "{}: not listed: {output}", emu.target);
        // With no beacon at all on the prefix, only the listing's own timer
        // can end it.
        let output = emulated_list(&mut fx, &emu, &["--mqtt-topic-prefix", "silent"]);
        assert!(!output.contains(id), "{}: {output}", emu.target);
    }
}

#[test]
#[ignore = "needs cross-built binaries and qemu: run cross/test-emulated.sh"]
fn emulated_server_side_resends_a_lost_banner_on_its_own_timer() {
    const BANNER: &[u8] = b"SSH-2.0-emulated-banner-7f3a\r\n";
    for emu in emulated() {
        // Like sshd: the target speaks first, then waits for the client.
        let target = Target::spawn(|mut stream| {
            use std::io::{Read, Write};
            let _ = stream.write_all(BANNER);
            let _ = stream.read_to_end(&mut Vec::new());
        });
        let mut fx = fixture_with_emulated_server("emu-banner", &emu);
        // The first two frames carrying the banner are lost; nothing else
        // flows until the server side retransmits it on its timer.
        let faults = Faults {
            drop_first_containing: Some((BANNER.to_vec(), 2)),
            ..Faults::default()
        };
        let proxy = FaultProxy::start(fx.broker.port, faults);
        fx.server_mqtt_port = Some(proxy.port);
        fx.server("emu-banner", target.port, &["--mqtt-qos", "0"]);
        let (_, port) = fx.client("emu-banner", &["--mqtt-qos", "0"]);
        let started = Instant::now();
        let mut stream = connect(port);
        stream.set_read_timeout(Some(BANNER_BOUND)).unwrap();
        let mut banner = vec![0u8; BANNER.len()];
        use std::io::Read;
        stream.read_exact(&mut banner).unwrap_or_else(|e| {
            panic!(
                "{}: no banner within {BANNER_BOUND:?} after {} lost copies: {e}\n{}",
                emu.target,
                proxy.marker_dropped(),
                fx.logs()
            )
        });
        assert_eq!(banner, BANNER, "{}", emu.target);
        assert_eq!(proxy.marker_dropped(), 2, "{}", emu.target);
        eprintln!(
            "{}: banner arrived {:.2?} after connecting, 2 copies lost",
            emu.target,
            started.elapsed()
        );
    }
}

#[test]
#[ignore = "needs cross-built binaries and qemu: run cross/test-emulated.sh"]
fn emulated_client_side_echoes_1_mib_intact_through_a_native_server_side() {
    for emu in emulated() {
        let echo = Target::echo();
        let mut fx = Fixture::new("emu-client");
        fx.client_program = emu.program.clone();
        fx.server("emu-client", echo.port, &[]);
        let (client, port) = fx.client("emu-client", &[]);
        let what = format!("{} client side, QoS 1", emu.target);
        echo_1_mib(&what, port, 13, fx.proc(client));
    }
}
