//! Shared harness of the integration tests: temporary directories, free
//! loopback ports, a private mosquitto broker per test, the `mqtt-forward`
//! processes under test, and in-process TCP targets (echo, sink, source).
//!
//! Everything that waits is bounded. Child processes are killed when their
//! guard is dropped; when a test panics, the guards print the logs of every
//! process of the test (the test harness shows them with the failure).

// Each test crate uses a different subset of the harness.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub mod cluster;
pub mod fault_proxy;
pub mod mqtt_raw;
pub mod sniffer;
pub mod support;

pub use support::{stop_accept_loop, SplitMix};

/// The binary under test, built by cargo for the integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_mqtt-forward");

/// Where mosquitto is expected (Debian/Ubuntu package `mosquitto`).
pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// The environment variables the program reads (from its option table);
/// removed from every child so that the developer's environment cannot
/// change a test.
pub use mqtt_forward::cli::ENV_VARS as PROGRAM_ENV_VARS;

/// How long a broker or a forwarder may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Timeout of a single blocking read or write on a test socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Timeout of every socket operation of the in-process targets.
const TARGET_IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Poll interval of every wait loop.
const POLL: Duration = Duration::from_millis(20);
/// Size of the writes of the test clients.
const CHUNK: usize = 64 * 1024;

// ---------------------------------------------------------------------------
// Temporary directories and ports

/// A fresh directory under the system temp dir, removed on drop unless the
/// thread is panicking (then it is kept for inspection and its path printed).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "mqtt-forward-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("(test files kept in {})", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A loopback port nothing listens on right now (bound to port 0, read,
/// released). Another process could take it before it is used; the
/// starters below retry with a new port when a bind fails.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        thread::sleep(POLL);
    }
    false
}

// ---------------------------------------------------------------------------
// Child processes

/// Waits at most `timeout` for `child` to exit.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => thread::sleep(POLL),
            Err(e) => panic!("waiting for a child process: {e}"),
        }
    }
}

