//! Load generator for the benchmark (`test/bench.sh`): a TCP target server,
//! TCP clients that measure the tunnel, and raw MQTT clients that measure
//! the broker's own floor with the same client library as the product.
//!
//! Every measuring mode prints exactly one result line on stdout, made of
//! `key=value` pairs separated by spaces (`mode=` first). A mode that fails
//! or stalls still prints its line, with `error=WHY`, and exits with 1.
//! Throughputs are in MB/s (10^6 bytes per second) of payload, counted once
//! (an echoed byte counts once although it crosses the tunnel twice).
//!
//! The target server (`target`) chooses its behaviour from the first byte a
//! connection sends:
//! - `S` + u64 LE `n`: sink. Reads `n` bytes (checking the test pattern),
//!   then answers one byte, `K` (intact) or `X` (corrupt), and waits for EOF.
//! - `O` + u64 LE `n`: source. Sends `n` bytes of the test pattern, then
//!   shuts down its sending side and waits for EOF.
//! - anything else: echo, the first byte included.
//!
//! Test pattern: the byte at stream offset `i` is `i % 251`. Its first byte
//! (0) selects echo mode.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::exit;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use argh::FromArgs;
use mqtt_forward::config::{BrokerConfig, BrokerNode};
use mqtt_forward::shell::mqtt::{Broker, Inbound};

#[path = "loadgen_sniff.rs"]
mod sniff;

/// I/O buffer size for every socket loop.
const BUF: usize = 64 * 1024;
/// Period of the test pattern (a prime, so it never lines up with buffers).
const PERIOD: usize = 251;
/// Sink mode selector.
const SINK: u8 = b'S';
/// Source mode selector.
const SOURCE: u8 = b'O';
/// Sink's answer when every byte matched the pattern.
const INTACT: u8 = b'K';
/// Sink's answer when some byte did not.
const CORRUPT: u8 = b'X';
/// Ping-pongs before measuring starts (session set up, caches warm).
const WARMUP: usize = 10;

