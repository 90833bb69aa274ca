//! End-to-end tests with real OpenSSH: a private `sshd` as the target, and
//! `ssh` and `scp` through the tunnel, whose forwarders talk to a mosquitto
//! that requires TLS client certificates (mutual TLS).
//!
//! They need `openssh-server` (`/usr/sbin/sshd`) and `openssh-client`
//! besides mosquitto and openssl. Run as root (as CI does), sshd also needs
//! its privilege separation directory `/run/sshd`, which is created when
//! missing.

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const SSHD: &str = "/usr/sbin/sshd";
const PRIVSEP_DIR: &str = "/run/sshd";
/// Bound of every external command (ssh-keygen, ssh, scp).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
const MIB: usize = 1024 * 1024;
const INSTALL_OPENSSH: &str = "install openssh-server and openssh-client \
     (apt-get install openssh-server openssh-client)";

// ---------------------------------------------------------------------------
// External commands

/// A finished external command.
struct Finished {
    success: bool,
    status: String,
    stdout: String,
    /// The file that holds stdout byte for byte.
    stdout_path: PathBuf,
    stderr: String,
    elapsed: Duration,
}

impl Finished {
    /// Panics with the command's output unless it exited with status 0.
    fn expect_success(self, what: &str) -> Finished {
        assert!(
            self.success,
            "{what} failed ({}) after {:.2?}\nstdout:\n{}\nstderr:\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        );
        self
    }
}

/// Runs `cmd` with stdin closed and its output in files under `dir` (no
/// pipe to fill up). Kills it and panics, with its output, if it has not
/// exited within [`COMMAND_TIMEOUT`].
fn run(dir: &TempDir, what: &str, cmd: Command) -> Finished {
    run_with_stdin(dir, what, cmd, Stdio::null())
}

/// [`run`] with `stdin` as the command's standard input.
fn run_with_stdin(dir: &TempDir, what: &str, mut cmd: Command, stdin: Stdio) -> Finished {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let out_path = dir.file(&format!("cmd-{n}.stdout"));
    let err_path = dir.file(&format!("cmd-{n}.stderr"));
    cmd.stdin(stdin)
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"));
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what} ({cmd:?}): {e}; {INSTALL_OPENSSH}"));
    let status = wait_timeout(&mut child, COMMAND_TIMEOUT);
    let elapsed = started.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{what} did not finish within {COMMAND_TIMEOUT:?}; killed\ncommand: {cmd:?}\n\
             stdout:\n{}\nstderr:\n{}",
            read_lossy(&out_path),
            read_lossy(&err_path)
        );
    };
    Finished {
        success: status.success(),
        status: status.to_string(),
        stdout: read_lossy(&out_path),
        stdout_path: out_path,
        stderr: read_lossy(&err_path),
        elapsed,
    }
}

/// Makes a throwaway ed25519 key pair without passphrase at `path` (and
/// `path.pub`).
fn keygen(dir: &TempDir, path: &Path) {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "mqtt-forward-test",
        "-f",
    ])
    .arg(path);
    run(dir, "ssh-keygen", cmd).expect_success("ssh-keygen");
}

/// The name of the user running the tests (the one ssh logs in as).
fn user_name() -> String {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `id -un`: {e}"));
    assert!(out.status.success(), "`id -un` failed: {out:?}");
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(!name.is_empty(), "`id -un` printed nothing");
    name
}

// ---------------------------------------------------------------------------
// A private sshd

/// A private `sshd -D` on `127.0.0.1:port` that accepts the throwaway
/// client key `client_key` for the current user. Killed on drop; prints its
/// log if the test is failing.
struct Sshd {
    port: u16,
    client_key: PathBuf,
    user: String,
    proc: Proc,
}

