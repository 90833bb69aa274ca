//! Command-line handling of the real binary: usage errors exit with status 2
//! and one line on stderr, before any network activity.
//!
//! The broker address given is a loopback port that this test listens on
//! itself without ever accepting: a connection attempt by the program would
//! show up in its backlog, and the test fails.

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::Duration;

use common::*;

/// Longest a usage error may take (it must not wait for a network).
const TIMEOUT: Duration = Duration::from_secs(10);

/// A loopback listener standing in for the broker: it must see no
/// connection attempt.
struct Sentinel {
    listener: TcpListener,
    port: String,
}

impl Sentinel {
    fn new() -> Sentinel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind sentinel");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let port = listener.local_addr().unwrap().port().to_string();
        Sentinel { listener, port }
    }

    fn assert_untouched(&self, context: &str) {
        match self.listener.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Ok((_, peer)) => panic!("{context}: the program connected to the broker from {peer}"),
            Err(e) => panic!("{context}: sentinel accept failed: {e}"),
        }
    }
}

/// Runs the program with `args` (and `env`) and asserts a usage error:
/// exit status 2, nothing on stdout, exactly one line on stderr that starts
/// with `mqtt-forward: `, no connection to the broker. Returns that line.
fn usage_error(sentinel: &Sentinel, args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = TempDir::new("cli");
    let out = run_program(&dir, args, env, TIMEOUT);
    let context = format!("mqtt-forward {args:?} (env {env:?})");
    assert_eq!(out.code, Some(2), "{context}: {out:?}");
    assert_eq!(out.stdout, "", "{context}: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{context}: stderr is not one line: {out:?}");
    assert!(
        lines[0].starts_with("mqtt-forward: "),
        "{context}: stderr does not start with the program name: {out:?}"
    );
    assert!(
        out.stderr.ends_with('\n'),
        "{context}: unterminated line: {out:?}"
    );
    sentinel.assert_untouched(&context);
    lines[0].to_owned()
}

/// `--mqtt-host 127.0.0.1 --mqtt-port <sentinel>` followed by `rest`.
fn with_broker<'a>(sentinel: &'a Sentinel, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--mqtt-host", "127.0.0.1", "--mqtt-port", &sentinel.port];
    args.extend_from_slice(rest);
    args
}

/// Each of `bad` given to `flag` (with a broker and a server side id) is a
/// usage error that quotes the flag and the value.
fn assert_bad_values_rejected(flag: &str, bad: &[&str]) {
    let s = Sentinel::new();
    for value in bad {
        let line = usage_error(
            &s,
            &with_broker(&s, &["--server-side-id", "abc", flag, value]),
            &[],
        );
        assert_mentions(&line, &[flag, &format!("'{value}'")]);
    }
}

fn assert_mentions(line: &str, words: &[&str]) {
    for word in words {
        assert!(line.contains(word), "{word:?} missing from: {line}");
    }
}

#[test]
fn missing_mqtt_host_is_a_usage_error() {
    let s = Sentinel::new();
    let line = usage_error(&s, &["--server-side-id", "abc", "-p", "2222"], &[]);
    assert_mentions(&line, &["--mqtt-host"]);
    let line = usage_error(&s, &["-s", "--server-side-id", "abc"], &[]);
    assert_mentions(&line, &["--mqtt-host"]);
}

#[test]
fn missing_server_side_id_is_a_usage_error_in_client_and_server_mode() {
    let s = Sentinel::new();
    let line = usage_error(&s, &with_broker(&s, &["-p", "2222"]), &[]);
    assert_mentions(&line, &["--server-side-id"]);
    let line = usage_error(&s, &with_broker(&s, &["-s", "-p", "22"]), &[]);
    assert_mentions(&line, &["--server-side-id"]);
}

#[test]
fn bad_listen_or_target_ports_are_usage_errors() {
    let s = Sentinel::new();
    for bad in ["0", "70000", "abc", "-1", ""] {
        for mode in [&[][..], &["-s"][..]] {
            let mut rest = mode.to_vec();
            rest.extend(["--server-side-id", "abc", "-p", bad]);
            let line = usage_error(&s, &with_broker(&s, &rest), &[]);
            assert_mentions(&line, &["port", &format!("'{bad}'")]);
        }
    }
}

