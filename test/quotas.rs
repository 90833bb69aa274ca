//! Publishing within a broker's quotas (`--mqtt-max-rate`,
//! `--mqtt-max-bandwidth`), measured at the broker: a sniffer subscribed to
//! every topic timestamps each publish of either side while a transfer
//! runs, and no window of one second may carry more than a cap.

mod common;

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::fault_proxy::{FaultProxy, Faults};
use common::mqtt_raw::RawClient;
use common::*;

/// One publish seen at the broker: when, by which side, its packet's bytes
/// as the pacer counts them (fixed header at most 5, topic, packet id).
struct Seen {
    at: Instant,
    by_client: bool,
    bytes: usize,
}

/// The most publishes and bytes any window of one second holds.
fn busiest_second(seen: &[&Seen]) -> (usize, usize) {
    let mut most = (0, 0);
    let mut start = 0;
    let mut bytes = 0;
    for (end, s) in seen.iter().enumerate() {
        bytes += s.bytes;
        while s.at.duration_since(seen[start].at) >= Duration::from_secs(1) {
            bytes -= seen[start].bytes;
            start += 1;
        }
        most.0 = most.0.max(end + 1 - start);
        most.1 = most.1.max(bytes);
    }
    most
}

#[test]
fn publishing_stays_within_the_rate_and_bandwidth_caps_measured_at_the_broker() {
    const RATE: usize = 40;
    const BANDWIDTH: usize = 64 * 1024;
    let echo = Target::echo();
    let mut fx = Fixture::new("quota");
    let mut sniffer = RawClient::connect(fx.broker.port, "sniffer");
    sniffer.subscribe("#");
    sniffer.set_read_timeout(Duration::from_millis(200));
    let (tx, rx) = mpsc::channel::<Option<Seen>>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let sniffing = thread::spawn(move || {
        // Probe topics are named by random tokens: the first one seen is
        // the server side's (it has its verdict before the client starts).
        let mut server_probe = None;
        while stop_rx.try_recv().is_err() {
            if let Some((topic, payload, _)) = sniffer.next_publish() {
                let probe = topic.contains("/probe/");
                if probe && server_probe.is_none() {
                    server_probe = Some(topic.clone());
                }
                let seen = Seen {
                    at: Instant::now(),
                    by_client: topic.ends_with("/tx")
                        || (probe && server_probe.as_ref() != Some(&topic)),
                    bytes: 5 + 2 + topic.len() + 2 + payload.len(),
                };
                let _ = tx.send(Some(seen));
            }
        }
        let _ = tx.send(None);
    });
    let caps = [
        "--mqtt-max-rate",
        &RATE.to_string(),
        "--mqtt-max-bandwidth",
        "64k",
    ]
    .map(str::to_owned);
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    let server = fx.server("quota", echo.port, &caps);
    fx.proc(server)
        .wait_for_log("carries frames of up to", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    let (_client, port) = fx.client("quota", &caps);
    let data = Arc::new(random_bytes(256 * 1024, 17));
    let started = Instant::now();
    let got = echo_through(port, data.clone(), Duration::from_secs(120)).unwrap_or_else(|e| {
        panic!("{e}\n{}", fx.logs());
    });
    let took = started.elapsed();
    assert_same_data("echo under caps", &got, &data);
    let _ = stop_tx.send(());
    let mut seen = Vec::new();
    while let Ok(Some(s)) = rx.recv() {
        seen.push(s);
    }
    sniffing.join().unwrap();
    for by_client in [true, false] {
        let side: Vec<&Seen> = seen.iter().filter(|s| s.by_client == by_client).collect();
        let (publishes, bytes) = busiest_second(&side);
        let name = if by_client { "client" } else { "server" };
        eprintln!(
            "{name} side: {} publishes, busiest second {publishes} publishes and {bytes} bytes \
             (caps {RATE}, {BANDWIDTH}); echo of {} bytes in {took:?}",
            side.len(),
            data.len()
        );
        assert!(
            publishes <= RATE,
            "{name}: {publishes} publishes in a second"
        );
        assert!(bytes <= BANDWIDTH, "{name}: {bytes} bytes in a second");
        assert!(side.len() > RATE, "{name}: too few publishes to measure");
    }
}

#[test]
fn twenty_sessions_of_one_client_side_fit_a_broker_that_allows_ten_subscriptions_under_its_profile()
{
    const SESSIONS: usize = 20;
    let echo = Target::echo();
    let mut fx = Fixture::with_aedes_quirks("subs", &[("AEDES_MAX_SUBSCRIPTIONS", "10")]);
    // EMQX Cloud Serverless's limits: 10 subscriptions, 10 publishes/s
    // (the sessions take turns to publish: each has one frame at most
    // waiting in the broker connection's queue).
    let profile = ["--broker-profile", "emqx-serverless"];
    let server = fx.server("subs", echo.port, &profile);
    let (client, port) = fx.client("subs", &profile);
    for p in [server, client] {
        assert!(
            fx.proc(p).log().contains(
                "broker profile emqx-serverless (EMQX Cloud Serverless): at most 10 \
                 publishes/s, 10 subscriptions"
            ),
            "{}",
            fx.logs()
        );
    }
    // One session first: the client side learns where its server side
    // answers; then twenty at once, each held open until all have echoed.
    let first = Arc::new(random_bytes(4096, 1));
    let got = echo_through(port, first.clone(), Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", fx.logs()));
    assert_same_data("first session", &got, &first);
    let barrier = Arc::new(std::sync::Barrier::new(SESSIONS));
    let workers: Vec<_> = (0..SESSIONS)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let data = random_bytes(4096, 100 + i as u64);
                let mut stream = connect(port);
                let deadline = Instant::now() + Duration::from_secs(120);
                let result = echo_on(&mut stream, &data, deadline);
                // Every session is open together before any closes.
                barrier.wait();
                result.map(|got| (got, data))
            })
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        let (got, data) = worker
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("session {i}: {e}\n{}", fx.logs()));
        assert_same_data(&format!("session {i}"), &got, &data);
    }
    let logs = fx.logs();
    assert!(
        !logs.contains("refused subscription"),
        "the broker refused a subscription:\n{logs}"
    );
}