/// Load generator and target server for the mqtt-forward benchmark.
#[derive(FromArgs)]
struct Args {
    #[argh(subcommand)]
    cmd: Cmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Cmd {
    Target(TargetArgs),
    FreePort(FreePortArgs),
    Setup(SetupArgs),
    Rtt(RttArgs),
    BulkEcho(BulkEchoArgs),
    OneWay(OneWayArgs),
    MqttRtt(MqttRttArgs),
    MqttThroughput(MqttThroughputArgs),
    LoadedRtt(LoadedRttArgs),
    Sniff(sniff::SniffArgs),
}

/// target server: echo, sink or source, chosen by the first byte received
#[derive(FromArgs)]
#[argh(subcommand, name = "target")]
struct TargetArgs {
    /// port to listen on (0: any free port)
    #[argh(option)]
    port: u16,
    /// address to listen on (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
}

/// print a free TCP port on 127.0.0.1 (bound then released)
#[derive(FromArgs)]
#[argh(subcommand, name = "free-port")]
struct FreePortArgs {}

/// connect, send 1 byte, wait for its echo, close; N times
#[derive(FromArgs)]
#[argh(subcommand, name = "setup")]
struct SetupArgs {
    /// port of the tunnel entry (or of the target itself)
    #[argh(option)]
    port: u16,
    /// host (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// number of connections
    #[argh(option, default = "100")]
    count: usize,
    /// stop measuring after this many seconds even if fewer than
    /// `count` samples were taken (0: no limit; the line reports the count)
    #[argh(option, default = "0")]
    max_secs: u64,
    /// seconds without progress before giving up (default 30)
    #[argh(option, default = "30")]
    timeout: u64,
}

/// ping-pong `size`-byte messages over one connection, N times
#[derive(FromArgs)]
#[argh(subcommand, name = "rtt")]
struct RttArgs {
    /// port
    #[argh(option)]
    port: u16,
    /// host (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// number of round trips measured (after 10 warm-up ones)
    #[argh(option, default = "1000")]
    count: usize,
    /// message size in bytes (default 64)
    #[argh(option, default = "64")]
    size: usize,
    /// stop measuring after this many seconds even if fewer than
    /// `count` samples were taken (0: no limit; the line reports the count)
    #[argh(option, default = "0")]
    max_secs: u64,
    /// seconds without progress before giving up (default 30)
    #[argh(option, default = "30")]
    timeout: u64,
}

/// S parallel connections each echoing N bytes; aggregate MB/s
#[derive(FromArgs)]
#[argh(subcommand, name = "bulk-echo")]
struct BulkEchoArgs {
    /// port
    #[argh(option)]
    port: u16,
    /// host (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// bytes echoed per connection
    #[argh(option)]
    bytes: u64,
    /// parallel connections (default 1)
    #[argh(option, default = "1")]
    sessions: usize,
    /// seconds without progress before giving up (default 60)
    #[argh(option, default = "60")]
    timeout: u64,
}

/// one direction only: up = to the sink, down = from the source; MB/s
#[derive(FromArgs)]
#[argh(subcommand, name = "one-way")]
struct OneWayArgs {
    /// port
    #[argh(option)]
    port: u16,
    /// host (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// bytes to transfer
    #[argh(option)]
    bytes: u64,
    /// up or down
    #[argh(option)]
    dir: String,
    /// seconds without progress before giving up (default 60)
    #[argh(option, default = "60")]
    timeout: u64,
}

/// 64-byte round trips on one connection while S others carry bulk
/// transfers (echo, up or down): the round trip's percentiles and the bulk
/// transfers' aggregate MB/s
#[derive(FromArgs)]
#[argh(subcommand, name = "loaded-rtt")]
struct LoadedRttArgs {
    /// port
    #[argh(option)]
    port: u16,
    /// host (default 127.0.0.1)
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// bulk direction: echo, up (to the sink) or down (from the source)
    #[argh(option)]
    bulk: String,
    /// bytes per bulk connection (size it to last the measurement)
    #[argh(option)]
    bytes: u64,
    /// parallel bulk connections (default 1)
    #[argh(option, default = "1")]
    sessions: usize,
    /// seconds of bulk before round trips count (default 3)
    #[argh(option, default = "3")]
    warmup_secs: u64,
    /// pause between two round trips, ms (default 30: typing)
    #[argh(option, default = "30")]
    think_ms: u64,
    /// seconds without progress before giving up (default 60)
    #[argh(option, default = "60")]
    timeout: u64,
}

/// raw MQTT round trip: publish, wait for it on a subscription, repeat
#[derive(FromArgs)]
#[argh(subcommand, name = "mqtt-rtt")]
struct MqttRttArgs {
    /// broker host
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// broker port
    #[argh(option)]
    port: u16,
    /// the QoS: 0, 1 or 2 (default 1)
    #[argh(option, default = "1")]
    qos: u8,
    /// number of round trips measured (after 10 warm-up ones)
    #[argh(option, default = "1000")]
    count: usize,
    /// payload size (default 64)
    #[argh(option, default = "64")]
    size: usize,
    /// seconds without progress before giving up (default 30)
    #[argh(option, default = "30")]
    timeout: u64,
}

/// raw MQTT throughput: publish N messages, time until all are received
#[derive(FromArgs)]
#[argh(subcommand, name = "mqtt-throughput")]
struct MqttThroughputArgs {
    /// broker host
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    host: String,
    /// broker port
    #[argh(option)]
    port: u16,
    /// the QoS: 0, 1 or 2 (default 1)
    #[argh(option, default = "1")]
    qos: u8,
    /// number of messages
    #[argh(option, default = "10000")]
    count: usize,
    /// payload size (default 10000)
    #[argh(option, default = "10000")]
    size: usize,
    /// seconds without a message before counting the rest as lost (default 5)
    #[argh(option, default = "5")]
    timeout: u64,
    /// independent publisher/subscriber pairs running at once, each sending
    /// `count` messages on its own topic (default 1); 2 puts through the
    /// broker what a bulk echo puts through it (one stream each way)
    #[argh(option, default = "1")]
    streams: usize,
}

fn main() {
    let args: Args = argh::from_env();
    let result = match args.cmd {
        Cmd::Target(a) => target(&a),
        Cmd::FreePort(_) => free_port(),
        Cmd::Setup(a) => setup(&a),
        Cmd::Rtt(a) => rtt(&a),
        Cmd::BulkEcho(a) => bulk_echo(&a),
        Cmd::OneWay(a) => one_way(&a),
        Cmd::MqttRtt(a) => mqtt_rtt(&a),
        Cmd::MqttThroughput(a) => mqtt_throughput(&a),
        Cmd::LoadedRtt(a) => loaded_rtt(&a),
        Cmd::Sniff(a) => sniff::sniff(&a),
    };
    if let Err(line) = result {
        println!("{line}");
        exit(1);
    }
}

/// A failed run's result line.
type Failure = String;

fn fail(mode: &str, what: impl std::fmt::Display) -> Failure {
    let what = what.to_string().replace(' ', "_");
    format!("mode={mode} error={what}")
}

// ---------------------------------------------------------------- pattern

/// The test pattern, long enough to serve any 64 KiB window at any phase.
fn pattern() -> Vec<u8> {
    (0..BUF + PERIOD).map(|i| (i % PERIOD) as u8).collect()
}

/// The pattern bytes for stream offsets `pos..pos + len` (`len <= BUF`).
fn pattern_at(pat: &[u8], pos: u64, len: usize) -> &[u8] {
    let start = (pos % PERIOD as u64) as usize;
    &pat[start..start + len]
}

/// Writes `n` pattern bytes.
fn send_pattern(stream: &mut TcpStream, n: u64) -> io::Result<()> {
    let pat = pattern();
    let mut pos = 0u64;
    while pos < n {
        let len = (n - pos).min(BUF as u64) as usize;
        stream.write_all(pattern_at(&pat, pos, len))?;
        pos += len as u64;
    }
    Ok(())
}

/// Reads exactly `n` bytes, checking them against the pattern. Returns
/// whether they all matched; an early EOF is an error.
fn recv_pattern(stream: &mut TcpStream, n: u64) -> io::Result<bool> {
    recv_pattern_timed(stream, n).map(|(intact, _)| intact)
}

/// [`recv_pattern`], and when the second half of the bytes started.
fn recv_pattern_timed(stream: &mut TcpStream, n: u64) -> io::Result<(bool, Instant)> {
    let pat = pattern();
    let mut buf = vec![0u8; BUF];
    let mut pos = 0u64;
    let mut intact = true;
    let mut half = Instant::now();
    while pos < n {
        let want = (n - pos).min(BUF as u64) as usize;
        let got = stream.read(&mut buf[..want])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("eof_after_{pos}_of_{n}_bytes"),
            ));
        }
        intact &= buf[..got] == *pattern_at(&pat, pos, got);
        if pos < n / 2 && pos + got as u64 >= n / 2 {
            half = Instant::now();
        }
        pos += got as u64;
    }
    Ok((intact, half))
}