#[test]
fn bad_mqtt_ports_are_usage_errors() {
    let s = Sentinel::new();
    for bad in ["0", "70000", "abc"] {
        let line = usage_error(
            &s,
            &[
                "--mqtt-host",
                "127.0.0.1",
                "--mqtt-port",
                bad,
                "--server-side-id",
                "abc",
            ],
            &[],
        );
        assert_mentions(&line, &["--mqtt-port", &format!("'{bad}'")]);
    }
}

#[test]
fn a_bad_broker_host_list_is_a_usage_error_naming_the_entry() {
    let s = Sentinel::new();
    let sentinel_node = format!("127.0.0.1:{}", s.port);
    for (bad, entry) in [
        (format!("{sentinel_node},,b"), "''"),
        (format!("{sentinel_node},b:x"), "'b:x'"),
        (format!("{sentinel_node},[::1"), "[::1"),
        (format!("{sentinel_node},{sentinel_node}"), "listed twice"),
        (format!("{sentinel_node},b:70000"), "'b:70000'"),
    ] {
        let args = ["--mqtt-host", bad.as_str(), "--server-side-id", "abc"];
        let line = usage_error(&s, &args, &[]);
        assert_mentions(&line, &["--mqtt-host", &format!("'{bad}'"), entry]);
        let env = [("MQTT_FORWARD_MQTT_HOST", bad.as_str())];
        let line = usage_error(&s, &["--server-side-id", "abc"], &env);
        assert_mentions(&line, &["MQTT_FORWARD_MQTT_HOST", entry]);
    }
    let many: Vec<String> = (0..17).map(|i| format!("node{i}")).collect();
    let line = usage_error(&s, &["--mqtt-host", &many.join(","), "-s"], &[]);
    assert_mentions(&line, &["--mqtt-host", "16"]);
}

#[test]
fn bad_remote_port_is_a_usage_error() {
    assert_bad_values_rejected("--remote-port", &["0", "70000", "abc"]);
}

#[test]
fn qos_3_is_a_usage_error() {
    assert_bad_values_rejected("--mqtt-qos", &["3", "-1", "one"]);
}

#[test]
fn remote_ip_that_is_not_an_ipv4_address_is_a_usage_error() {
    assert_bad_values_rejected(
        "--remote-ip",
        &["not-an-ip", "256.1.1.1", "::1", "example.com"],
    );
}

#[test]
fn server_side_id_with_topic_special_characters_is_a_usage_error() {
    let s = Sentinel::new();
    for bad in ["a/b", "a+b", "a#b", "+", "#", "/"] {
        for mode in [&[][..], &["-s"][..]] {
            let mut rest = mode.to_vec();
            rest.extend(["--server-side-id", bad]);
            let line = usage_error(&s, &with_broker(&s, &rest), &[]);
            assert_mentions(&line, &["--server-side-id", &format!("'{bad}'")]);
        }
    }
}

#[test]
fn topic_prefix_with_topic_special_characters_is_a_usage_error() {
    assert_bad_values_rejected("--mqtt-topic-prefix", &["a/b", "/", "a+", "#"]);
}

/// A root CA file that holds no certificate: the TLS set-up refuses it at
/// start-up (exit 2), after every other check and before any connection.
struct BadCaFile {
    _dir: TempDir,
    path: String,
}

impl BadCaFile {
    fn new() -> BadCaFile {
        let dir = TempDir::new("cli-bad-ca");
        let path = dir.file("not-a-ca.pem");
        std::fs::write(&path, "no certificate here\n").expect("write the bad CA file");
        BadCaFile {
            path: path.display().to_string(),
            _dir: dir,
        }
    }
}

