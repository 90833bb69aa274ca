//! An MQTT-aware fault proxy for the integration tests: it sits between a
//! forwarder and the broker (the forwarder's `--mqtt-port` is the proxy's),
//! parses the MQTT packets going each way, and impairs the QoS 0 PUBLISH
//! packets only: dropped, duplicated or swapped with the next one, each with
//! its own probability drawn from a seeded generator. Every other packet
//! (CONNECT, SUBSCRIBE, acknowledgements, QoS 1/2 publishes whose loss the
//! MQTT session itself would have to repair) passes untouched, so what the
//! forwarder sees is exactly a lossy QoS 0 link, which only its own
//! reliability layer (and its timers) can recover from.
//!
//! `cut()` breaks every open connection at once (both sockets shut down),
//! as a broker crash would; `silence()` makes every open connection a black
//! hole (nothing forwarded or read any more, nothing closed), as a NAT
//! mapping dropped on the way would. Every packet can also be
//! delayed (a WAN hop) and the link rate capped, each direction: per
//! connection, or shared by all connections through the proxy as one
//! side's uplink and downlink are (one FIFO queue served at the rate per
//! direction, as deep as it gets: a router's buffer).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::support::{stop_accept_loop, SplitMix};

/// MQTT control packet type of PUBLISH (high nibble of the first byte).
const PUBLISH: u8 = 3;
/// MQTT control packet type of SUBACK.
const SUBACK: u8 = 9;
/// MQTT control packet type of PUBREC.
const PUBREC: u8 = 5;
/// SUBACK return code: failure.
const SUBACK_FAILURE: u8 = 0x80;
/// Largest MQTT packet the proxy forwards (the protocol's own limit).
const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// What happens to the QoS 0 PUBLISH packets, per direction, in percent.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub drop_percent: u32,
    pub duplicate_percent: u32,
    pub reorder_percent: u32,
    /// Seed of the generators (each connection and direction derives its own).
    pub seed: u64,
    /// Drop the first `n` QoS 0 publishes whose packet contains these
    /// bytes (a marker in the stream), over all connections: a loss at a
    /// chosen place, e.g. a banner that nothing else follows, which only
    /// the sender's own retransmission timer can repair.
    pub drop_first_containing: Option<(Vec<u8>, usize)>,
    /// Answer every SUBSCRIBE with failure (return code 0x80 in the SUBACK),
    /// as a broker does whose ACL forbids the topics.
    pub refuse_subscriptions: bool,
    /// Drop every PUBREC and SUBACK: QoS 2 requests are never answered, as
    /// AWS IoT Core answers them (PINGRESP and everything else pass).
    pub no_qos2_answers: bool,
    /// One-way delay of every packet, each direction (a WAN hop).
    pub delay: Duration,
    /// Link rate cap in bytes per second, each direction (0: none).
    pub rate: u64,
    /// The rate is shared by all connections through the proxy (one queue
    /// per direction), not each connection's own.
    pub shared_link: bool,
}

impl Faults {
    /// Only drops, `percent` of the QoS 0 publishes in each direction.
    pub fn drop(percent: u32, seed: u64) -> Faults {
        Faults {
            drop_percent: percent,
            seed,
            ..Faults::default()
        }
    }
}

/// Counts of what the proxy did, over all connections and both directions.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub forwarded: AtomicUsize,
    pub qos0_publishes: AtomicUsize,
    pub dropped: AtomicUsize,
    pub duplicated: AtomicUsize,
    pub reordered: AtomicUsize,
    /// Publishes dropped for containing the marker of
    /// [`Faults::drop_first_containing`].
    pub marker_dropped: AtomicUsize,
}