/// Writes `data` on `stream` and reads as many bytes back (the stream
/// stays open).
fn echo_on(
    stream: &mut std::net::TcpStream,
    data: &[u8],
    deadline: Instant,
) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    stream.write_all(data).map_err(|e| format!("write: {e}"))?;
    let mut got = vec![0u8; data.len()];
    let mut have = 0;
    while have < got.len() {
        if Instant::now() > deadline {
            return Err(format!("{have} of {} bytes back in time", got.len()));
        }
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(|e| format!("{e}"))?;
        match stream.read(&mut got[have..]) {
            Ok(0) => return Err(format!("closed after {have} bytes")),
            Ok(n) => have += n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    Ok(got)
}

#[test]
fn a_broker_that_never_answers_qos_2_is_said_in_one_line_naming_the_flag() {
    let mut fx = Fixture::new("noqos2");
    let proxy = FaultProxy::start(
        fx.broker.port,
        Faults {
            no_qos2_answers: true,
            ..Faults::default()
        },
    );
    fx.client_mqtt_port = Some(proxy.port);
    let (client, _port) = fx.client("noqos2", &["--mqtt-qos", "2"]);
    let said =
        "it does not support QoS 2 (AWS IoT Core and Azure Event Grid do not); use --mqtt-qos 1";
    if let Err(e) = fx.proc(client).wait_for_log(said, Duration::from_secs(30)) {
        panic!("{e}\n{}", fx.logs());
    }
    thread::sleep(Duration::from_secs(2));
    assert_eq!(fx.proc(client).log_count(said), 1, "{}", fx.logs());
    assert_eq!(fx.proc(client).log_count("lost"), 0, "{}", fx.logs());
}