#[test]
fn a_bad_tls_file_is_a_usage_error_without_connecting_in_every_mode() {
    let s = Sentinel::new();
    let ca = BadCaFile::new();
    for tls in [&["--tls"][..], &["-t"], &["-s", "--tls"], &["-st"], &[]] {
        let mut rest = tls.to_vec();
        rest.extend(["--server-side-id", "abc", "--mqtt-root-ca", &ca.path]);
        let line = usage_error(&s, &with_broker(&s, &rest), &[]);
        assert_mentions(&line, &["holds no PEM certificate", &ca.path]);
    }
    // Also in list mode, where no server side id is needed.
    let line = usage_error(
        &s,
        &with_broker(&s, &["-l", "--tls", "--mqtt-root-ca", &ca.path]),
        &[],
    );
    assert_mentions(&line, &["holds no PEM certificate"]);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let s = Sentinel::new();
    let line = usage_error(
        &s,
        &with_broker(&s, &["--server-side-id", "abc", "--no-such-flag"]),
        &[],
    );
    assert_mentions(&line, &["--no-such-flag"]);
    let line = usage_error(&s, &["--no-such-flag"], &[]);
    assert_mentions(&line, &["--no-such-flag"]);
}

#[test]
fn server_and_list_modes_together_are_a_usage_error() {
    let s = Sentinel::new();
    usage_error(
        &s,
        &with_broker(&s, &["-s", "-l", "--server-side-id", "abc"]),
        &[],
    );
}

#[test]
fn help_exits_0_and_describes_the_flags() {
    let dir = TempDir::new("cli-help");
    for flag in ["--help", "-h"] {
        let out = run_program(&dir, &[flag], &[], TIMEOUT);
        assert_eq!(out.code, Some(0), "{flag}: {out:?}");
        for needle in [
            "--mqtt-host",
            "--server-side-id",
            "--mqtt-qos",
            "--remote-port",
        ] {
            assert!(
                out.stdout.contains(needle),
                "{flag}: {needle} missing: {out:?}"
            );
        }
    }
}

#[test]
fn version_exits_0_and_names_the_program() {
    let dir = TempDir::new("cli-version");
    let out = run_program(&dir, &["--version"], &[], TIMEOUT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("mqtt-forward"), "{out:?}");
    assert!(out.stdout.contains(env!("CARGO_PKG_VERSION")), "{out:?}");
    // -V too, naming the target (and the commit when built from git).
    let short = run_program(&dir, &["-V"], &[], TIMEOUT);
    assert_eq!(short.code, Some(0), "{short:?}");
    assert_eq!(short.stdout, out.stdout);
    let target = format!("{}-{}-", std::env::consts::ARCH, "unknown");
    assert!(out.stdout.contains(&target), "{out:?}");
}

#[test]
fn mqtt_host_environment_variable_is_honoured() {
    let s = Sentinel::new();
    let env = [("MQTT_FORWARD_MQTT_HOST", "127.0.0.1")];
    // Only the port is wrong: the error is about it, not about the host.
    let line = usage_error(
        &s,
        &[
            "--mqtt-port",
            &s.port,
            "--server-side-id",
            "abc",
            "-p",
            "70000",
        ],
        &env,
    );
    assert_mentions(&line, &["port", "'70000'"]);
    assert!(!line.contains("mqtt-host"), "{line}");
    // The host is checked before the server side id: with the host taken
    // from the environment, the missing id is what is reported.
    let line = usage_error(&s, &["--mqtt-port", &s.port, "-p", "2222"], &env);
    assert_mentions(&line, &["--server-side-id"]);
    assert!(!line.contains("mqtt-host"), "{line}");
    // And it is enough to get as far as the TLS set-up.
    let ca = BadCaFile::new();
    let line = usage_error(
        &s,
        &[
            "--mqtt-port",
            &s.port,
            "--server-side-id",
            "abc",
            "--mqtt-root-ca",
            &ca.path,
        ],
        &env,
    );
    assert_mentions(&line, &["holds no PEM certificate"]);
    // An empty value counts as unset.
    let line = usage_error(
        &s,
        &["--mqtt-port", &s.port, "--server-side-id", "abc"],
        &[("MQTT_FORWARD_MQTT_HOST", "")],
    );
    assert_mentions(&line, &["--mqtt-host"]);
}