// ----------------------------------------------------------------- target

fn target(a: &TargetArgs) -> Result<(), Failure> {
    let listener = TcpListener::bind((a.host.as_str(), a.port)).map_err(|e| fail("target", e))?;
    let port = listener.local_addr().map_err(|e| fail("target", e))?.port();
    println!("mode=target port={port}");
    let _ = io::stdout().flush();
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let _ = stream.set_nodelay(true);
        let _ = thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let _ = serve(stream);
            });
    }
    Ok(())
}

fn serve(mut stream: TcpStream) -> io::Result<()> {
    let mut first = [0u8; 1];
    if stream.read(&mut first)? == 0 {
        return Ok(());
    }
    match first[0] {
        SINK => {
            let n = read_len(&mut stream)?;
            let intact = recv_pattern(&mut stream, n)?;
            stream.write_all(&[if intact { INTACT } else { CORRUPT }])?;
            drain(&mut stream)
        }
        SOURCE => {
            let n = read_len(&mut stream)?;
            send_pattern(&mut stream, n)?;
            stream.shutdown(Shutdown::Write)?;
            drain(&mut stream)
        }
        _ => {
            stream.write_all(&first)?;
            let mut buf = vec![0u8; BUF];
            loop {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                stream.write_all(&buf[..n])?;
            }
        }
    }
}