/// The running proxy; stops accepting and cuts every connection when dropped.
pub struct FaultProxy {
    pub port: u16,
    pub counts: Arc<FaultCounts>,
    stop: Arc<AtomicBool>,
    blocked: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    /// One flag per connection accepted; set, its pumps stop.
    silenced: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
    accept_thread: Option<thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards every connection to
    /// `127.0.0.1:broker_port` with `faults` applied.
    pub fn start(broker_port: u16, faults: Faults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("local_addr").port();
        let counts = Arc::new(FaultCounts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let blocked = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let silenced = Arc::new(Mutex::new(Vec::new()));
        let accept_thread = {
            let (counts, stop, open) = (counts.clone(), stop.clone(), open.clone());
            let silenced = silenced.clone();
            let blocked = blocked.clone();
            // Uplink (toward the broker) and downlink, when shared.
            let links = [(); 2].map(|_| Arc::new(Mutex::new(Instant::now())));
            thread::spawn(move || {
                for (n, client) in listener.incoming().enumerate() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    if blocked.load(Ordering::SeqCst) {
                        // As a broker that is down: the connection ends at once.
                        continue;
                    }
                    let broker =
                        match TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], broker_port))) {
                            Ok(broker) => broker,
                            // The broker is down: the forwarder sees a refused
                            // connection, as it would without the proxy.
                            Err(_) => continue,
                        };
                    let _ = client.set_nodelay(true);
                    let _ = broker.set_nodelay(true);
                    if let (Ok(c), Ok(b)) = (client.try_clone(), broker.try_clone()) {
                        open.lock().unwrap().extend([c, b]);
                    }
                    let base = faults.seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let other = base ^ 0xD1B5_4A32_D192_ED03;
                    let silent = Arc::new(AtomicBool::new(false));
                    silenced.lock().unwrap().push(silent.clone());
                    let pumps = [
                        (&client, &broker, base, &links[0]),
                        (&broker, &client, other, &links[1]),
                    ];
                    for (from, to, seed, link) in pumps {
                        let pump = Pump {
                            faults: faults.clone(),
                            seed,
                            counts: counts.clone(),
                            silent: silent.clone(),
                            link: faults.shared_link.then(|| link.clone()),
                        };
                        spawn_pump(from, to, pump);
                    }
                }
            })
        };
        FaultProxy {
            port,
            counts,
            stop,
            blocked,
            open,
            silenced,
            accept_thread: Some(accept_thread),
        }
    }

    /// While `blocked`, new connections are closed at once (an unreachable
    /// broker, seen from the forwarder).
    pub fn set_blocked(&self, blocked: bool) {
        self.blocked.store(blocked, Ordering::SeqCst);
    }

    /// Makes every connection open now silent both ways without closing
    /// it: nothing more is forwarded or even read (the sender's socket
    /// buffers fill up), no FIN, no RST. New connections work.
    pub fn silence(&self) {
        for flag in self.silenced.lock().unwrap().drain(..) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Breaks every connection open now (new ones are still accepted).
    pub fn cut(&self) {
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn dropped(&self) -> usize {
        self.counts.dropped.load(Ordering::SeqCst)
    }

    pub fn qos0_publishes(&self) -> usize {
        self.counts.qos0_publishes.load(Ordering::SeqCst)
    }

    pub fn marker_dropped(&self) -> usize {
        self.counts.marker_dropped.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        stop_accept_loop(&self.stop, self.port, self.accept_thread.take());
        self.cut();
    }
}

/// What one direction of a connection does.
struct Pump {
    faults: Faults,
    seed: u64,
    counts: Arc<FaultCounts>,
    /// Set: stop forwarding and reading, and leave the connection open.
    silent: Arc<AtomicBool>,
    /// When the shared link of this direction is free (with
    /// [`Faults::shared_link`]).
    link: Option<Arc<Mutex<Instant>>>,
}

fn spawn_pump(from: &TcpStream, to: &TcpStream, pump: Pump) {
    let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        // Silenced, the sockets stay open: `open` holds them until the
        // proxy is dropped.
        if !matches!(run_pump(&from, &to, pump), Ok(true)) {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        }
    });
}

/// One MQTT packet: its first byte, the encoded remaining length and the body.
struct Packet {
    bytes: Vec<u8>,
}

impl Packet {
    fn is_qos0_publish(&self) -> bool {
        self.bytes[0] >> 4 == PUBLISH && (self.bytes[0] >> 1) & 3 == 0
    }
}

fn read_packet(reader: &mut impl Read) -> io::Result<Packet> {
    let mut bytes = vec![0u8; 1];
    reader.read_exact(&mut bytes)?;
    let mut remaining = 0usize;
    for shift in (0..4).map(|i| 7 * i) {
        let mut b = [0u8; 1];
        reader.read_exact(&mut b)?;
        bytes.push(b[0]);
        remaining |= usize::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    if remaining > MAX_REMAINING_LENGTH || bytes.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad remaining length",
        ));
    }
    let header = bytes.len();
    bytes.resize(header + remaining, 0);
    reader.read_exact(&mut bytes[header..])?;
    Ok(Packet { bytes })
}