#[test]
fn server_side_id_environment_variable_is_honoured_and_checked() {
    let s = Sentinel::new();
    let ca = BadCaFile::new();
    let line = usage_error(
        &s,
        &with_broker(&s, &["--mqtt-root-ca", &ca.path]),
        &[("MQTT_FORWARD_SERVER_ID", "abc")],
    );
    assert_mentions(&line, &["holds no PEM certificate"]);
    let line = usage_error(
        &s,
        &with_broker(&s, &[]),
        &[("MQTT_FORWARD_SERVER_ID", "a/b")],
    );
    assert_mentions(&line, &["MQTT_FORWARD_SERVER_ID", "'a/b'"]);
}

/// Runs the program with raw (possibly non-UTF-8) arguments and one raw
/// environment variable; returns (exit code, stderr).
fn run_raw(
    args: &[std::ffi::OsString],
    env: Option<(&str, std::ffi::OsString)>,
) -> (Option<i32>, String) {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args).stdin(std::process::Stdio::null());
    for var in PROGRAM_ENV_VARS {
        cmd.env_remove(var);
    }
    if let Some((name, value)) = env {
        cmd.env(name, value);
    }
    let out = cmd.output().expect("run the program");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn non_utf8_arguments_and_variables_are_usage_errors_that_do_not_echo_them() {
    use std::os::unix::ffi::OsStringExt;
    let s = Sentinel::new();
    let secret = || std::ffi::OsString::from_vec(b"S3CRET\xff".to_vec());
    let mut args: Vec<std::ffi::OsString> = with_broker(&s, &["--server-side-id", "abc"])
        .iter()
        .map(Into::into)
        .collect();
    args.extend([
        "--mqtt-username".into(),
        "alice".into(),
        "--mqtt-password".into(),
    ]);
    args.push(secret());
    let (code, stderr) = run_raw(&args, None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("argument #"), "{stderr}");
    assert!(!stderr.contains("S3CRET"), "{stderr}");

    args.truncate(args.len() - 2);
    let (code, stderr) = run_raw(&args, Some(("MQTT_FORWARD_MQTT_PASSWORD", secret())));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("MQTT_FORWARD_MQTT_PASSWORD is not valid UTF-8"),
        "{stderr}"
    );
    assert!(!stderr.contains("S3CRET"), "{stderr}");
    s.assert_untouched("non-UTF-8 input");
}

#[test]
fn an_unparsable_address_exits_2_before_any_network_activity() {
    let dir = TempDir::new("cli-address");
    let sentinel = Sentinel::new();
    for (mode, addr) in [
        ("-s", "1.2.3.999"),
        ("-p", "1.2.3.999"),
        ("-s", "bad..name"),
    ] {
        let mut args = vec!["--mqtt-host", "127.0.0.1", "--mqtt-port", &sentinel.port];
        args.extend(["--server-side-id", "x", "-a", addr]);
        if mode == "-s" {
            args.push("-s");
        } else {
            args.extend(["-p", "5555"]);
        }
        let out = run_program(&dir, &args, &[], TIMEOUT);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("invalid -a/--addr"), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        sentinel.assert_untouched(addr);
    }
}

#[test]
fn a_privileged_listen_port_without_root_says_to_pick_another() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    // As an unprivileged user: nobody, when the tests run as root.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let dir = TempDir::new("cli-port-22");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.file("mqtt-forward");
    std::fs::copy(BIN, &bin).unwrap();
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let broker = Sentinel::new();
    let out = cmd
        .args([
            "-p",
            "22",
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            &broker.port,
        ])
        .args(["--server-side-id", "x"])
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on 127.0.0.1:22"), "{stderr}");
    assert!(stderr.contains("-p 2222"), "{stderr}");
}

#[test]
fn a_listen_name_that_does_not_resolve_exits_1_with_the_reason() {
    let dir = TempDir::new("cli-unresolved");
    let broker = Sentinel::new();
    let out = run_program(
        &dir,
        &[
            "-a",
            "no-such-host.invalid",
            "-p",
            "5555",
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            &broker.port,
            "--server-side-id",
            "x",
        ],
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("mqtt-forward: cannot listen on no-such-host.invalid:5555: "),
        "{out:?}"
    );
}