/// A file's contents as text (lossy), or "" if it cannot be read.
pub fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// A finished run of the program.
#[derive(Debug)]
pub struct RunOutput {
    /// `None` if it was killed (on timeout or by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `mqtt-forward args` with the `MQTT_FORWARD_*` variables removed,
/// then `env` set, stdin closed, and output in files under `dir`. Kills it
/// and panics if it has not exited within `timeout`.
pub fn run_program(
    dir: &TempDir,
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> RunOutput {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let out_path = dir.file(&format!("run-{n}.stdout"));
    let err_path = dir.file(&format!("run-{n}.stderr"));
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"));
    for var in PROGRAM_ENV_VARS {
        cmd.env_remove(var);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    let status = wait_timeout(&mut child, timeout);
    let elapsed = started.elapsed();
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "mqtt-forward {args:?} did not exit within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
            read_lossy(&out_path),
            read_lossy(&err_path)
        );
    }
    RunOutput {
        code: status.and_then(|s| s.code()),
        stdout: read_lossy(&out_path),
        stderr: read_lossy(&err_path),
        elapsed,
    }
}

/// A background child process whose stderr (and stdout) go to a log file.
/// Killed on drop.
pub struct Proc {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` (stdin closed) with stdout and stderr in `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Proc {
        let file = File::create(&log).expect("create log file");
        let file2 = file.try_clone().expect("clone log file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(file2))
            .stderr(Stdio::from(file));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Proc {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn log(&self) -> String {
        read_lossy(&self.log)
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until the log contains `needle`. Err(log) if the process exits
    /// or the time is up first.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}) before logging {needle:?}; log:\n{}",
                    self.name,
                    self.log()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not log {needle:?} within {timeout:?}; log:\n{}",
                    self.name,
                    self.log()
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// Waits until something accepts TCP connections on `127.0.0.1:port`.
    /// Err(log) if the process exits or the time is up first.
    pub fn wait_until_listening(&mut self, port: u16, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}); log:\n{}",
                    self.name,
                    self.log()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not accept connections on port {port} within {timeout:?}; log:\n{}",
                    self.name,
                    self.log()
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// The process id (of qemu, for an emulated binary).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in KiB (VmRSS), if the process is alive.
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// Peak resident memory so far, in KiB (VmHWM), if the process is alive.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Waits at most `bound` for the process to exit: its exit code (`None`
    /// if killed by a signal) and how long that took. Panics with the log
    /// if it still runs.
    pub fn wait_exit(&mut self, bound: Duration) -> (Option<i32>, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return (status.code(), started.elapsed());
            }
            assert!(
                started.elapsed() < bound,
                "{} still runs after {bound:?}; log:\n{}",
                self.name,
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// How many times `needle` occurs in the log.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// The broker

/// A private broker on `127.0.0.1:port`: mosquitto with its config in a temp
/// dir, or aedes (a second implementation, see [`Broker::start_aedes`]).
pub struct Broker {
    pub port: u16,
    config: PathBuf,
    dir: PathBuf,
    starts: usize,
    proc: Option<Proc>,
    aedes: bool,
    /// The environment of test/aedes-broker.mjs: the quotas it emulates.
    quirks: Vec<(String, String)>,
}

/// Where test/run-tests.sh installs aedes (npm) for the tests.
pub fn aedes_dir() -> PathBuf {
    match std::env::var_os("MQTT_FORWARD_AEDES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/mqtt-forward/aedes"),
    }
}

impl Broker {
    /// Starts mosquitto on a free port and waits until it accepts
    /// connections. Panics with install instructions if it is missing.
    pub fn start(dir: &TempDir) -> Broker {
        Broker::start_with(dir, ANONYMOUS)
    }

    /// Like [`Broker::start`], with `settings` (mosquitto.conf lines, each
    /// ending in a newline) for the listener: TLS files, authentication.
    pub fn start_with(dir: &TempDir, settings: &str) -> Broker {
        assert!(
            Path::new(MOSQUITTO).exists(),
            "the integration tests need the mosquitto MQTT broker at {MOSQUITTO}; \
             install it with `apt-get install mosquitto`"
        );
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.file("mosquitto.conf");
            fs::write(
                &config,
                // `user root`: when run as root, mosquitto would otherwise
                // drop to the `mosquitto` user and could not read the 0600
                // test keys; as any other user the line has no effect.
                // `set_tcp_nodelay true`: without it the broker's Nagle delay
                // adds ~40 ms to every small exchange (see README.rst).
                format!(
                    "listener {port} 127.0.0.1\n{settings}persistence false\nuser root\n\
                     set_tcp_nodelay true\n\
                     log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
                ),
            )
            .expect("write mosquitto.conf");
            let mut broker = Broker {
                port,
                config,
                dir: dir.path().to_owned(),
                starts: 0,
                proc: None,
                aedes: false,
                quirks: Vec::new(),
            };
            match broker.try_start() {
                Ok(()) => return broker,
                Err(e) => last_error = e,
            }
        }
        panic!("mosquitto did not start: {last_error}");
    }

    /// Starts aedes (node, test/aedes-broker.mjs) on a free port. Panics
    /// with install instructions if it is missing.
    pub fn start_aedes(dir: &TempDir) -> Broker {
        Broker::start_aedes_with(dir, &[])
    }

    /// Like [`Broker::start_aedes`], emulating the cloud quotas `quirks`
    /// names (the variables test/aedes-broker.mjs reads).
    pub fn start_aedes_with(dir: &TempDir, quirks: &[(&str, &str)]) -> Broker {
        let modules = aedes_dir();
        assert!(
            modules.join("node_modules/aedes").is_dir(),
            "the aedes tests need aedes in {}: npm install --prefix {} aedes@1 \
             (test/run-tests.sh does)",
            modules.display(),
            modules.display()
        );
        let mut last_error = String::new();
        for _ in 0..5 {
            let mut broker = Broker {
                port: free_port(),
                config: PathBuf::new(),
                dir: dir.path().to_owned(),
                starts: 0,
                proc: None,
                aedes: true,
                quirks: quirks
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            };
            match broker.try_start() {
                Ok(()) => return broker,
                Err(e) => last_error = e,
            }
        }
        panic!("aedes did not start: {last_error}");
    }

    fn try_start(&mut self) -> Result<(), String> {
        self.starts += 1;
        let log = self.dir.join(format!("mosquitto-{}.log", self.starts));
        let cmd = if self.aedes {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("test/aedes-broker.mjs");
            let mut cmd = Command::new("node");
            cmd.arg(script)
                .arg(self.port.to_string())
                .env("AEDES_DIR", aedes_dir())
                .envs(self.quirks.iter().map(|(k, v)| (k, v)));
            cmd
        } else {
            let mut cmd = Command::new(MOSQUITTO);
            cmd.arg("-c").arg(&self.config);
            cmd
        };
        let mut proc = Proc::spawn(&format!("mosquitto #{}", self.starts), cmd, log);
        proc.wait_until_listening(self.port, READY_TIMEOUT)?;
        self.proc = Some(proc);
        Ok(())
    }

    /// Kills the broker (SIGKILL: every client connection breaks at once).
    pub fn kill(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill();
        }
    }

    /// Starts the broker again on the same port with the same config. The
    /// port may stay busy a moment, so this retries for a few seconds.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.try_start() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => panic!("restarting mosquitto: {e}"),
                Err(_) => thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// The logs of every start of the broker.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for n in 1..=self.starts {
            let path = self.dir.join(format!("mosquitto-{n}.log"));
            out.push_str(&format!(
                "----- mosquitto #{n} (port {}) -----\n{}",
                self.port,
                read_lossy(&path)
            ));
        }
        out
    }
}

/// Listener settings of a broker that lets anyone in.
pub const ANONYMOUS: &str = "allow_anonymous true\n";

// ---------------------------------------------------------------------------
// Certificates

/// A throwaway PKI made by test/gen-certs.sh (see there for the files).
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    /// Generates the PKI into `dir/pki`. Panics if openssl is missing.
    pub fn generate(dir: &TempDir) -> Pki {
        let pki = dir.file("pki");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("test/gen-certs.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&pki)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "test/gen-certs.sh failed (the TLS tests need openssl: apt-get install openssl):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Pki { dir: pki }
    }

    /// Path of one of the generated files, as a string for command lines.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// mosquitto listener settings for TLS with the broker certificate
    /// `broker` (`broker` or `broker-wrong-name`). With `require_certificate`,
    /// clients must present a certificate signed by the test CA.
    pub fn listener(&self, broker: &str, require_certificate: bool) -> String {
        format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {require_certificate}\n\
             allow_anonymous true\n",
            self.path("ca.pem"),
            self.path(&format!("{broker}.pem")),
            self.path(&format!("{broker}.key")),
        )
    }