impl Sshd {
    /// Makes the keys and the config in `dir/sshd`, starts sshd on a free
    /// port and waits until it accepts connections.
    fn start(dir: &TempDir) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "these tests need the OpenSSH server at {SSHD}: {INSTALL_OPENSSH}"
        );
        ensure_privsep_dir();
        let base = dir.file("sshd");
        fs::create_dir_all(&base).expect("create the sshd directory");
        let host_key = base.join("host_ed25519");
        let client_key = base.join("id_ed25519");
        keygen(dir, &host_key);
        keygen(dir, &client_key);
        let authorized_keys = base.join("authorized_keys");
        fs::copy(base.join("id_ed25519.pub"), &authorized_keys).expect("write authorized_keys");
        let user = user_name();

        let mut last_error = String::new();
        for attempt in 1..=5 {
            let port = free_port();
            let config = base.join("sshd_config");
            fs::write(
                &config,
                format!(
                    "ListenAddress 127.0.0.1:{port}\n\
                     HostKey {host_key}\n\
                     PidFile {pid}\n\
                     AuthorizedKeysFile {authorized_keys}\n\
                     UsePAM no\n\
                     StrictModes no\n\
                     PermitRootLogin prohibit-password\n\
                     PubkeyAuthentication yes\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     X11Forwarding no\n\
                     PrintMotd no\n\
                     Subsystem sftp internal-sftp\n\
                     LogLevel VERBOSE\n",
                    host_key = host_key.display(),
                    pid = base.join("sshd.pid").display(),
                    authorized_keys = authorized_keys.display(),
                ),
            )
            .expect("write sshd_config");
            let log = base.join(format!("sshd-{attempt}.log"));
            let mut cmd = Command::new(SSHD);
            cmd.arg("-D").arg("-e").arg("-f").arg(&config);
            let mut proc = Proc::spawn(&format!("sshd (port {port})"), cmd, log);
            match proc.wait_until_listening(port, READY_TIMEOUT) {
                Ok(()) => {
                    return Sshd {
                        port,
                        client_key: client_key.clone(),
                        user: user.clone(),
                        proc,
                    }
                }
                // Most likely someone took the port in between: try another.
                Err(e) => last_error = e,
            }
        }
        panic!("sshd did not start: {last_error}");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.proc.kill();
        if thread::panicking() {
            eprintln!("----- {} -----\n{}", self.proc.name, self.proc.log());
        }
    }
}

