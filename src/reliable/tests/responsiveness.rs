//! Latency under load and throughput on slow shared uplinks, in the link
//! simulator: an interactive session's round trip beside bulk transfers,
//! against the same session's round trip alone, and the bulk sessions'
//! share of the link.

use std::time::Duration;

use super::link_model::Shape;
use super::link_sim::{median, App, LinkSim, CLIENT, SERVER};
use super::sim_support::seeds;
use crate::protocol::limits::{DEFAULT_FRAME_DATA, DEFAULT_PEER_TIMEOUT, DEFAULT_WINDOW};
use crate::reliable::session::SessionConfig;

const KIB: u64 = 1024;

fn config() -> SessionConfig {
    SessionConfig {
        window: DEFAULT_WINDOW,
        frame_data: DEFAULT_FRAME_DATA,
        peer_timeout: DEFAULT_PEER_TIMEOUT,
    }
}

/// What one run measured.
#[derive(Debug)]
struct Measured {
    rtt: Duration,
    /// Stream bytes per second the bulk sessions delivered, per direction
    /// (toward the server side, toward the client side).
    rate: [f64; 2],
    ctx: String,
}

const WARMUP: Duration = Duration::from_secs(5);
const SPAN: Duration = Duration::from_secs(20);

fn measure(seed: u64, shape: Shape, apps: &[App]) -> Measured {
    let mut sim = LinkSim::new(seed, shape, config(), apps);
    sim.run_for(WARMUP);
    sim.clear_rtts();
    let before = [sim.received(SERVER), sim.received(CLIENT)];
    sim.run_for(SPAN);
    let after = [sim.received(SERVER), sim.received(CLIENT)];
    let mut rate = [0.0; 2];
    for dir in 0..2 {
        for (i, app) in apps.iter().enumerate() {
            if *app != App::Interactive {
                rate[dir] += (after[dir][i] - before[dir][i]) as f64 / SPAN.as_secs_f64();
            }
        }
    }
    let rtt = median(&mut sim.rtts());
    Measured {
        rtt,
        rate,
        ctx: sim.describe(),
    }
}

/// The loaded round trip's limit (times the idle one) and the bulk
/// sessions' least share of the link, per direction they load.
struct Target {
    rtt_ratio: f64,
    share: f64,
}

/// mosquitto's default `max_inflight_messages`, at QoS 1.
const BROKER_INFLIGHT: usize = 20;
const ONE_MIB: Shape = Shape {
    rate: 1024 * KIB,
    hop: Duration::from_millis(25),
    broker_inflight: BROKER_INFLIGHT,
};
const QUARTER_MIB: Shape = Shape {
    rate: 256 * KIB,
    hop: Duration::from_millis(25),
    broker_inflight: BROKER_INFLIGHT,
};

/// Checks `bulk` sessions beside an interactive one on `shape` for a few
/// seeds: the interactive round trip's median within `target` times the
/// idle one, and the bulk sessions together keeping `target.share` of the
/// link in each direction they load.
fn check(shape: Shape, bulk: &[App], target: Target, seeds: std::ops::Range<u64>) {
    let mut apps = bulk.to_vec();
    apps.push(App::Interactive);
    let up = bulk.iter().any(|a| matches!(a, App::Upload | App::Echo));
    let down = bulk.iter().any(|a| matches!(a, App::Download | App::Echo));
    for seed in seeds {
        let idle = measure(seed, shape, &[App::Interactive]);
        let m = measure(seed, shape, &apps);
        let ratio = m.rtt.as_secs_f64() / idle.rtt.as_secs_f64();
        let share = [m.rate[0], m.rate[1]].map(|r| r / shape.rate as f64);
        let ctx = format!(
            "{shape:?} {apps:?}: idle {:?} loaded {:?} ({ratio:.2}x), share up {:.2} down {:.2}\n{}",
            idle.rtt, m.rtt, share[0], share[1], m.ctx
        );
        if std::env::var("SIM_PRINT").is_ok() {
            eprintln!("{ctx}");
        }
        assert!(ratio <= target.rtt_ratio, "interactive too slow: {ctx}");
        for (loaded, share) in [(up, share[0]), (down, share[1])] {
            assert!(!loaded || share >= target.share, "bulk too slow: {ctx}");
        }
    }
}

const ON_1_MIB: Target = Target {
    rtt_ratio: 1.5,
    share: 0.85,
};
const ON_256_KIB: Target = Target {
    rtt_ratio: 2.0,
    share: 0.8,
};

#[test]
fn typing_beside_an_upload_stays_fast_on_a_1_mib_s_uplink() {
    check(ONE_MIB, &[App::Upload], ON_1_MIB, seeds(1, 2));
}

#[test]
fn typing_beside_a_download_stays_fast_on_a_1_mib_s_link() {
    check(ONE_MIB, &[App::Download], ON_1_MIB, seeds(11, 2));
}

/// A bulk echo loads both directions at once: both windows share one
/// round trip's queue, and it keeps a little less of the link.
const ECHO_ON_1_MIB: Target = Target {
    rtt_ratio: 1.5,
    share: 0.8,
};

#[test]
fn typing_beside_a_bulk_echo_stays_fast_on_a_1_mib_s_link() {
    check(ONE_MIB, &[App::Echo], ECHO_ON_1_MIB, seeds(21, 2));
}

#[test]
fn typing_beside_four_bulk_sessions_stays_fast_on_a_1_mib_s_link() {
    check(ONE_MIB, &[App::Echo; 4], ON_1_MIB, seeds(31, 1));
    check(ONE_MIB, &[App::Upload; 4], ON_1_MIB, seeds(32, 1));
    check(ONE_MIB, &[App::Download; 4], ON_1_MIB, seeds(33, 1));
}

