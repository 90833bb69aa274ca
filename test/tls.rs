//! TLS and authentication against a real mosquitto: server-only and mutual
//! TLS, every private key form, refusals (wrong CA, wrong host name, missing
//! client certificate, untrusted broker), user name and password, and the
//! start-up errors for bad files. Certificates come from test/gen-certs.sh.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;

/// How long a refused forwarder is watched for its error line.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes echoed to show that a tunnel works.
const ECHO_BYTES: usize = 1 << 20;

/// Echoes 1 MiB through the client side on `port` and checks it.
fn assert_tunnel_works(port: u16, what: &str) {
    let data = Arc::new(random_bytes(ECHO_BYTES, 7));
    let got = echo_through(port, data.clone(), Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_same_data(what, &got, &data);
}

/// Starts a forwarder that should be refused by the broker and waits for
/// the log line explaining why. The process keeps running (it retries).
fn assert_refused(
    fx: &mut Fixture,
    name: &str,
    args: Vec<String>,
    env: &[(&str, &str)],
    why: &str,
) {
    let id = fx.spawn_with_env(name, &args, env);
    let proc = fx.proc(id);
    if let Err(e) = proc.wait_for_log(why, REFUSAL_TIMEOUT) {
        panic!("{e}");
    }
    assert_eq!(
        proc.log_count("connected to broker"),
        0,
        "{name} must not connect:\n{}",
        proc.log()
    );
    assert!(
        proc.exited().is_none(),
        "{name} should keep retrying, not exit"
    );
    assert!(
        proc.log().contains("retrying in"),
        "{name} should say it retries:\n{}",
        proc.log()
    );
}

/// Client-mode flags for a client side of `fx` listening on a free port.
fn client_args(fx: &Fixture, extra: &[String]) -> Vec<String> {
    let mut args = fx.broker_args("tls");
    args.extend(["-p".to_owned(), free_port().to_string()]);
    args.extend(extra.iter().cloned());
    args
}

#[test]
fn server_only_tls_carries_a_tunnel() {
    let echo = Target::echo();
    let (mut fx, _pki) = Fixture::tls("tls-server-only", "broker", false);
    fx.server("tls", echo.port, &[]);
    let (_, port) = fx.client("tls", &[]);
    assert_tunnel_works(port, "echo over server-only TLS");
}

#[test]
fn mutual_tls_with_every_key_form_carries_a_tunnel() {
    // Server side: EC key in SEC1 form; client sides: RSA key in PKCS#1
    // form, and an EC key in PKCS#8 form over the broker's IP address.
    let echo = Target::echo();
    let (mut fx, pki) = Fixture::mutual_tls("tls-mutual");
    fx.server("tls", echo.port, &[]);
    let (_, port) = fx.client("tls", &[]);
    assert_tunnel_works(port, "echo over mutual TLS (PKCS#1 client key)");

    fx.mqtt_host = "127.0.0.1".to_owned();
    fx.client_args = pki.client_cert_args("client-pkcs8");
    let (_, port) = fx.client("tls", &["--mqtt-qos", "2"]);
    assert_tunnel_works(port, "echo over mutual TLS by IP (PKCS#8 client key)");
}

#[test]
fn mutual_tls_to_a_broker_on_an_ipv6_address_checks_the_ip_in_the_certificate() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: this machine has no IPv6 loopback");
        return;
    }
    let echo = Target::echo();
    let v6_port = free_port_v6();
    let mut pki = None;
    let mut fx = Fixture::with_broker("tls-ipv6", |dir| {
        let generated = Pki::generate(dir);
        let tls = generated.listener("broker", true);
        pki = Some(generated);
        // The first listener (127.0.0.1, for the server side) and a second
        // one on ::1, both with TLS (listener settings follow their line).
        format!("{tls}listener {v6_port} ::1\n{tls}")
    });
    let pki = pki.unwrap();
    fx.mqtt_host = "localhost".to_owned();
    fx.server_args = pki.client_cert_args("server-side");
    fx.server("tls6", echo.port, &[]);
    let mut args = vec![
        "--mqtt-host".to_owned(),
        "::1".to_owned(),
        "--mqtt-port".to_owned(),
        v6_port.to_string(),
        "--server-side-id".to_owned(),
        "tls6".to_owned(),
    ];
    let port = free_port();
    args.extend(["-p".to_owned(), port.to_string()]);
    args.extend(pki.client_cert_args("client-side"));
    let id = fx.spawn_with_env("client-v6", &args, &[]);
    if let Err(e) = fx.proc(id).wait_for_log(
        &format!("connected to broker mqtts://[::1]:{v6_port}"),
        READY_TIMEOUT,
    ) {
        panic!("{e}");
    }
    assert_tunnel_works(
        port,
        "echo with the client side on the broker's IPv6 address",
    );
}