fn read_len(stream: &mut TcpStream) -> io::Result<u64> {
    let mut len = [0u8; 8];
    stream.read_exact(&mut len)?;
    Ok(u64::from_le_bytes(len))
}

/// Reads until EOF, discarding.
fn drain(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    while stream.read(&mut buf)? > 0 {}
    Ok(())
}

fn free_port() -> Result<(), Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| fail("free-port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| fail("free-port", e))?
        .port();
    println!("{port}");
    Ok(())
}

// ---------------------------------------------------------------- clients

fn connect(host: &str, port: u16, timeout: u64) -> io::Result<TcpStream> {
    let addr: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(timeout))?;
    stream.set_nodelay(true)?;
    // A read that makes no progress for this long is a stall.
    stream.set_read_timeout(Some(Duration::from_secs(timeout)))?;
    stream.set_write_timeout(Some(Duration::from_secs(timeout)))?;
    Ok(stream)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `p50_us=… p99_us=… min_us=… max_us=… mean_us=…` for the samples.
fn latency_summary(samples: &mut [Duration]) -> String {
    samples.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = if samples.is_empty() {
        0.0
    } else {
        samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64
    };
    format!(
        "p50_us={:.1} p99_us={:.1} min_us={:.1} max_us={:.1} mean_us={:.1}",
        us(percentile(samples, 50.0)),
        us(percentile(samples, 99.0)),
        us(samples.first().copied().unwrap_or_default()),
        us(samples.last().copied().unwrap_or_default()),
        mean
    )
}

fn mbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6
}

/// The deadline for `--max-secs` (0: none).
fn time_limit(max_secs: u64) -> Option<Instant> {
    (max_secs > 0).then(|| Instant::now() + Duration::from_secs(max_secs))
}

fn setup(a: &SetupArgs) -> Result<(), Failure> {
    let mut samples = Vec::with_capacity(a.count);
    let limit = time_limit(a.max_secs);
    for i in 0..a.count {
        if limit.is_some_and(|l| Instant::now() >= l) {
            break;
        }
        let started = Instant::now();
        let one = || -> io::Result<()> {
            let mut s = connect(&a.host, a.port, a.timeout)?;
            s.write_all(b".")?;
            let mut b = [0u8; 1];
            s.read_exact(&mut b)?;
            if b[0] != b'.' {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "wrong_echo"));
            }
            Ok(())
        };
        one().map_err(|e| format!("{} done={i}", fail("setup", e)))?;
        samples.push(started.elapsed());
    }
    println!(
        "mode=setup count={} {}",
        samples.len(),
        latency_summary(&mut samples)
    );
    Ok(())
}

fn rtt(a: &RttArgs) -> Result<(), Failure> {
    let size = a.size.max(1);
    let mut s = connect(&a.host, a.port, a.timeout).map_err(|e| fail("rtt", e))?;
    let mut msg = vec![b'.'; size];
    let mut back = vec![0u8; size];
    let mut samples = Vec::with_capacity(a.count);
    let limit = time_limit(a.max_secs);
    for i in 0..WARMUP + a.count {
        if i >= WARMUP && limit.is_some_and(|l| Instant::now() >= l) {
            break;
        }
        msg[size - 1] = i as u8;
        let started = Instant::now();
        s.write_all(&msg)
            .and_then(|()| s.read_exact(&mut back))
            .map_err(|e| format!("{} done={i}", fail("rtt", e)))?;
        let took = started.elapsed();
        if back != msg {
            return Err(format!("{} done={i}", fail("rtt", "wrong_echo")));
        }
        if i >= WARMUP {
            samples.push(took);
        }
    }
    println!(
        "mode=rtt count={} size={size} {}",
        samples.len(),
        latency_summary(&mut samples)
    );
    Ok(())
}