#[test]
fn typing_beside_an_upload_stays_usable_on_a_256_kib_s_uplink() {
    check(QUARTER_MIB, &[App::Upload], ON_256_KIB, seeds(41, 2));
}

#[test]
fn typing_beside_a_download_stays_usable_on_a_256_kib_s_link() {
    check(QUARTER_MIB, &[App::Download], ON_256_KIB, seeds(51, 2));
}

#[test]
fn typing_beside_a_bulk_echo_stays_usable_on_a_256_kib_s_link() {
    check(QUARTER_MIB, &[App::Echo], ON_256_KIB, seeds(61, 2));
}

#[test]
fn typing_beside_four_bulk_sessions_stays_usable_on_a_256_kib_s_link() {
    check(QUARTER_MIB, &[App::Echo; 4], ON_256_KIB, seeds(71, 1));
    check(QUARTER_MIB, &[App::Upload; 4], ON_256_KIB, seeds(72, 1));
    check(QUARTER_MIB, &[App::Download; 4], ON_256_KIB, seeds(73, 1));
}

/// One-way throughput of one upload on `shape` with `share` bytes of
/// buffer budget, over 5 s after 5 s of warm-up, in bytes per second.
fn upload_rate(seed: u64, shape: Shape, share: usize) -> (f64, String) {
    let mut sim = LinkSim::new(seed, shape, config(), &[App::Upload]);
    sim.set_share(share);
    sim.run_for(Duration::from_secs(5));
    let before = sim.received(SERVER)[0];
    sim.run_for(Duration::from_secs(5));
    let rate = (sim.received(SERVER)[0] - before) as f64 / 5.0;
    if std::env::var("SIM_PRINT").is_ok() {
        eprintln!("{shape:?} share {share}: {rate:.0} B/s");
    }
    (rate, sim.describe())
}

#[test]
fn on_a_long_path_the_window_grows_to_what_the_buffer_budget_allows() {
    // 75 ms per hop: a 300 ms round trip, no rate cap. Before the window
    // adapted, 32 frames of 32 KiB: 1 MiB per round trip.
    let shape = Shape {
        rate: 0,
        hop: Duration::from_millis(75),
        broker_inflight: 0,
    };
    let share = 2 * 1024 * 1024;
    for seed in seeds(81, 1) {
        let (rate, ctx) = upload_rate(seed, shape, share);
        let ceiling = share as f64 / 0.3;
        assert!(
            rate >= 0.8 * ceiling,
            "{rate:.0} of {ceiling:.0} B/s: {ctx}"
        );
    }
}

#[test]
fn on_a_long_path_a_session_after_another_starts_near_its_window() {
    // 300 ms round trip: a first upload slow-starts for seconds; the next
    // one on the same path, once the first has ended, starts at half the
    // window the path carried.
    let shape = Shape {
        rate: 0,
        hop: Duration::from_millis(75),
        broker_inflight: 0,
    };
    let share = 8 * 1024 * 1024;
    for seed in seeds(85, 1) {
        let mut sim = LinkSim::new(seed, shape, config(), &[App::Upload]);
        sim.set_share(share);
        sim.run_for(Duration::from_secs(2));
        let first = sim.received(SERVER)[0];
        sim.run_for(Duration::from_secs(18));
        sim.drop_session(0);
        let second = sim.add(App::Upload);
        sim.run_for(Duration::from_secs(2));
        let next = sim.received(SERVER)[second];
        if std::env::var("SIM_PRINT").is_ok() {
            eprintln!("first 2 s: {first} B; next session's first 2 s: {next} B");
        }
        assert!(
            next >= 3 * first,
            "first 2 s {first} B, the next session's {next} B: {}",
            sim.describe()
        );
    }
}

#[test]
fn on_a_fast_link_the_window_fills_it() {
    // 10 MiB/s, 25 ms per hop: 1 MiB in flight per round trip, the old
    // fixed window, and more for the queue the window keeps.
    let shape = Shape {
        rate: 10 * 1024 * KIB,
        hop: Duration::from_millis(25),
        broker_inflight: BROKER_INFLIGHT,
    };
    for seed in seeds(91, 1) {
        let (rate, ctx) = upload_rate(seed, shape, 32 * 1024 * 1024);
        let link = shape.rate as f64;
        assert!(rate >= 0.85 * link, "{rate:.0} of {link:.0} B/s: {ctx}");
    }
}

/// Traces a run every half second: `SIM_RATE=KiB/s SIM_ECHOES=n
/// SIM_APP=echo|upload|download cargo
/// test trace_echo -- --ignored --nocapture`.
#[test]
#[ignore]
fn trace_echo() {
    let env = |name, default| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let shape = Shape {
        rate: env("SIM_RATE", 256) * KIB,
        hop: Duration::from_millis(25),
        broker_inflight: env("SIM_INFLIGHT", BROKER_INFLIGHT as u64) as usize,
    };
    let app = match std::env::var("SIM_APP").as_deref() {
        Ok("upload") => App::Upload,
        Ok("download") => App::Download,
        _ => App::Echo,
    };
    let mut apps = vec![app; env("SIM_ECHOES", 1) as usize];
    apps.push(App::Interactive);
    let mut sim = LinkSim::new(1, shape, config(), &apps);
    for _ in 0..env("SIM_STEPS", 20) {
        sim.run_for(Duration::from_millis(500));
        eprintln!("{}", sim.trace());
    }
}