/// sshd run as root insists on its (empty, root-owned) privilege separation
/// directory, which containers often lack.
fn ensure_privsep_dir() {
    if Path::new(PRIVSEP_DIR).is_dir() {
        return;
    }
    if let Err(e) = fs::create_dir_all(PRIVSEP_DIR) {
        panic!(
            "sshd needs its privilege separation directory {PRIVSEP_DIR}, which is missing \
             and cannot be created ({e}); run the tests as root or create it with \
             `sudo install -d -m 0755 -o root {PRIVSEP_DIR}`"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(PRIVSEP_DIR, fs::Permissions::from_mode(0o755));
    }
}

// ---------------------------------------------------------------------------
// ssh and scp through the tunnel

/// The `-o` options common to ssh and scp: no agent, no user config, no
/// host key checks, no prompts, bounded connection setup.
fn ssh_options(sshd: &Sshd) -> Vec<String> {
    let mut args: Vec<String> = vec!["-F".into(), "/dev/null".into(), "-i".into()];
    args.push(sshd.client_key.display().to_string());
    for option in [
        "IdentitiesOnly=yes",
        "BatchMode=yes",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "LogLevel=ERROR",
        "ConnectTimeout=20",
    ] {
        args.push("-o".into());
        args.push(option.into());
    }
    args
}

/// `ssh` to the sshd behind the client side listening on `port`, running
/// `remote_command`.
fn ssh(dir: &TempDir, sshd: &Sshd, port: u16, remote_command: &str) -> Finished {
    ssh_with_stdin(dir, sshd, port, remote_command, Stdio::null())
}

/// [`ssh`] with `stdin` sent to the remote command.
fn ssh_with_stdin(
    dir: &TempDir,
    sshd: &Sshd,
    port: u16,
    remote_command: &str,
    stdin: Stdio,
) -> Finished {
    let mut cmd = Command::new("ssh");
    cmd.arg("-p")
        .arg(port.to_string())
        .args(ssh_options(sshd))
        .arg(format!("{}@127.0.0.1", sshd.user))
        .arg(remote_command);
    run_with_stdin(dir, &format!("ssh {remote_command:?}"), cmd, stdin)
}

/// `scp -q` from `from` to `to` through the client side on `port`.
fn scp(dir: &TempDir, sshd: &Sshd, port: u16, from: &str, to: &str) -> Finished {
    let mut cmd = Command::new("scp");
    cmd.arg("-q")
        .arg("-P")
        .arg(port.to_string())
        .args(ssh_options(sshd))
        .arg(from)
        .arg(to);
    run(dir, &format!("scp {from} {to}"), cmd)
}

/// `user@127.0.0.1:path`, a remote path for scp.
fn remote(sshd: &Sshd, path: &Path) -> String {
    format!("{}@127.0.0.1:{}", sshd.user, path.display())
}

/// A tunnel over mutual TLS in front of a private sshd: the fixture, the
/// sshd and the client side's port.
fn ssh_tunnel(tag: &str) -> (Fixture, Sshd, u16) {
    let (mut fx, _pki) = Fixture::mutual_tls(tag);
    let sshd = Sshd::start(&fx.dir);
    fx.server("ssh-test", sshd.port, &[]);
    let (_, port) = fx.client("ssh-test", &[]);
    (fx, sshd, port)
}

fn file_sha256(path: &Path) -> String {
    let data = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    hex(&sha256(&data))
}

fn megabytes_per_second(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn ssh_command_through_the_tunnel_over_mutual_tls_prints_its_output_and_exits_0() {
    let (fx, sshd, port) = ssh_tunnel("ssh-echo");
    let out = ssh(&fx.dir, &sshd, port, "echo ok").expect_success("ssh 'echo ok'");
    assert_eq!(
        out.stdout, "ok\n",
        "ssh 'echo ok' printed {:?} (stderr: {:?})",
        out.stdout, out.stderr
    );
    eprintln!("ssh 'echo ok' through the tunnel: {:.2?}", out.elapsed);
    let log = sshd.proc.log();
    assert!(
        log.contains(&format!("Accepted publickey for {}", sshd.user)),
        "sshd did not log the login; its log:\n{log}"
    );
}

#[test]
fn scp_of_32_mib_up_and_back_down_through_the_tunnel_keeps_the_file_intact() {
    const SIZE: usize = 32 * MIB;
    let (fx, sshd, port) = ssh_tunnel("ssh-scp");
    let original = fx.dir.file("original.bin");
    let uploaded = fx.dir.file("uploaded.bin");
    let downloaded = fx.dir.file("downloaded.bin");
    fs::write(&original, random_bytes(SIZE, 32)).expect("write the test file");

    let up = scp(
        &fx.dir,
        &sshd,
        port,
        &original.display().to_string(),
        &remote(&sshd, &uploaded),
    )
    .expect_success("scp up");
    eprintln!(
        "scp of 32 MiB up through the tunnel: {:.2?}, {:.1} MB/s",
        up.elapsed,
        megabytes_per_second(SIZE, up.elapsed)
    );
    let down = scp(
        &fx.dir,
        &sshd,
        port,
        &remote(&sshd, &uploaded),
        &downloaded.display().to_string(),
    )
    .expect_success("scp down");
    eprintln!(
        "scp of 32 MiB down through the tunnel: {:.2?}, {:.1} MB/s",
        down.elapsed,
        megabytes_per_second(SIZE, down.elapsed)
    );

    let expected = file_sha256(&original);
    for (what, path) in [("uploaded", &uploaded), ("downloaded", &downloaded)] {
        let len = fs::metadata(path).map_or(0, |m| m.len());
        assert_eq!(
            len,
            SIZE as u64,
            "size of the {what} file {}",
            path.display()
        );
        assert_eq!(
            file_sha256(path),
            expected,
            "SHA-256 of the {what} file {} differs from the original's",
            path.display()
        );
    }
}

#[test]
fn four_concurrent_ssh_sessions_each_echo_1_mib_through_the_tunnel_intact() {
    // Each session sends its own random MiB to a remote `cat` and gets it
    // back, so every byte crosses the tunnel twice while the others run.
    const SESSIONS: usize = 4;
    let (fx, sshd, port) = ssh_tunnel("ssh-parallel");
    let inputs: Vec<PathBuf> = (0..SESSIONS)
        .map(|i| {
            let path = fx.dir.file(&format!("echo-in-{i}.bin"));
            std::fs::write(&path, random_bytes(MIB, 100 + i as u64)).expect("write input");
            path
        })
        .collect();
    let started = Instant::now();
    let results: Vec<Result<(), String>> = thread::scope(|scope| {
        let handles: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let (fx, sshd) = (&fx, &sshd);
                scope.spawn(move || {
                    let stdin = File::open(input).map_err(|e| e.to_string())?;
                    let out = ssh_with_stdin(&fx.dir, sshd, port, "cat", Stdio::from(stdin));
                    if !out.success {
                        return Err(format!(
                            "session {i}: ssh failed ({}) after {:.2?}; stderr:\n{}",
                            out.status, out.elapsed, out.stderr
                        ));
                    }
                    let (sent, got) = (file_sha256(input), file_sha256(&out.stdout_path));
                    if sent != got {
                        return Err(format!(
                            "session {i}: echoed data differs: sent sha256 {sent}, got {got} \
                             ({} bytes)",
                            std::fs::metadata(&out.stdout_path).map_or(0, |m| m.len())
                        ));
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "{SESSIONS} concurrent ssh sessions echoing 1 MiB each through the tunnel: {:.2?}",
        started.elapsed()
    );
}

#[test]
fn ssh_through_a_proxycommand_with_stdio_and_a_key_needs_no_local_port() {
    use std::os::unix::fs::PermissionsExt;
    let mut fx = Fixture::new("ssh-stdio");
    let sshd = Sshd::start(&fx.dir);
    let key = fx.dir.file("psk");
    fs::write(
        &key,
        "6b65792d666f722d7468652d70726f7879636f6d6d616e642d746573742d3031\n",
    )
    .unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let key = key.display().to_string();
    // The server-side id is the host name ssh is given, less ".mqtt": %h
    // and the shell, exactly as README's ~/.ssh/config example does.
    fx.server("stdio-pi", sshd.port, &["--psk-file", &key]);
    let proxy = format!(
        "ProxyCommand=sh -c 'exec {BIN} --stdio --mqtt-host 127.0.0.1 --mqtt-port {} \
         --psk-file {key} --server-side-id \"${{0%%.mqtt}}\"' %h",
        fx.broker.port
    );
    let data = random_bytes(MIB, 77);
    let input = fx.dir.file("input");
    fs::write(&input, &data).unwrap();
    let mut cmd = Command::new("ssh");
    cmd.args(ssh_options(&sshd))
        .arg("-o")
        .arg(&proxy)
        .arg(format!("{}@stdio-pi.mqtt", sshd.user))
        .arg("echo ok; sha256sum");
    let out = run_with_stdin(
        &fx.dir,
        "ssh -o ProxyCommand",
        cmd,
        Stdio::from(File::open(&input).unwrap()),
    )
    .expect_success("ssh through --stdio");
    let expected = format!("ok\n{}  -\n", hex(&sha256(&data)));
    assert_eq!(out.stdout, expected, "stderr: {:?}", out.stderr);
    assert!(
        out.stderr.is_empty(),
        "the ProxyCommand wrote to stderr: {:?}",
        out.stderr
    );
    eprintln!("ssh through --stdio with 1 MiB in: {:.2?}", out.elapsed);
}