fn bulk_echo(a: &BulkEchoArgs) -> Result<(), Failure> {
    let streams = (0..a.sessions)
        .map(|_| connect(&a.host, a.port, a.timeout))
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| fail("bulk-echo", e))?;
    let started = Instant::now();
    let n = a.bytes;
    let handles: Vec<_> = streams
        .into_iter()
        .map(|stream| {
            thread::spawn(move || -> io::Result<(bool, Duration)> {
                let mut writer = stream.try_clone()?;
                let sending = thread::spawn(move || send_pattern(&mut writer, n));
                let mut reader = stream;
                let intact = recv_pattern(&mut reader, n)?;
                let done = started.elapsed();
                sending
                    .join()
                    .map_err(|_| io::Error::other("writer_panicked"))??;
                Ok((intact, done))
            })
        })
        .collect();
    let mut corrupt = 0;
    let mut slowest = Duration::ZERO;
    let mut fastest = Duration::MAX;
    let mut errors = Vec::new();
    for h in handles {
        match h.join() {
            Ok(Ok((intact, done))) => {
                corrupt += usize::from(!intact);
                slowest = slowest.max(done);
                fastest = fastest.min(done);
            }
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(_) => errors.push("panicked".into()),
        }
    }
    let elapsed = started.elapsed();
    if !errors.is_empty() {
        return Err(format!(
            "{} failed_sessions={} secs={:.3}",
            fail("bulk-echo", &errors[0]),
            errors.len(),
            elapsed.as_secs_f64()
        ));
    }
    let total = n * a.sessions as u64;
    println!(
        "mode=bulk-echo sessions={} bytes={n} total_bytes={total} secs={:.3} mbps={:.2} first_done_secs={:.3} corrupt={corrupt}",
        a.sessions,
        slowest.as_secs_f64(),
        mbps(total, slowest),
        fastest.as_secs_f64(),
    );
    if corrupt > 0 {
        exit(1);
    }
    Ok(())
}

fn one_way(a: &OneWayArgs) -> Result<(), Failure> {
    let n = a.bytes;
    let mut s = connect(&a.host, a.port, a.timeout).map_err(|e| fail("one-way", e))?;
    let started = Instant::now();
    let mut header = [0u8; 9];
    header[1..].copy_from_slice(&n.to_le_bytes());
    let mut tail_mbps = String::new();
    let (intact, elapsed, eof) = match a.dir.as_str() {
        "up" => {
            header[0] = SINK;
            let mut run = || -> io::Result<bool> {
                s.write_all(&header)?;
                send_pattern(&mut s, n)?;
                let mut answer = [0u8; 1];
                s.read_exact(&mut answer)?;
                Ok(answer[0] == INTACT)
            };
            let intact = run().map_err(|e| fail("one-way", e))?;
            (intact, started.elapsed(), String::new())
        }
        "down" => {
            header[0] = SOURCE;
            s.write_all(&header).map_err(|e| fail("one-way", e))?;
            let (intact, half) = recv_pattern_timed(&mut s, n).map_err(|e| fail("one-way", e))?;
            let elapsed = started.elapsed();
            // The second half alone: past the window's growth.
            let tail = n - n / 2;
            tail_mbps = format!(" tail_mbps={:.2}", mbps(tail, half.elapsed()));
            // The source closed after its last byte: that EOF should follow.
            let mut b = [0u8; 1];
            let eof = match s.read(&mut b) {
                Ok(0) => format!(
                    " eof_ms={:.1}",
                    (started.elapsed() - elapsed).as_secs_f64() * 1e3
                ),
                Ok(_) => " eof=extra_data".into(),
                Err(_) => " eof=missing".into(),
            };
            (intact, elapsed, eof)
        }
        other => return Err(fail("one-way", format!("unknown_dir_{other}"))),
    };
    println!(
        "mode=one-way dir={} bytes={n} secs={:.3} mbps={:.2} corrupt={}{eof}{tail_mbps}",
        a.dir,
        elapsed.as_secs_f64(),
        mbps(n, elapsed),
        u8::from(!intact)
    );
    if !intact {
        exit(1);
    }
    Ok(())
}

