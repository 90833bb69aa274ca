//! `-l` against a real broker fed by a raw MQTT client: ids a terminal
//! would act on (aedes lets a client put control characters in a topic).

mod common;

use std::time::Duration;

use common::mqtt_raw::{frame, RawClient};
use common::*;

/// The beacon flag of the frame header (src/protocol/flags.rs).
const BEACON: u32 = 0x08;
/// A topic level that retitles the terminal's window, rings, clears the
/// screen and starts an 8-bit CSI.
const HOSTILE_ID: &str = "pi\x1b]0;owned\x07\x1b[2J\u{9b}31m";

/// Publishes the exact beacon a server side publishes (a bare header with
/// the beacon flag) for each of `ids`, retained so that `-l` hears them
/// all at its subscription, and waits until the broker has them.
fn publish_beacons(port: u16, ids: impl IntoIterator<Item = String>) -> RawClient {
    let mut raw = RawClient::connect(port, "beacons");
    let beacon = frame(0, None, BEACON, &[]);
    for id in ids {
        raw.publish(&format!("ssh/{id}/beacon/rx"), &beacon, true);
    }
    // The broker handles one connection's packets in order: once it
    // answers this, it holds every beacon above.
    raw.subscribe("sync/none");
    raw
}

/// Runs `-l` with `extra` against the broker on `port`.
fn list(fx: &Fixture, extra: &[&str]) -> RunOutput {
    let port = fx.broker.port.to_string();
    let mut args = vec!["-l", "--mqtt-host", "127.0.0.1", "--mqtt-port", &port];
    args.extend_from_slice(extra);
    let out = run_program(&fx.dir, &args, &[], Duration::from_secs(30));
    assert_eq!(out.code, Some(0), "{out:?}");
    out
}

/// The ids of `-l --json`'s lines, in order.
fn json_ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("{\"id\":\""))
        .filter_map(|rest| rest.split_once('"').map(|(id, _)| id.to_owned()))
        .collect()
}

/// Asserts `text` holds no character a terminal acts on but newlines.
fn assert_no_control(what: &str, text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && (c.is_control() || c == '\u{202e}'))
        .collect();
    assert!(raw.is_empty(), "{what} holds raw {raw:?}: {text:?}");
}

#[test]
fn a_server_id_with_terminal_escapes_is_listed_escaped() {
    let fx = Fixture::with_aedes("list-escapes");
    let _raw = publish_beacons(fx.broker.port, [HOSTILE_ID.to_owned(), "plain-pi".into()]);
    let table = list(&fx, &[]);
    assert_no_control("the table", &table.stdout);
    assert!(
        table
            .stdout
            .contains("pi\\x1b]0;owned\\x07\\x1b[2J\\u{9b}31m"),
        "{table:?}"
    );
    assert!(table.stdout.contains("plain-pi"), "{table:?}");
    let json = list(&fx, &["--json"]);
    assert_no_control("the JSON", &json.stdout);
    assert!(
        json.stdout
            .contains(r#"{"id":"pi\u001b]0;owned\u0007\u001b[2J\u009b31m","#),
        "{json:?}"
    );
    assert_eq!(json_ids(&json.stdout).len(), 2, "{json:?}");
}

#[test]
fn a_topic_level_with_terminal_escapes_is_logged_escaped() {
    let echo = Target::echo();
    let mut fx = Fixture::with_aedes("log-escapes");
    let server = fx.server("guarded", echo.port, &["-v"]);
    let mut raw = RawClient::connect(fx.broker.port, "forger");
    // Not a session id: the server side ignores it, in a debug line.
    raw.publish("ssh/guarded/\x1b]0;owned\x07\x1b[2J/tx", b"x", false);
    let proc = fx.proc(server);
    proc.wait_for_log("ignoring message on topic", READY_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    let log = proc.log();
    assert!(
        log.contains("ignoring message on topic ssh/guarded/\\x1b]0;owned\\x07\\x1b[2J/tx"),
        "{log}"
    );
    assert_no_control("the log", &log);
}
