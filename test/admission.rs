//! What a server side admits, against a real mosquitto and a publisher
//! that opens sessions: the memory it grows by is bounded by the buffer
//! budget (`--max-buffer-memory`) for any number of sessions, and sessions
//! opened and closed at once neither make it dial without limit nor flood
//! its log.

mod common;

use std::time::{Duration, Instant};

use common::mqtt_raw::{flags, frame, RawClient};
use common::*;

/// A session id as the client side makes them (32 lowercase hex digits).
fn session_id(n: u64) -> String {
    format!("{n:032x}")
}

/// Opens `sessions` sessions on `server_id` from `attacker`; each gets
/// `frames` frames of `size` bytes after a withheld frame 1, which it can
/// only buffer.
fn hoard(attacker: &mut RawClient, server_id: &str, sessions: u64, frames: u64, size: usize) {
    let opening = frame(
        0,
        None,
        flags::NO_DATA | flags::CAPABLE | flags::OPENING,
        b"",
    );
    let payload = vec![0x5au8; size];
    for n in 0..sessions {
        let topic = format!("ssh/{server_id}/{}/tx", session_id(1000 + n));
        attacker.publish(&topic, &opening, false);
        for seq in 2..2 + frames {
            attacker.publish(&topic, &frame(seq, None, flags::CAPABLE, &payload), false);
        }
    }
}

/// RSS growth of `server` (peak over the value before), MiB.
fn grown_mib(before: u64, peak: u64) -> f64 {
    peak.saturating_sub(before) as f64 / 1024.0
}

#[test]
fn sixteen_hoarding_sessions_grow_memory_by_at_most_the_buffer_budget() {
    const SESSIONS: u64 = 16;
    const BUDGET_MIB: u64 = 8;
    let echo = Target::echo();
    let mut fx = Fixture::new("hoard");
    let budget = BUDGET_MIB.to_string();
    let server = fx.server("hoard", echo.port, &["--max-buffer-memory", &budget]);
    std::thread::sleep(Duration::from_millis(500));
    let before = fx.proc(server).rss_kib().expect("rss");
    let mut attacker = RawClient::connect(fx.broker.port, "hoarder");
    hoard(&mut attacker, "hoard", SESSIONS, 198, 60_000);
    std::thread::sleep(Duration::from_secs(3));
    let proc = fx.proc(server);
    let peak = proc.peak_rss_kib().expect("peak");
    let grown = grown_mib(before, peak);
    eprintln!(
        "{SESSIONS} hoarding sessions ({} MiB offered): RSS {before} KiB before, peak {peak} KiB (+{grown:.1} MiB), budget {BUDGET_MIB} MiB",
        SESSIONS * 198 * 60_000 / (1 << 20)
    );
    // The budget, plus a fixed overhead (the sessions' minimum windows,
    // inboxes emptied in batches), and slack. Before the budget existed:
    // 12.5 MiB per session, 187 MiB here.
    assert!(
        grown <= BUDGET_MIB as f64 + 10.0,
        "RSS grew by {grown:.1} MiB with a {BUDGET_MIB} MiB budget"
    );
    assert!(proc.exited().is_none());
}

#[test]
fn a_thousand_hoarding_sessions_grow_memory_by_at_most_the_buffer_budget() {
    const SESSIONS: u64 = 1024;
    const BUDGET_MIB: u64 = 8;
    let echo = Target::echo();
    let mut fx = Fixture::new("thousand");
    let budget = BUDGET_MIB.to_string();
    let server = fx.server("many", echo.port, &["--max-buffer-memory", &budget]);
    std::thread::sleep(Duration::from_millis(500));
    let before = fx.proc(server).rss_kib().expect("rss");
    let mut attacker = RawClient::connect(fx.broker.port, "hoarder");
    // Repeated as clients repeat their openings: new sessions are
    // admitted at 50 a second beyond a burst of 256.
    for _ in 0..4 {
        hoard(&mut attacker, "many", SESSIONS, 3, 60_000);
        std::thread::sleep(Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_secs(1));
    let proc = fx.proc(server);
    let peak = proc.peak_rss_kib().expect("peak");
    let grown = grown_mib(before, peak);
    eprintln!(
        "{SESSIONS} hoarding sessions: RSS {before} KiB before, peak {peak} KiB (+{grown:.1} MiB), budget {BUDGET_MIB} MiB"
    );
    // Before sessions were admitted by the budget: +73.4 MiB (37 KiB per
    // session merely open, the rest frames held).
    assert!(
        grown <= BUDGET_MIB as f64 + 10.0,
        "RSS grew by {grown:.1} MiB with a {BUDGET_MIB} MiB budget\n{}",
        proc.log()
    );
    assert_eq!(
        proc.log_count("--max-buffer-memory holds"),
        1,
        "the bound is said once\n{}",
        proc.log()
    );
    assert!(proc.exited().is_none());
}

#[test]
fn sessions_opened_and_closed_at_once_neither_dial_the_target_without_limit_nor_flood_the_log() {
    const SECS: u64 = 5;
    let echo = Target::echo();
    let mut fx = Fixture::new("churn");
    let server = fx.server("churn", echo.port, &["--max-sessions", "4096"]);
    std::thread::sleep(Duration::from_millis(500));
    let lines_before = fx.proc(server).log().lines().count();
    let mut attacker = RawClient::connect(fx.broker.port, "churner");
    let opening = frame(
        0,
        None,
        flags::NO_DATA | flags::CAPABLE | flags::OPENING,
        b"",
    );
    let close = frame(
        1,
        None,
        flags::NO_DATA | flags::CAPABLE | flags::DISCONNECT,
        b"",
    );
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(SECS) {
        let topic = format!("ssh/churn/{}/tx", session_id(50_000 + n));
        attacker.publish(&topic, &opening, false);
        attacker.publish(&topic, &close, false);
        n += 1;
    }
    // The summary (one line per 10 s) says what was refused and counted.
    fx.proc(server)
        .wait_for_log(
            "sessions closed without carrying a byte",
            Duration::from_secs(20),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let dials = echo.accepted();
    let log = fx.proc(server).log();
    let lines = log.lines().count() - lines_before;
    eprintln!("{n} sessions opened and closed in {SECS} s: {dials} dials, {lines} log lines");
    // The burst (256) and 50 a second, with slack for timing. Before:
    // 45,650 dials and 91,305 lines in 10 s.
    assert!(dials <= 256 + 50 * (SECS as usize + 3), "{dials} dials");
    assert!(lines <= 4, "{lines} log lines:\n{log}");
    assert!(
        log.contains("beyond the new sessions allowed per second"),
        "{log}"
    );
    assert!(fx.proc(server).exited().is_none());
}