/// A port nothing listens on at `[::1]` right now.
fn free_port_v6() -> u16 {
    let listener = std::net::TcpListener::bind("[::1]:0").expect("bind [::1]:0");
    listener.local_addr().expect("local_addr").port()
}

#[test]
fn the_tls_flag_is_implied_by_the_environment_variables() {
    let echo = Target::echo();
    let (mut fx, pki) = Fixture::mutual_tls("tls-env");
    fx.server("tls", echo.port, &[]);
    let mut args = fx.broker_args("tls");
    let port = free_port();
    args.extend(["-p".to_owned(), port.to_string()]);
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client-side.pem"),
        pki.path("client-side.key"),
    );
    let env = [
        ("MQTT_FORWARD_ROOT_CA", ca.as_str()),
        ("MQTT_FORWARD_CERTIFICATE", cert.as_str()),
        ("MQTT_FORWARD_PRIVATE_KEY", key.as_str()),
    ];
    let id = fx.spawn_with_env("client-env", &args, &env);
    if let Err(e) = fx
        .proc(id)
        .wait_for_log("connected to broker", READY_TIMEOUT)
    {
        panic!("{e}");
    }
    assert_tunnel_works(port, "echo with TLS files from the environment");
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    let (mut fx, pki) = Fixture::mutual_tls("tls-rogue");
    let args = client_args(&fx, &pki.client_cert_args("rogue"));
    assert_refused(
        &mut fx,
        "rogue",
        args,
        &[],
        "the broker refused our client certificate",
    );
}

#[test]
fn a_missing_client_certificate_is_refused_when_the_broker_requires_one() {
    let (mut fx, pki) = Fixture::mutual_tls("tls-no-cert");
    let args = client_args(&fx, &["--mqtt-root-ca".to_owned(), pki.path("ca.pem")]);
    assert_refused(
        &mut fx,
        "no-cert",
        args,
        &[],
        "the broker requires a client certificate",
    );
}

#[test]
fn a_broker_certificate_for_another_host_name_is_refused() {
    let (mut fx, _pki) = Fixture::tls("tls-wrong-name", "broker-wrong-name", false);
    let args = client_args(&fx, &fx.client_args);
    assert_refused(
        &mut fx,
        "wrong-name",
        args,
        &[],
        "not valid for the host name 'localhost'",
    );
}

#[test]
fn an_expired_broker_certificate_is_refused() {
    let (mut fx, _pki) = Fixture::tls("tls-expired", "broker-expired", false);
    let args = client_args(&fx, &fx.client_args);
    assert_refused(
        &mut fx,
        "expired",
        args,
        &[],
        "the broker's certificate has expired",
    );
}

#[test]
fn an_untrusted_broker_certificate_is_refused_with_a_given_ca_and_with_the_web_roots() {
    let (mut fx, pki) = Fixture::mutual_tls("tls-untrusted");
    let mut other_ca = pki.client_cert_args("client-side");
    other_ca[1] = pki.path("other-ca.pem");
    let args = client_args(&fx, &other_ca);
    assert_refused(&mut fx, "other-ca", args, &[], "not signed by a trusted CA");

    // --tls alone: the public web roots, which do not include the test CA.
    let args = client_args(&fx, &["--tls".to_owned()]);
    assert_refused(
        &mut fx,
        "web-roots",
        args,
        &[],
        "not signed by a trusted CA",
    );
}

