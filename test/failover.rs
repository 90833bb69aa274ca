//! Failover between the nodes of a real distributed broker, started by the
//! tests: two aedes nodes sharing state through Redis, and two mosquittos
//! bridged to each other. The sides are given the nodes as a list
//! (`--mqtt-host a,b`); killing the node a side is connected to, in the
//! middle of a transfer, moves the side to the other node, and the
//! transfer completes intact.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::*;

const MIB: usize = 1024 * 1024;
/// Bound of a whole 8 MiB echo, a failover included.
const ECHO_TIMEOUT: Duration = Duration::from_secs(90);
/// A side's twin warning (it must not be said across nodes).
const TWIN_LINE: &str = "another server side with id";
const KEY: &str = "5f0c2a9e8d7b6a5948372615f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4c3b2\n";

/// The forwarders of one test, killed (and their logs printed if the test
/// failed) when dropped.
struct Sides {
    procs: Vec<Proc>,
    args: Vec<String>,
    dir: TempDir,
}

impl Sides {
    fn new(tag: &str) -> Sides {
        Sides {
            procs: Vec::new(),
            args: Vec::new(),
            dir: TempDir::new(tag),
        }
    }

    /// Both sides authenticate with a pre-shared key.
    fn keyed(tag: &str) -> Sides {
        use std::os::unix::fs::PermissionsExt;
        let mut sides = Sides::new(tag);
        let path = sides.dir.file("psk");
        std::fs::write(&path, KEY).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        sides.args = vec!["--psk-file".into(), path.to_str().unwrap().into()];
        sides
    }

    fn spawn(&mut self, name: &str, args: &[String]) -> usize {
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(args).args(&self.args);
        for var in PROGRAM_ENV_VARS {
            cmd.env_remove(var);
        }
        let log = self.dir.file(&format!("{}-{name}.log", self.procs.len()));
        self.procs.push(Proc::spawn(name, cmd, log));
        self.procs.len() - 1
    }

    /// A server side on `hosts` toward `target`, connected.
    fn server(&mut self, id: &str, hosts: &str, target: u16) -> usize {
        let args = [
            "-s",
            "--mqtt-host",
            hosts,
            "--server-side-id",
            id,
            "-p",
            &target.to_string(),
        ];
        let n = self.spawn("server", &args.map(String::from));
        let ready = self.procs[n].wait_for_log("connected to broker", READY_TIMEOUT);
        ready.unwrap_or_else(|e| panic!("{e}"));
        n
    }

    /// A client side on `hosts`, listening and connected: its index and
    /// port.
    fn client(&mut self, id: &str, hosts: &str) -> (usize, u16) {
        let port = free_port();
        let args = [
            "--mqtt-host",
            hosts,
            "--server-side-id",
            id,
            "-p",
            &port.to_string(),
        ];
        let n = self.spawn("client", &args.map(String::from));
        let proc = &mut self.procs[n];
        proc.wait_for_log("client side listening on", READY_TIMEOUT)
            .and_then(|()| proc.wait_for_log("connected to broker", READY_TIMEOUT))
            .unwrap_or_else(|e| panic!("{e}"));
        (n, port)
    }

    fn log(&self, n: usize) -> String {
        self.procs[n].log()
    }
}

impl Drop for Sides {
    fn drop(&mut self) {
        for proc in &mut self.procs {
            proc.kill();
        }
        if thread::panicking() {
            for proc in &self.procs {
                eprintln!("----- {} -----\n{}", proc.name, proc.log());
            }
        }
    }
}

/// An 8 MiB echo through the client side on `port`, running: the bytes
/// received so far and when each read came.
struct Echo {
    received: Arc<AtomicUsize>,
    reads: Arc<Mutex<Vec<(Instant, usize)>>>,
    data: Arc<Vec<u8>>,
    done: Arc<AtomicBool>,
    thread: thread::JoinHandle<Result<Vec<u8>, String>>,
}

