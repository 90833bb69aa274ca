//! Two-node brokers for the failover tests: two aedes processes sharing
//! one Redis server (a cluster: subscriptions, retained messages and
//! sessions are common), or two mosquittos joined by a bridge. Each node
//! can be killed and restarted on its own port.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use super::{free_port, Broker, Proc, TempDir, ANONYMOUS, READY_TIMEOUT};

/// Where Debian's redis-server is.
const REDIS: &str = "/usr/bin/redis-server";

/// A broker of two nodes.
pub struct Cluster {
    pub nodes: Vec<Broker>,
    /// The Redis server of an aedes cluster (killed last).
    redis: Option<Proc>,
    /// One directory per node (their logs), then the Redis one.
    dirs: Vec<TempDir>,
}

impl Cluster {
    /// Two aedes nodes of one cluster, through a fresh Redis server on a
    /// free loopback port (nothing saved to disk). Panics with install
    /// instructions if redis-server is missing.
    pub fn aedes(tag: &str) -> Cluster {
        assert!(
            Path::new(REDIS).exists(),
            "the cluster tests need redis-server at {REDIS}: apt-get install redis-server \
             (test/run-tests.sh does)"
        );
        let redis_dir = TempDir::new(&format!("{tag}-redis"));
        let redis_port = free_port();
        let mut cmd = Command::new(REDIS);
        cmd.args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(redis_dir.path());
        let mut redis = Proc::spawn("redis-server", cmd, redis_dir.file("redis.log"));
        if let Err(e) = redis.wait_until_listening(redis_port, READY_TIMEOUT) {
            panic!("redis-server did not start: {e}");
        }
        let port = redis_port.to_string();
        let quirks = [("AEDES_REDIS_PORT", port.as_str())];
        let mut dirs = Vec::new();
        let mut nodes = Vec::new();
        for name in ["a", "b"] {
            let dir = TempDir::new(&format!("{tag}-node-{name}"));
            nodes.push(Broker::start_aedes_with(&dir, &quirks));
            dirs.push(dir);
        }
        dirs.push(redis_dir);
        Cluster {
            nodes,
            redis: Some(redis),
            dirs,
        }
    }

    /// Two mosquittos, the second bridged to the first (every topic, both
    /// ways, QoS 1): what is published on one reaches the subscribers of
    /// both. Waits until the bridge is up.
    pub fn bridged_mosquittos(tag: &str) -> Cluster {
        let dir_a = TempDir::new(&format!("{tag}-node-a"));
        let a = Broker::start(&dir_a);
        let dir_b = TempDir::new(&format!("{tag}-node-b"));
        let bridge = format!(
            "{ANONYMOUS}connection to-a\naddress 127.0.0.1:{}\ntopic # both 1\n\
             cleansession true\ntry_private true\nrestart_timeout 1\n\
             bridge_protocol_version mqttv311\nnotifications false\n",
            a.port
        );
        let b = Broker::start_with(&dir_b, &bridge);
        let cluster = Cluster {
            nodes: vec![a, b],
            redis: None,
            dirs: vec![dir_a, dir_b],
        };
        cluster.wait_for_bridge();
        cluster
    }

    /// Waits until the second mosquitto says its bridge is connected.
    fn wait_for_bridge(&self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while !self.nodes[1].logs().contains("Connecting bridge") {
            assert!(
                Instant::now() < deadline,
                "the bridge did not connect:\n{}",
                self.logs()
            );
            thread::sleep(Duration::from_millis(50));
        }
        // The bridge's CONNECT and SUBSCRIBE follow at once on loopback;
        // give them a moment before anything is published.
        thread::sleep(Duration::from_millis(500));
    }

    /// The `--mqtt-host` list of the nodes in `order` (indexes).
    pub fn hosts(&self, order: &[usize]) -> String {
        let entries: Vec<String> = order
            .iter()
            .map(|&i| format!("127.0.0.1:{}", self.nodes[i].port))
            .collect();
        entries.join(",")
    }

    /// The endpoint the program names node `i` by in its log.
    pub fn endpoint(&self, i: usize) -> String {
        format!("mqtt://127.0.0.1:{}", self.nodes[i].port)
    }

    /// Every node's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            out.push_str(&format!("===== node {i} =====\n{}", node.logs()));
        }
        if let Some(redis) = &self.redis {
            out.push_str(&format!("===== redis =====\n{}", redis.log()));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "===== broker logs of the failed test =====\n{}",
                self.logs()
            );
        }
        for node in &mut self.nodes {
            node.kill();
        }
        if let Some(mut redis) = self.redis.take() {
            redis.kill();
        }
    }
}