/// One bulk transfer of `n` bytes in direction `dir` over `s`; returns
/// whether it arrived intact.
fn bulk_transfer(s: TcpStream, dir: &str, n: u64) -> io::Result<bool> {
    let mut header = [0u8; 9];
    header[1..].copy_from_slice(&n.to_le_bytes());
    let mut s = s;
    match dir {
        "up" => {
            header[0] = SINK;
            s.write_all(&header)?;
            send_pattern(&mut s, n)?;
            let mut answer = [0u8; 1];
            s.read_exact(&mut answer)?;
            Ok(answer[0] == INTACT)
        }
        "down" => {
            header[0] = SOURCE;
            s.write_all(&header)?;
            recv_pattern(&mut s, n)
        }
        "echo" => {
            let mut writer = s.try_clone()?;
            let sending = thread::spawn(move || send_pattern(&mut writer, n));
            let intact = recv_pattern(&mut s, n)?;
            sending
                .join()
                .map_err(|_| io::Error::other("writer_panicked"))??;
            Ok(intact)
        }
        other => Err(io::Error::other(format!("unknown_bulk_{other}"))),
    }
}

fn loaded_rtt(a: &LoadedRttArgs) -> Result<(), Failure> {
    let mode = "loaded-rtt";
    let mut probe = connect(&a.host, a.port, a.timeout).map_err(|e| fail(mode, e))?;
    let bulk = (0..a.sessions)
        .map(|_| connect(&a.host, a.port, a.timeout))
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| fail(mode, e))?;
    let started = Instant::now();
    let handles: Vec<_> = bulk
        .into_iter()
        .map(|s| {
            let (dir, n) = (a.bulk.clone(), a.bytes);
            thread::spawn(move || bulk_transfer(s, &dir, n).map(|ok| (ok, started.elapsed())))
        })
        .collect();
    let warm = started + Duration::from_secs(a.warmup_secs);
    let mut msg = [b'.'; 64];
    let mut back = [0u8; 64];
    let mut samples = Vec::new();
    let mut i = 0u8;
    // Round trips while every bulk transfer still runs.
    while !handles.iter().any(|h| h.is_finished()) {
        i = i.wrapping_add(1);
        msg[63] = i;
        let sent = Instant::now();
        probe
            .write_all(&msg)
            .and_then(|()| probe.read_exact(&mut back))
            .map_err(|e| fail(mode, e))?;
        if back != msg {
            return Err(fail(mode, "wrong_echo"));
        }
        if sent >= warm {
            samples.push(sent.elapsed());
        }
        thread::sleep(Duration::from_millis(a.think_ms));
    }
    let mut corrupt = 0;
    let mut slowest = Duration::ZERO;
    for h in handles {
        match h.join() {
            Ok(Ok((intact, done))) => {
                corrupt += usize::from(!intact);
                slowest = slowest.max(done);
            }
            Ok(Err(e)) => return Err(fail(mode, e)),
            Err(_) => return Err(fail(mode, "panicked")),
        }
    }
    if samples.is_empty() {
        return Err(fail(mode, "bulk_done_before_warmup_ended"));
    }
    let total = a.bytes * a.sessions as u64;
    println!(
        "mode={mode} bulk={} sessions={} total_bytes={total} bulk_secs={:.3} bulk_mbps={:.3} count={} {} corrupt={corrupt}",
        a.bulk,
        a.sessions,
        slowest.as_secs_f64(),
        mbps(total, slowest),
        samples.len(),
        latency_summary(&mut samples)
    );
    if corrupt > 0 {
        exit(1);
    }
    Ok(())
}

// ------------------------------------------------------------------- MQTT

/// What a client's connection reports.
enum Note {
    ConnAck,
    /// A message arrived, with its payload length.
    Message(Instant, usize),
    Error(String),
}

/// Starts a client: the product's own broker connection, on an executor
/// of its own thread.
fn mqtt_client(
    host: &str,
    port: u16,
    id: &str,
    qos: u8,
) -> io::Result<(Broker, mpsc::Receiver<Note>)> {
    let config = BrokerConfig {
        nodes: vec![BrokerNode {
            host: host.to_owned(),
            port,
        }],
        client_id: id.to_owned(),
        qos,
        caps: Default::default(),
        max_subscriptions: None,
        tls: None,
        username: None,
        password: None,
    };
    let (tx, rx) = mpsc::channel();
    let (broker_tx, broker_rx) = mpsc::channel();
    thread::Builder::new()
        .name(format!("mqtt-{id}"))
        .spawn(move || {
            let ex = smol::LocalExecutor::new();
            let (broker, inbound) = Broker::start(&ex, &config, None, Vec::new(), None);
            let _ = broker_tx.send(broker);
            smol::block_on(ex.run(async {
                while let Ok(report) = inbound.recv().await {
                    let note = match report {
                        Inbound::Up => Note::ConnAck,
                        Inbound::Message(p) => Note::Message(Instant::now(), p.payload.len()),
                        Inbound::Down(why) => Note::Error(why),
                        _ => continue,
                    };
                    if tx.send(note).is_err() {
                        return;
                    }
                }
            }));
        })?;
    let broker = broker_rx
        .recv()
        .map_err(|_| io::Error::other("the connection thread ended"))?;
    Ok((broker, rx))
}