    /// Forwarder flags for mutual TLS with the client certificate `name`
    /// (`server-side`, `client-side`, `client-pkcs8`, `rogue`).
    pub fn client_cert_args(&self, name: &str) -> Vec<String> {
        vec![
            "--mqtt-root-ca".into(),
            self.path("ca.pem"),
            "--mqtt-certificate".into(),
            self.path(&format!("{name}.pem")),
            "--mqtt-private-key".into(),
            self.path(&format!("{name}.key")),
        ]
    }
}

// ---------------------------------------------------------------------------
// A test's processes

/// One test's world: a temp dir, a broker and the forwarders started so far.
/// Dropping it kills everything; if the test is failing, it prints the logs.
pub struct Fixture {
    pub broker: Broker,
    /// Broker host name given to the forwarders (default 127.0.0.1).
    pub mqtt_host: String,
    /// Extra flags for every server side (e.g. its TLS certificate).
    pub server_args: Vec<String>,
    /// Extra flags for every client side.
    pub client_args: Vec<String>,
    /// The command that runs a server side (default: the native binary
    /// under test; an emulated test puts qemu and a cross-built binary here).
    pub server_program: Vec<String>,
    /// The command that runs a client side.
    pub client_program: Vec<String>,
    /// Broker port given to server sides (default the broker's; a fault
    /// proxy's port puts the proxy between the server side and the broker).
    pub server_mqtt_port: Option<u16>,
    /// Broker port given to client sides (default the broker's).
    pub client_mqtt_port: Option<u16>,
    procs: Vec<Proc>,
    // Last, so that the processes are gone before the directory is removed.
    pub dir: TempDir,
}

/// Handle to a forwarder started by a [`Fixture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcId(usize);

impl Fixture {
    /// A temp dir named after `tag` and a fresh broker.
    pub fn new(tag: &str) -> Fixture {
        Fixture::with_broker(tag, |_| ANONYMOUS.to_owned())
    }

    /// A temp dir and a fresh aedes broker (a second MQTT implementation).
    pub fn with_aedes(tag: &str) -> Fixture {
        Fixture::with_aedes_quirks(tag, &[])
    }