/// A broker that needs user `alice` with password `wonderland` (plain TCP).
fn password_fixture(tag: &str) -> Fixture {
    Fixture::with_broker(tag, |dir| {
        let file = dir.file("passwords");
        let status = std::process::Command::new("mosquitto_passwd")
            .args(["-b", "-c"])
            .arg(&file)
            .args(["alice", "wonderland"])
            .status()
            .expect("run mosquitto_passwd (package mosquitto)");
        assert!(status.success(), "mosquitto_passwd failed");
        format!("allow_anonymous false\npassword_file {}\n", file.display())
    })
}

#[test]
fn a_correct_user_name_and_password_are_accepted() {
    let echo = Target::echo();
    let mut fx = password_fixture("auth-ok");
    // -d: not even the per-frame debug log may show the password.
    fx.server(
        "auth",
        echo.port,
        &[
            "-d",
            "--mqtt-username",
            "alice",
            "--mqtt-password",
            "wonderland",
        ],
    );
    let mut args = fx.broker_args("auth");
    let port = free_port();
    args.extend(["-p".to_owned(), port.to_string()]);
    let env = [
        ("MQTT_FORWARD_MQTT_USERNAME", "alice"),
        ("MQTT_FORWARD_MQTT_PASSWORD", "wonderland"),
    ];
    let id = fx.spawn_with_env("client-env", &args, &env);
    if let Err(e) = fx
        .proc(id)
        .wait_for_log("connected to broker", READY_TIMEOUT)
    {
        panic!("{e}");
    }
    assert_tunnel_works(port, "echo with user name and password");
    assert!(
        !fx.logs().contains("wonderland"),
        "the password must never be logged"
    );
}

#[test]
fn a_wrong_password_or_no_credentials_are_refused_without_logging_the_password() {
    let mut fx = password_fixture("auth-refused");
    let args = client_args(&fx, &["--mqtt-username".to_owned(), "alice".to_owned()]);
    assert_refused(
        &mut fx,
        "wrong-password",
        args,
        &[("MQTT_FORWARD_MQTT_PASSWORD", "looking-glass")],
        // mosquitto answers a wrong password with "not authorized".
        "not authorized (check --mqtt-username, --mqtt-password",
    );
    let args = client_args(&fx, &[]);
    assert_refused(
        &mut fx,
        "anonymous",
        args,
        &[],
        "the broker refused the connection: not authorized (check",
    );
    assert!(
        !fx.logs().contains("looking-glass"),
        "the password must never be logged"
    );
}

#[test]
fn bad_tls_files_are_start_up_errors_with_exit_code_2() {
    let dir = TempDir::new("tls-files");
    let pki = Pki::generate(&dir);
    let garbage = dir.file("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    // Owner-only, as a private key must be (else that is the error).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o600)).unwrap();
    let garbage = garbage.display().to_string();
    // A real key, readable by everyone: refused as ssh refuses such keys.
    let world_readable = dir.file("open.key");
    std::fs::copy(pki.path("client-side.key"), &world_readable).unwrap();
    std::fs::set_permissions(&world_readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let world_readable = world_readable.display().to_string();
    let base = [
        "--mqtt-host",
        "localhost",
        "--server-side-id",
        "x",
        "-p",
        "1",
    ];
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--mqtt-certificate".into(),
                pki.path("client-side.pem"),
                "--mqtt-private-key".into(),
                pki.path("server-side.key"),
            ],
            "the private key does not match the certificate",
        ),
        (
            vec!["--mqtt-root-ca".into(), garbage.clone()],
            "holds no PEM certificate",
        ),
        (
            vec![
                "--mqtt-certificate".into(),
                pki.path("client-side.pem"),
                "--mqtt-private-key".into(),
                world_readable.clone(),
            ],
            "are too open",
        ),
        (
            vec![
                "--mqtt-certificate".into(),
                pki.path("client-side.pem"),
                "--mqtt-private-key".into(),
                garbage.clone(),
            ],
            "holds no PEM private key",
        ),
        (
            vec![
                "--mqtt-root-ca".into(),
                dir.file("missing.pem").display().to_string(),
            ],
            "missing.pem",
        ),
    ];
    for (extra, expected) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.iter().map(String::as_str));
        let out = run_program(&dir, &args, &[], Duration::from_secs(10));
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        let line = out.stderr.trim_end();
        assert!(
            line.contains(expected),
            "{args:?}: expected {expected:?} in {line:?}"
        );
        assert_eq!(line.lines().count(), 1, "one line expected: {line:?}");
        assert!(line.starts_with("mqtt-forward: "), "{line:?}");
    }
}