/// Waits for a given kind of note; other notes (except errors) are skipped.
fn wait_for(
    rx: &mpsc::Receiver<Note>,
    want: fn(&Note) -> bool,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Note::Error(e)) => return Err(e),
            Ok(n) if want(&n) => return Ok(()),
            Ok(_) => {}
            Err(_) => return Err("timeout".into()),
        }
    }
}

/// A subscriber and a publisher, connected, subscribed to a fresh topic.
struct Pair {
    publisher: Broker,
    pub_notes: mpsc::Receiver<Note>,
    sub_notes: mpsc::Receiver<Note>,
    topic: String,
}

/// Connects a subscriber and a publisher for topic number `stream`.
fn mqtt_pair(
    host: &str,
    port: u16,
    level: u8,
    timeout: Duration,
    stream: usize,
) -> Result<Pair, String> {
    let tag = format!("{}-{}-{stream}", std::process::id(), level);
    let (subscriber, sub_notes) = mqtt_client(host, port, &format!("loadgen-sub-{tag}"), level)
        .map_err(|e| format!("{e:?}"))?;
    let (publisher, pub_notes) = mqtt_client(host, port, &format!("loadgen-pub-{tag}"), level)
        .map_err(|e| format!("{e:?}"))?;
    let topic = format!("loadgen/{tag}/data");
    wait_for(&sub_notes, |n| matches!(n, Note::ConnAck), timeout)?;
    smol::block_on(subscriber.subscribe(&topic)).map_err(|e| format!("{e:?}"))?;
    // The broker handles one connection's packets in order: the
    // subscriber's own message coming back proves the subscription.
    smol::block_on(subscriber.publish(&topic, b"sync".to_vec().into()))
        .map_err(|e| format!("{e:?}"))?;
    wait_for(&sub_notes, |n| matches!(n, Note::Message(..)), timeout)?;
    wait_for(&pub_notes, |n| matches!(n, Note::ConnAck), timeout)?;
    // The subscriber's client must live as long as its event loop is used.
    std::mem::forget(subscriber);
    Ok(Pair {
        publisher,
        pub_notes,
        sub_notes,
        topic,
    })
}

impl Pair {
    fn publish(&self, payload: Vec<u8>) -> Result<(), String> {
        smol::block_on(self.publisher.publish(&self.topic, payload.into()))
            .map_err(|e| format!("{e:?}"))
    }

    /// The next message's arrival time and length.
    fn next_message(&self, timeout: Duration) -> Result<(Instant, usize), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Note::Error(e)) = self.pub_notes.try_recv() {
                return Err(format!("publisher:_{e}"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.sub_notes.recv_timeout(left) {
                Ok(Note::Message(at, len)) => return Ok((at, len)),
                Ok(Note::Error(e)) => return Err(format!("subscriber:_{e}")),
                Ok(_) => {}
                Err(_) => return Err("timeout".into()),
            }
        }
    }
}

fn mqtt_rtt(a: &MqttRttArgs) -> Result<(), Failure> {
    let timeout = Duration::from_secs(a.timeout);
    let pair = mqtt_pair(&a.host, a.port, a.qos, timeout, 0).map_err(|e| fail("mqtt-rtt", e))?;
    let mut samples = Vec::with_capacity(a.count);
    for i in 0..WARMUP + a.count {
        let started = Instant::now();
        pair.publish(vec![b'.'; a.size])
            .and_then(|()| pair.next_message(timeout))
            .map_err(|e| format!("{} done={i}", fail("mqtt-rtt", e)))?;
        let took = started.elapsed();
        if i >= WARMUP {
            samples.push(took);
        }
    }
    println!(
        "mode=mqtt-rtt qos={} count={} size={} {}",
        a.qos,
        a.count,
        a.size,
        latency_summary(&mut samples)
    );
    Ok(())
}