    /// A fresh aedes broker emulating the cloud quotas `quirks` (see
    /// [`Broker::start_aedes_with`]).
    pub fn with_aedes_quirks(tag: &str, quirks: &[(&str, &str)]) -> Fixture {
        let dir = TempDir::new(tag);
        let broker = Broker::start_aedes_with(&dir, quirks);
        Fixture::around(dir, broker)
    }

    /// A fixture for `broker`, running in `dir`, with no forwarder yet.
    fn around(dir: TempDir, broker: Broker) -> Fixture {
        Fixture {
            broker,
            mqtt_host: "127.0.0.1".to_owned(),
            server_args: Vec::new(),
            client_args: Vec::new(),
            server_program: vec![BIN.to_owned()],
            client_program: vec![BIN.to_owned()],
            server_mqtt_port: None,
            client_mqtt_port: None,
            procs: Vec::new(),
            dir,
        }
    }

    /// A temp dir and a broker whose listener settings `settings` returns
    /// (it may create files, such as certificates, in the directory).
    pub fn with_broker(tag: &str, settings: impl FnOnce(&TempDir) -> String) -> Fixture {
        let dir = TempDir::new(tag);
        let broker = Broker::start_with(&dir, &settings(&dir));
        Fixture::around(dir, broker)
    }

    /// A broker with TLS, presenting the test certificate `broker_cert`
    /// (`broker`, `broker-wrong-name`, `broker-expired`), requiring client
    /// certificates if `require_certificate`. The forwarders connect to
    /// `localhost` and trust the test CA; nothing else is set for them.
    pub fn tls(tag: &str, broker_cert: &str, require_certificate: bool) -> (Fixture, Pki) {
        let mut pki = None;
        let mut fx = Fixture::with_broker(tag, |dir| {
            let generated = Pki::generate(dir);
            let settings = generated.listener(broker_cert, require_certificate);
            pki = Some(generated);
            settings
        });
        let pki = pki.expect("the PKI was generated");
        fx.mqtt_host = "localhost".to_owned();
        let root_ca = vec!["--mqtt-root-ca".to_owned(), pki.path("ca.pem")];
        fx.server_args = root_ca.clone();
        fx.client_args = root_ca;
        (fx, pki)
    }

    /// A broker with TLS and `require_certificate true`, and forwarders set
    /// up for mutual TLS: the server side with the `server-side`
    /// certificate (EC key, SEC1), the client side with `client-side` (RSA
    /// key, PKCS#1). Returns the fixture and its PKI.
    pub fn mutual_tls(tag: &str) -> (Fixture, Pki) {
        let (mut fx, pki) = Fixture::tls(tag, "broker", true);
        fx.server_args = pki.client_cert_args("server-side");
        fx.client_args = pki.client_cert_args("client-side");
        (fx, pki)
    }

    /// Starts `mqtt-forward args` in the background without waiting for
    /// anything (the `MQTT_FORWARD_*` variables removed, then `env` set).
    pub fn spawn_with_env(&mut self, name: &str, args: &[String], env: &[(&str, &str)]) -> ProcId {
        self.spawn_program(name, &[BIN.to_owned()], args, env)
    }

    /// Like [`Fixture::spawn_with_env`], running `program` (a command and
    /// its first arguments, e.g. qemu and a cross-built binary).
    pub fn spawn_program(
        &mut self,
        name: &str,
        program: &[String],
        args: &[String],
        env: &[(&str, &str)],
    ) -> ProcId {
        let mut cmd = Command::new(&program[0]);
        cmd.args(&program[1..]).args(args);
        for var in PROGRAM_ENV_VARS {
            cmd.env_remove(var);
        }
        for (var, value) in env {
            cmd.env(var, value);
        }
        let n = self.procs.len();
        let log = self.dir.file(&format!("{n}-{name}.log"));
        self.procs.push(Proc::spawn(name, cmd, log));
        ProcId(n)
    }

    pub fn proc(&mut self, id: ProcId) -> &mut Proc {
        &mut self.procs[id.0]
    }

    /// The broker flags (host, port, server-side id) for a forwarder.
    pub fn broker_args(&self, server_side_id: &str) -> Vec<String> {
        self.broker_args_on(self.broker.port, server_side_id)
    }

    /// The broker flags, with `port` as the broker's port.
    pub fn broker_args_on(&self, port: u16, server_side_id: &str) -> Vec<String> {
        vec![
            "--mqtt-host".into(),
            self.mqtt_host.clone(),
            "--mqtt-port".into(),
            port.to_string(),
            "--server-side-id".into(),
            server_side_id.into(),
        ]
    }