#[test]
fn a_plain_client_on_a_tls_port_is_told_to_add_tls() {
    let (mut fx, _pki) = Fixture::tls("tls-plain-client", "broker", false);
    let args = client_args(&fx, &[]);
    assert_refused(
        &mut fx,
        "plain-on-tls",
        args,
        &[],
        "the port of a TLS listener? (add --tls)",
    );
}

/// Makes an X.509 v1 client certificate `name.crt` with key `name.key`
/// signed by the test CA, exactly as mosquitto-tls(7) does (`openssl x509
/// -req` without extensions).
fn v1_client_certificate(pki: &Pki, name: &str) -> (String, String) {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    let key = pki.path(&format!("{name}.key"));
    let csr = pki.path(&format!("{name}.csr"));
    let crt = pki.path(&format!("{name}.crt"));
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["genrsa", "-out", &key, "2048"]);
    run(&[
        "req",
        "-out",
        &csr,
        "-key",
        &key,
        "-new",
        "-subj",
        "/CN=v1-client",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &pki.path("ca.pem"),
        "-CAkey",
        &pki.path("ca.key"),
        "-CAcreateserial",
        "-out",
        &crt,
        "-days",
        "30",
    ]);
    let text = Command::new("openssl")
        .args(["x509", "-in", &crt, "-noout", "-text"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("Version: 1 (0x0)"),
        "not a v1 certificate"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (crt, key)
}

#[test]
fn an_x509_v1_client_certificate_made_as_mosquitto_documents_carries_a_tunnel() {
    let echo = Target::echo();
    let (mut fx, pki) = Fixture::mutual_tls("tls-v1");
    let (crt, key) = v1_client_certificate(&pki, "v1-client");
    fx.server("tls", echo.port, &[]);
    fx.client_args = vec![
        "--mqtt-root-ca".into(),
        pki.path("ca.pem"),
        "--mqtt-certificate".into(),
        crt.clone(),
        "--mqtt-private-key".into(),
        key,
    ];
    let (_, port) = fx.client("tls", &[]);
    assert_tunnel_works(port, "echo over mutual TLS with a v1 client certificate");
    // The same certificate with another key is still refused, in words.
    let out = run_program(
        &fx.dir,
        &[
            "--mqtt-host",
            "localhost",
            "--server-side-id",
            "x",
            "-p",
            "1",
            "--mqtt-certificate",
            &crt,
            "--mqtt-private-key",
            &pki.path("client-side.key"),
        ],
        &[],
        Duration::from_secs(10),
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("the private key does not match the certificate"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("Other("), "{out:?}");
}

#[test]
fn a_broker_port_where_ssh_or_http_answers_is_named_as_such() {
    use std::io::{Read, Write};
    let ssh = Target::spawn(|mut stream| {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf);
    });
    let http = Target::spawn(|mut stream| {
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let mut fx = Fixture::new("not-mqtt");
    for (name, port, words) in [
        ("ssh", ssh.port, "an SSH server answers on port"),
        ("http", http.port, "an HTTP server answers on port"),
    ] {
        let mut args = fx.broker_args_on(port, "x");
        args.extend(["-p".to_owned(), free_port().to_string()]);
        assert_refused(&mut fx, name, args, &[], words);
    }
}