/// What one publisher/subscriber pair of `mqtt-throughput` measured.
struct StreamResult {
    received: usize,
    bytes: u64,
    /// Arrival of its last message.
    last: Instant,
    /// When its publisher had handed every message to its client.
    queued: Instant,
    lost_by_timeout: bool,
}

/// Publishes `a.count` messages through `pair` from a thread of its own and
/// receives them, from `started` on.
fn mqtt_stream(
    a: &MqttThroughputArgs,
    pair: Pair,
    started: Instant,
) -> Result<StreamResult, String> {
    let idle = Duration::from_secs(a.timeout);
    let (count, size) = (a.count, a.size);
    let publisher = pair.publisher.clone();
    let topic = pair.topic.clone();
    let sending = thread::spawn(move || -> Result<Instant, String> {
        let payload = vec![b'.'; size];
        for _ in 0..count {
            smol::block_on(publisher.publish(&topic, payload.clone().into()))
                .map_err(|e| format!("{e:?}"))?;
        }
        Ok(Instant::now())
    });
    let mut result = StreamResult {
        received: 0,
        bytes: 0,
        last: started,
        queued: started,
        lost_by_timeout: false,
    };
    while result.received < count {
        match pair.next_message(idle) {
            Ok((at, len)) => {
                result.received += 1;
                result.bytes += len as u64;
                result.last = at;
            }
            Err(e) if e == "timeout" => {
                result.lost_by_timeout = true;
                break;
            }
            Err(e) => {
                return Err(format!(
                    "{} received={}",
                    fail("mqtt-throughput", e),
                    result.received
                ))
            }
        }
    }
    result.queued = match sending.join() {
        Ok(Ok(at)) => at,
        Ok(Err(e)) => return Err(fail("mqtt-throughput", e)),
        Err(_) => return Err(fail("mqtt-throughput", "publisher_panicked")),
    };
    Ok(result)
}

fn mqtt_throughput(a: &MqttThroughputArgs) -> Result<(), Failure> {
    let idle = Duration::from_secs(a.timeout);
    let streams = a.streams.max(1);
    let mut pairs = Vec::with_capacity(streams);
    for i in 0..streams {
        let pair =
            mqtt_pair(&a.host, a.port, a.qos, idle, i).map_err(|e| fail("mqtt-throughput", e))?;
        pairs.push(pair);
    }
    let started = Instant::now();
    let results: Vec<Result<StreamResult, String>> = thread::scope(|scope| {
        let handles: Vec<_> = pairs
            .into_iter()
            .map(|pair| scope.spawn(move || mqtt_stream(a, pair, started)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(fail("mqtt-throughput", "stream_panicked")))
            })
            .collect()
    });
    let results = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let received: usize = results.iter().map(|r| r.received).sum();
    let bytes: u64 = results.iter().map(|r| r.bytes).sum();
    let last = results.iter().map(|r| r.last).max().unwrap_or(started);
    let queued = results.iter().map(|r| r.queued).max().unwrap_or(started);
    let lost_by_timeout = results.iter().any(|r| r.lost_by_timeout);
    let elapsed = last.duration_since(started);
    let count = a.count * streams;
    println!(
        "mode=mqtt-throughput qos={} streams={streams} count={count} size={} received={received} lost={} secs={:.3} mbps={:.2} msgs_per_s={:.0} publish_queued_secs={:.3}{}",
        a.qos,
        a.size,
        count - received,
        elapsed.as_secs_f64(),
        mbps(bytes, elapsed),
        received as f64 / elapsed.as_secs_f64().max(1e-9),
        queued.duration_since(started).as_secs_f64(),
        if lost_by_timeout { " note=stopped_waiting_for_lost_messages" } else { "" }
    );
    Ok(())
}