    /// Starts a server side forwarding to `127.0.0.1:target_port` (unless
    /// `extra` says otherwise) and waits until it is connected to the broker.
    pub fn server(&mut self, server_side_id: &str, target_port: u16, extra: &[&str]) -> ProcId {
        let mut args = vec!["-s".to_owned()];
        let port = self.server_mqtt_port.unwrap_or(self.broker.port);
        args.extend(self.broker_args_on(port, server_side_id));
        args.extend(["-p".to_owned(), target_port.to_string()]);
        args.extend(self.server_args.iter().cloned());
        args.extend(extra.iter().map(|s| s.to_string()));
        let program = self.server_program.clone();
        let id = self.spawn_program(&format!("server-{server_side_id}"), &program, &args, &[]);
        if let Err(e) = self
            .proc(id)
            .wait_for_log("connected to broker", READY_TIMEOUT)
        {
            panic!("{e}");
        }
        id
    }

    /// Starts a client side on a free port and waits until it listens and
    /// is connected to the broker. Returns its handle and listening port.
    ///
    /// Readiness is read from the log rather than by connecting: every
    /// accepted connection opens a session, which would reach the target.
    pub fn client(&mut self, server_side_id: &str, extra: &[&str]) -> (ProcId, u16) {
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let broker_port = self.client_mqtt_port.unwrap_or(self.broker.port);
            let mut args = self.broker_args_on(broker_port, server_side_id);
            args.extend(["-p".to_owned(), port.to_string()]);
            args.extend(self.client_args.iter().cloned());
            args.extend(extra.iter().map(|s| s.to_string()));
            let program = self.client_program.clone();
            let name = format!("client-{server_side_id}-{port}");
            let id = self.spawn_program(&name, &program, &args, &[]);
            let proc = self.proc(id);
            let ready = proc
                .wait_for_log("client side listening on", READY_TIMEOUT)
                .and_then(|()| proc.wait_for_log("connected to broker", READY_TIMEOUT));
            match ready {
                Ok(()) => return (id, port),
                // Someone took the port in between: try another.
                Err(e) if e.contains("cannot listen") => last_error = e,
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no client side could listen: {last_error}");
    }

    /// Every log of the test, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = self.broker.logs();
        for proc in &self.procs {
            out.push_str(&format!("----- {} -----\n{}", proc.name, proc.log()));
        }
        out
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for proc in &mut self.procs {
            proc.kill();
        }
        self.broker.kill();
        if thread::panicking() {
            eprintln!("===== logs of the failed test =====\n{}", self.logs());
        }
    }
}

// ---------------------------------------------------------------------------
// Data

/// `len` pseudo-random bytes from `seed` (splitmix64): reproducible, and
/// without runs that would hide a shifted or repeated block.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Panics unless `got` equals `expected`, describing the first difference
/// (lengths, SHA-256s and the first differing offset) instead of dumping
/// megabytes.
pub fn assert_same_data(what: &str, got: &[u8], expected: &[u8]) {
    if got.len() == expected.len() && sha256(got) == sha256(expected) {
        return;
    }
    let first_diff = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    panic!(
        "{what}: received {} bytes (sha256 {}), expected {} bytes (sha256 {}); first difference at offset {first_diff}",
        got.len(),
        hex(&sha256(got)),
        expected.len(),
        hex(&sha256(expected)),
    );
}

// ---------------------------------------------------------------------------
// Test clients

/// Connects to the client side's listening port; the error as it is (a
/// connection the client side resets at once may be reset on loopback
/// before the connect even returns).
pub fn try_connect(port: u16) -> std::io::Result<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
}

/// Connects to the client side's listening port, with [`IO_TIMEOUT`] on
/// reads and writes.
pub fn connect(port: u16) -> TcpStream {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("cannot connect to the client side on {addr}: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let _ = stream.set_nodelay(true);
    stream
}

/// Reads until EOF. Fails on an I/O error, a read timeout, or when
/// `deadline` passes; the error tells how much had arrived. `progress` is
/// updated with the number of bytes received so far.
pub fn read_to_eof(
    stream: &mut TcpStream,
    deadline: Instant,
    progress: Option<&AtomicUsize>,
) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        if Instant::now() >= deadline {
            return Err(format!(
                "deadline passed after receiving {} bytes, before EOF",
                data.len()
            ));
        }
        match stream.read(&mut buf) {
            Ok(0) => return Ok(data),
            Ok(n) => {
                data.extend_from_slice(&buf[..n]);
                if let Some(p) = progress {
                    p.store(data.len(), Ordering::Relaxed);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(format!(
                    "read failed after receiving {} bytes: {e} ({:?})",
                    data.len(),
                    e.kind()
                ))
            }
        }
    }
}