/// Copies packets from `from` to `to` until either side closes.
/// Where a pump writes: straight to the socket, or through a thread that
/// delays every packet and caps the rate.
enum Output {
    Direct(BufWriter<TcpStream>),
    Delayed(mpsc::Sender<(Instant, Vec<u8>)>),
}

impl Output {
    fn new(
        to: &TcpStream,
        faults: &Faults,
        link: Option<Arc<Mutex<Instant>>>,
    ) -> io::Result<Output> {
        let to = to.try_clone()?;
        if faults.delay.is_zero() && faults.rate == 0 {
            return Ok(Output::Direct(BufWriter::with_capacity(64 * 1024, to)));
        }
        let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
        let rate = faults.rate;
        let delay = faults.delay;
        let link = link.unwrap_or_else(|| Arc::new(Mutex::new(Instant::now())));
        thread::spawn(move || {
            let mut to = to;
            // A packet queued at `queued` starts when the link is free,
            // takes its length at the rate, then travels `delay`.
            for (queued, bytes) in rx {
                let sent = {
                    let mut free_at = link.lock().unwrap();
                    let start = queued.max(*free_at);
                    if rate > 0 {
                        *free_at =
                            start + Duration::from_secs_f64(bytes.len() as f64 / rate as f64);
                    } else {
                        *free_at = start;
                    }
                    *free_at
                };
                let at = sent + delay;
                let now = Instant::now();
                if at > now {
                    thread::sleep(at - now);
                }
                if to.write_all(&bytes).is_err() {
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
            }
        });
        Ok(Output::Delayed(tx))
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Output::Direct(w) => w.write_all(bytes),
            Output::Delayed(tx) => tx
                .send((Instant::now(), bytes.to_vec()))
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "link closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Direct(w) => w.flush(),
            Output::Delayed(_) => Ok(()),
        }
    }
}

/// Copies packets until either side closes (`Ok(false)` or an error) or
/// the connection is silenced (`Ok(true)`).
fn run_pump(from: &TcpStream, to: &TcpStream, pump: Pump) -> io::Result<bool> {
    let Pump {
        faults,
        seed,
        counts,
        silent,
        link,
    } = pump;
    let mut reader = BufReader::with_capacity(64 * 1024, from);
    let mut writer = Output::new(to, &faults, link)?;
    let mut rng = SplitMix(seed);
    let mut held: Option<Packet> = None;
    loop {
        // Flush only when no more input is buffered, so that a burst goes
        // out in few writes but nothing waits for more input.
        if reader.buffer().is_empty() {
            writer.flush()?;
        }
        let mut packet = read_packet(&mut reader)?;
        if silent.load(Ordering::SeqCst) {
            return Ok(true);
        }
        if faults.refuse_subscriptions && packet.bytes[0] >> 4 == SUBACK {
            // Fixed header (2 bytes for a SUBACK), packet id (2), then one
            // return code per filter.
            for code in packet.bytes.iter_mut().skip(4) {
                *code = SUBACK_FAILURE;
            }
        }
        if faults.no_qos2_answers && matches!(packet.bytes[0] >> 4, PUBREC | SUBACK) {
            continue;
        }
        if !packet.is_qos0_publish() {
            writer.write(&packet.bytes)?;
            counts.forwarded.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        counts.qos0_publishes.fetch_add(1, Ordering::Relaxed);
        if let Some((marker, n)) = &faults.drop_first_containing {
            if packet.bytes.windows(marker.len()).any(|w| w == marker)
                && counts
                    .marker_dropped
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| {
                        (d < *n).then_some(d + 1)
                    })
                    .is_ok()
            {
                continue;
            }
        }
        if rng.percent(faults.drop_percent) {
            counts.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if held.is_none() && rng.percent(faults.reorder_percent) {
            // Sent after the next QoS 0 publish.
            counts.reordered.fetch_add(1, Ordering::Relaxed);
            held = Some(packet);
            continue;
        }
        writer.write(&packet.bytes)?;
        if rng.percent(faults.duplicate_percent) {
            counts.duplicated.fetch_add(1, Ordering::Relaxed);
            writer.write(&packet.bytes)?;
        }
        if let Some(earlier) = held.take() {
            writer.write(&earlier.bytes)?;
        }
        counts.forwarded.fetch_add(1, Ordering::Relaxed);
    }
}