impl Echo {
    fn start(port: u16, seed: u64) -> Echo {
        let data = Arc::new(random_bytes(8 * MIB, seed));
        let received = Arc::new(AtomicUsize::new(0));
        let reads = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (data, received) = (data.clone(), received.clone());
            thread::spawn(move || {
                echo_through_with_progress(port, data, ECHO_TIMEOUT, Some(received))
            })
        };
        // The reads' times, sampled finely enough to see a stall.
        {
            let (received, reads, done) = (received.clone(), reads.clone(), done.clone());
            thread::spawn(move || {
                let mut last = 0;
                while !done.load(Ordering::Relaxed) {
                    let now = received.load(Ordering::Relaxed);
                    if now != last {
                        reads.lock().unwrap().push((Instant::now(), now));
                        last = now;
                    }
                    thread::sleep(Duration::from_millis(1));
                }
            });
        }
        Echo {
            received,
            reads,
            data,
            done,
            thread,
        }
    }

    /// Waits until `bytes` have come back.
    fn wait_for(&self, bytes: usize) {
        let deadline = Instant::now() + ECHO_TIMEOUT;
        while self.received.load(Ordering::Relaxed) < bytes {
            assert!(
                Instant::now() < deadline,
                "the echo did not reach {bytes} bytes"
            );
            assert!(!self.thread.is_finished(), "the echo ended early");
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits for the end and checks every byte; returns the longest stall
    /// that began after `killed`: the time from the kill to the first
    /// byte after it.
    fn finish(self, what: &str, killed: Option<Instant>) -> Option<Duration> {
        let received = self
            .thread
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        self.done.store(true, Ordering::Relaxed);
        assert_same_data(what, &received, &self.data);
        let killed = killed?;
        let reads = self.reads.lock().unwrap();
        let mut previous = killed;
        let mut longest = (Duration::ZERO, killed);
        for &(at, _) in reads.iter().filter(|(at, _)| *at > killed) {
            if at - previous > longest.0 {
                longest = (at - previous, at);
            }
            previous = at;
        }
        Some(longest.1 - killed)
    }
}

/// The switch line a side logs when it moves from node `from` to `to`.
fn switch_line(cluster: &Cluster, from: usize, to: usize) -> String {
    format!(
        "switched to broker node {} (from {})",
        cluster.endpoint(to),
        cluster.endpoint(from)
    )
}

fn assert_no_twin(sides: &Sides, n: usize) {
    let log = sides.log(n);
    assert!(
        !log.contains(TWIN_LINE),
        "a twin was seen across nodes:\n{log}"
    );
}

/// Server side on node A (then B), client side on node B (then A): an
/// 8 MiB echo crosses the cluster from node to node.
fn echo_from_node_to_node(cluster: &Cluster, mut sides: Sides, id: &str) {
    let echo = Target::echo();
    let server = sides.server(id, &cluster.hosts(&[0, 1]), echo.port);
    let (client, port) = sides.client(id, &cluster.hosts(&[1, 0]));
    let on = |n: usize, node: usize| {
        let line = format!("connected to broker {}", cluster.endpoint(node));
        assert!(sides.log(n).contains(&line), "{line:?} missing");
    };
    on(server, 0);
    on(client, 1);
    let started = Instant::now();
    Echo::start(port, 31).finish("8 MiB echo from node to node", None);
    eprintln!(
        "8 MiB echo from node A to node B: {:.2?}",
        started.elapsed()
    );
    assert_no_twin(&sides, server);
    assert_no_twin(&sides, client);
}

/// Both sides on node A; A is killed in the middle of an 8 MiB echo; both
/// move to node B, each with one line naming it, and the echo completes
/// intact. Prints the time from the kill to the first byte through B.
fn survive_the_loss_of_the_node_of_both_sides(mut cluster: Cluster, mut sides: Sides, id: &str) {
    let echo = Target::echo();
    let hosts = cluster.hosts(&[0, 1]);
    let server = sides.server(id, &hosts, echo.port);
    let (client, port) = sides.client(id, &hosts);
    let transfer = Echo::start(port, 32);
    transfer.wait_for(2 * MIB);
    cluster.nodes[0].kill();
    let killed = Instant::now();
    let failover = transfer.finish("8 MiB echo across the loss of a node", Some(killed));
    let done = killed.elapsed();
    let failover = failover.expect("a kill time was given");
    eprintln!(
        "{id}: kill of node A -> first byte through node B: {failover:.2?}, \
         transfer done {done:.2?} after the kill"
    );
    let line = switch_line(&cluster, 0, 1);
    for n in [server, client] {
        let log = sides.log(n);
        assert_eq!(log.matches(&line).count(), 1, "{line:?} once in:\n{log}");
        assert_eq!(log.matches("switched to broker node").count(), 1, "{log}");
    }
    assert_no_twin(&sides, server);
    assert_no_twin(&sides, client);
    // The sessions go on: another echo through node B.
    Echo::start(port, 33).finish("8 MiB echo after the failover", None);
    // And back when node B goes and A returns.
    cluster.nodes[0].restart();
    cluster.nodes[1].kill();
    Echo::start(port, 34).finish("8 MiB echo after failing back", None);
    let back = switch_line(&cluster, 1, 0);
    for n in [server, client] {
        assert_eq!(sides.log(n).matches(&back).count(), 1, "{back:?} once");
    }
}

#[test]
fn an_echo_crosses_an_aedes_cluster_from_one_node_to_the_other() {
    let cluster = Cluster::aedes("cluster-echo");
    echo_from_node_to_node(&cluster, Sides::new("cluster-echo"), "cluster-echo");
}

#[test]
fn a_transfer_completes_through_the_other_aedes_node_when_its_node_is_killed() {
    let cluster = Cluster::aedes("cluster-kill");
    survive_the_loss_of_the_node_of_both_sides(cluster, Sides::new("cluster-kill"), "cluster-kill");
}

#[test]
fn an_echo_crosses_two_bridged_mosquittos_with_keyed_sessions() {
    let cluster = Cluster::bridged_mosquittos("bridge-echo");
    echo_from_node_to_node(&cluster, Sides::keyed("bridge-echo"), "bridge-echo");
}

#[test]
fn a_keyed_transfer_completes_through_the_other_bridged_mosquitto_when_its_node_is_killed() {
    let cluster = Cluster::bridged_mosquittos("bridge-kill");
    survive_the_loss_of_the_node_of_both_sides(cluster, Sides::keyed("bridge-kill"), "bridge-kill");
}

/// A keyed server side on node A and a second one with its id on node B:
/// the twin is still found through the other node, the newer one stops
/// with one line and the first keeps serving.
fn a_twin_on_the_other_node_stops(cluster: &Cluster, tag: &str) {
    let echo = Target::echo();
    let mut sides = Sides::keyed(tag);
    let first = sides.server(tag, &cluster.hosts(&[0, 1]), echo.port);
    thread::sleep(Duration::from_millis(300));
    let second = sides.server(tag, &cluster.hosts(&[1, 0]), echo.port);
    let (code, took) = sides.procs[second].wait_exit(Duration::from_secs(30));
    assert_eq!(
        code,
        Some(2),
        "the twin did not stop: {}",
        sides.log(second)
    );
    let log = sides.log(second);
    let line = format!("{TWIN_LINE} '{tag}'");
    assert_eq!(log.matches(&line).count(), 1, "{log}");
    assert!(
        sides.procs[first].exited().is_none(),
        "the first keeps serving"
    );
    eprintln!("{tag}: the twin on the other node stopped after {took:.2?}");
    let (_, port) = sides.client(tag, &cluster.hosts(&[1, 0]));
    Echo::start(port, 35).finish("8 MiB echo through the first server side", None);
}

#[test]
fn a_keyed_twin_on_the_other_bridged_mosquitto_is_found_and_stops() {
    let cluster = Cluster::bridged_mosquittos("bridge-twin");
    a_twin_on_the_other_node_stops(&cluster, "bridge-twin");
}