/// Writes `data` in chunks, then shuts down the write side.
pub fn write_all_then_shutdown(stream: &mut TcpStream, data: &[u8]) -> Result<(), String> {
    for (i, chunk) in data.chunks(CHUNK).enumerate() {
        stream
            .write_all(chunk)
            .map_err(|e| format!("write failed at offset {}: {e}", i * CHUNK))?;
    }
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown(Write) failed: {e}"))
}

/// Sends `data` through the tunnel on `port` to an echo target from one
/// thread while reading the echo in this one; shuts down the write side at
/// the end and reads until EOF (which the echo target's close must cause).
/// Returns what came back.
pub fn echo_through(port: u16, data: Arc<Vec<u8>>, timeout: Duration) -> Result<Vec<u8>, String> {
    echo_through_with_progress(port, data, timeout, None)
}

/// [`echo_through`], publishing the number of bytes received so far.
pub fn echo_through_with_progress(
    port: u16,
    data: Arc<Vec<u8>>,
    timeout: Duration,
    progress: Option<Arc<AtomicUsize>>,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let mut stream = connect(port);
    let mut writer_stream = stream.try_clone().map_err(|e| format!("try_clone: {e}"))?;
    let writer = thread::spawn(move || write_all_then_shutdown(&mut writer_stream, &data));
    let received = read_to_eof(&mut stream, deadline, progress.as_deref());
    let written = writer
        .join()
        .unwrap_or_else(|_| Err("writer thread panicked".into()));
    let received = received?;
    written?;
    Ok(received)
}

// ---------------------------------------------------------------------------
// In-process TCP targets

/// A TCP server on `127.0.0.1:<free port>` that runs `handler` on its own
/// thread for every connection. Stops accepting when dropped.
pub struct Target {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Target {
    pub fn spawn<F>(handler: F) -> Target
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a target");
        let port = listener.local_addr().expect("local_addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let thread = {
            let accepted = accepted.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_read_timeout(Some(TARGET_IO_TIMEOUT));
                    let _ = stream.set_write_timeout(Some(TARGET_IO_TIMEOUT));
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    thread::spawn(move || handler(stream));
                }
            })
        };
        Target {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Echoes everything until EOF, then closes.
    pub fn echo() -> Target {
        Target::spawn(|mut stream| {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = stream.shutdown(Shutdown::Both);
        })
    }

    /// Reads everything until EOF, then (still able to write after the
    /// peer's half-close) sends it all back and closes.
    pub fn echo_after_eof() -> Target {
        Target::spawn(|mut stream| {
            let mut data = Vec::new();
            if stream.read_to_end(&mut data).is_ok() {
                thread::sleep(Duration::from_millis(100));
                let _ = stream.write_all(&data);
            }
            let _ = stream.shutdown(Shutdown::Both);
        })
    }

    /// Reads until EOF counting and hashing, then replies with the SHA-256
    /// (32 bytes) and the byte count (8 bytes, big-endian), and closes.
    pub fn sink() -> Target {
        Target::spawn(|mut stream| {
            let mut hasher = Sha256::new();
            let mut count = 0u64;
            let mut buf = vec![0u8; CHUNK];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        hasher.update(&buf[..n]);
                        count += n as u64;
                    }
                    Err(_) => return,
                }
            }
            let mut reply = hasher.finalize().to_vec();
            reply.extend_from_slice(&count.to_be_bytes());
            let _ = stream.write_all(&reply);
            let _ = stream.shutdown(Shutdown::Both);
        })
    }

    /// Sends `data` to every connection, then closes it.
    pub fn source(data: Arc<Vec<u8>>) -> Target {
        Target::spawn(move |mut stream| {
            for chunk in data.chunks(CHUNK) {
                if stream.write_all(chunk).is_err() {
                    return;
                }
            }
            let _ = stream.shutdown(Shutdown::Both);
        })
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        stop_accept_loop(&self.stop, self.port, self.thread.take());
    }
}
