//! Tests of the command-line and environment parsing.
use super::*;
use std::collections::HashMap;
use std::path::Path;

const ID: &str = "office";
const HOST: &str = "broker.example";

/// An environment made of `pairs`.
fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn run_with(args: &[&str], env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<String>) {
    match parse("mqtt-forward", args, env) {
        Ok(Parsed::Run(config, warnings)) => (config, warnings),
        other => panic!("expected Run for {args:?}, got {other:?}"),
    }
}

fn run(args: &[&str]) -> (Config, Vec<String>) {
    run_with(args, &no_env)
}

fn error_with(args: &[&str], env: &dyn Fn(&str) -> Option<String>) -> String {
    match parse("mqtt-forward", args, env) {
        Err(err) => {
            assert_eq!(err.exit_code(), 2);
            let text = err.to_string();
            assert!(!text.contains('\n'), "multi-line error: {text:?}");
            assert!(!text.is_empty());
            text
        }
        other => panic!("expected an error for {args:?}, got {other:?}"),
    }
}

fn error(args: &[&str]) -> String {
    error_with(args, &no_env)
}

/// Server-mode args with the mandatory settings plus `extra`.
fn server<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-s", "--mqtt-host", HOST, "--server-side-id", ID];
    args.extend_from_slice(extra);
    args
}

/// Client-mode args with the mandatory settings plus `extra`.
fn client<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--mqtt-host", HOST, "--server-side-id", ID];
    args.extend_from_slice(extra);
    args
}

/// List-mode args with the mandatory settings plus `extra`.
fn list<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-l", "--mqtt-host", HOST];
    args.extend_from_slice(extra);
    args
}

fn is_random_client_id(id: &str) -> bool {
    id.strip_prefix("mqtt-forward-").is_some_and(|hex| {
        hex.len() == 12 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    })
}

/// A scratch directory with a readable PEM-named file inside.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "mqtt-forward-cli-test-{}-{tag}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self { dir }
    }

    /// A scratch file readable by its owner only (as a private key must be).
    fn file(&self, name: &str) -> String {
        self.file_with_mode(name, 0o600)
    }

    fn file_with_mode(&self, name: &str, mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.join(name);
        std::fs::write(&path, "-----BEGIN TEST-----\n").expect("write scratch file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("chmod scratch file");
        path.to_str().expect("utf-8 temp path").to_owned()
    }

    fn dir(&self) -> String {
        self.dir.to_str().expect("utf-8 temp path").to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn default_tuning() -> Tuning {
    Tuning {
        window_frames: DEFAULT_WINDOW,
        frame_data: DEFAULT_FRAME_DATA,
        probe_frame_size: true,
        peer_timeout: DEFAULT_PEER_TIMEOUT,
        max_sessions: DEFAULT_MAX_SESSIONS,
        max_buffer_memory: DEFAULT_MAX_BUFFER_MIB * 1024 * 1024,
    }
}

// --- defaults -------------------------------------------------------

#[test]
fn server_mode_defaults_target_localhost_port_22_and_uses_the_server_id_as_client_id() {
    let (config, warnings) = run(&server(&[]));
    assert_eq!(
        config,
        Config {
            mode: Mode::Server {
                target_host: "127.0.0.1".to_owned(),
                target_port: 22,
                beacon: false,
                allow_remote: AllowList::default(),
            },
            log_level: log::LevelFilter::Info,
            timestamps: true,
            broker: BrokerConfig {
                host: HOST.to_owned(),
                port: 1883,
                client_id: ID.to_owned(),
                qos: 1,
                tls: None,
                username: None,
                password: None,
            },
            topic_prefix: "ssh".to_owned(),
            server_side_id: ID.to_owned(),
            tuning: default_tuning(),
            psk: None,
        }
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn client_mode_defaults_listen_on_localhost_port_22_with_a_random_client_id() {
    let (config, warnings) = run(&client(&[]));
    assert_eq!(
        config.mode,
        Mode::Client {
            listen_host: "127.0.0.1".to_owned(),
            listen_port: 22,
            remote_ip: None,
            remote_port: None,
            stdio: false,
        }
    );
    assert!(is_random_client_id(&config.broker.client_id));
    assert_eq!(config.broker.port, 1883);
    assert_eq!(config.broker.qos, 1);
    assert_eq!(config.broker.tls, None);
    assert_eq!(config.topic_prefix, "ssh");
    assert_eq!(config.server_side_id, ID);
    assert_eq!(config.tuning, default_tuning());
    assert_eq!(config.log_level, log::LevelFilter::Info);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[cfg(feature = "list")]
#[test]
fn list_mode_needs_no_server_side_id_and_leaves_it_empty() {
    let (config, warnings) = run(&list(&[]));
    assert_eq!(
        config.mode,
        Mode::ListServers {
            watch: false,
            json: false
        }
    );
    assert_eq!(config.server_side_id, "");
    assert!(is_random_client_id(&config.broker.client_id));
    assert_eq!(config.broker.port, 1883);
    assert_eq!(config.tuning, default_tuning());
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[cfg(feature = "list")]
#[test]
fn list_mode_keeps_a_given_server_side_id_and_watch() {
    let (config, warnings) = run(&list(&["--server-side-id", ID, "--watch"]));
    assert_eq!(
        config.mode,
        Mode::ListServers {
            watch: true,
            json: false
        }
    );
    assert_eq!(config.server_side_id, ID);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn random_client_id_is_mqtt_forward_dash_12_lowercase_hex_and_varies() {
    let first = random_client_id().expect("random id");
    let second = random_client_id().expect("random id");
    assert!(is_random_client_id(&first), "{first}");
    assert!(is_random_client_id(&second), "{second}");
    assert_ne!(first, second);
}

// --- flags ----------------------------------------------------------

#[test]
fn server_mode_takes_port_addr_and_beacon_from_short_flags() {
    let (config, warnings) = run(&server(&["-p", "2222", "-a", "10.0.0.5", "-b", "-d"]));
    assert_eq!(
        config.mode,
        Mode::Server {
            target_host: "10.0.0.5".to_owned(),
            target_port: 2222,
            beacon: true,
            allow_remote: AllowList::default(),
        }
    );
    assert_eq!(config.log_level, log::LevelFilter::Debug);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn long_flags_set_every_client_mode_setting() {
    let (config, warnings) = run(&[
        "--debug",
        "--port",
        "8022",
        "--addr",
        "::1",
        "--remote-port",
        "2200",
        "--remote-ip",
        "192.168.1.20",
        "--client-id",
        "laptop",
        "--server-side-id",
        ID,
        "--mqtt-host",
        HOST,
        "--mqtt-port",
        "1884",
        "--mqtt-qos",
        "2",
        "--mqtt-topic-prefix",
        "tunnels",
        "--window",
        "128",
        "--frame-size",
        "4096",
        "--peer-timeout",
        "60",
    ]);
    assert_eq!(
        config,
        Config {
            mode: Mode::Client {
                listen_host: "::1".to_owned(),
                listen_port: 8022,
                remote_ip: Some(Ipv4Addr::new(192, 168, 1, 20)),
                remote_port: Some(2200),
                stdio: false,
            },
            log_level: log::LevelFilter::Debug,
            timestamps: true,
            broker: BrokerConfig {
                host: HOST.to_owned(),
                port: 1884,
                client_id: "laptop".to_owned(),
                qos: 2,
                tls: None,
                username: None,
                password: None,
            },
            topic_prefix: "tunnels".to_owned(),
            server_side_id: ID.to_owned(),
            tuning: Tuning {
                window_frames: 128,
                frame_data: 4096,
                probe_frame_size: false,
                peer_timeout: Duration::from_secs(60),
                max_sessions: DEFAULT_MAX_SESSIONS,
                max_buffer_memory: DEFAULT_MAX_BUFFER_MIB * 1024 * 1024,
            },
            psk: None,
        }
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn qos_zero_is_accepted() {
    let (config, _) = run(&client(&["--mqtt-qos", "0"]));
    assert_eq!(config.broker.qos, 0);
}

#[test]
fn tuning_limits_are_inclusive() {
    let min_window = MIN_WINDOW.to_string();
    let min_frame = MIN_FRAME_DATA.to_string();
    let (config, _) = run(&client(&[
        "--window",
        &min_window,
        "--frame-size",
        &min_frame,
        "--peer-timeout",
        "1",
    ]));
    assert_eq!(
        config.tuning,
        Tuning {
            window_frames: MIN_WINDOW,
            frame_data: MIN_FRAME_DATA,
            probe_frame_size: false,
            peer_timeout: Duration::from_secs(1),
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_buffer_memory: DEFAULT_MAX_BUFFER_MIB * 1024 * 1024,
        }
    );
    let max_window = MAX_WINDOW.to_string();
    let max_frame = MAX_FRAME_DATA.to_string();
    let (config, _) = run(&client(&[
        "--window",
        &max_window,
        "--frame-size",
        &max_frame,
        "--peer-timeout",
        "86400",
    ]));
    assert_eq!(
        config.tuning,
        Tuning {
            window_frames: MAX_WINDOW,
            frame_data: MAX_FRAME_DATA,
            probe_frame_size: false,
            peer_timeout: Duration::from_secs(86_400),
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_buffer_memory: DEFAULT_MAX_BUFFER_MIB * 1024 * 1024,
        }
    );
}

#[test]
fn port_limits_1_and_65535_are_accepted() {
    let (config, _) = run(&client(&["-p", "1", "--mqtt-port", "65535"]));
    assert_eq!(config.broker.port, 65535);
    assert!(matches!(config.mode, Mode::Client { listen_port: 1, .. }));
}

#[test]
fn addr_accepts_host_names_without_resolving_them() {
    let (config, _) = run(&server(&["-a", "db.internal.invalid"]));
    assert!(matches!(
        config.mode,
        Mode::Server { ref target_host, .. } if target_host == "db.internal.invalid"
    ));
}

#[test]
fn bracketed_ipv6_addr_is_unbracketed() {
    let (config, _) = run(&client(&["-a", "[::1]"]));
    assert!(matches!(
        config.mode,
        Mode::Client { ref listen_host, .. } if listen_host == "::1"
    ));
}

// --- getopt spellings -------------------------------------------------

#[test]
fn getopt_equals_form_and_attached_short_values_are_accepted() {
    let (config, _) = run(&[
        "-s",
        "--mqtt-host=broker.example",
        "--server-side-id=office",
        "-p2222",
        "-a10.1.2.3",
        "--mqtt-port=1999",
    ]);
    assert_eq!(config.broker.host, HOST);
    assert_eq!(config.broker.port, 1999);
    assert_eq!(config.server_side_id, ID);
    assert_eq!(
        config.mode,
        Mode::Server {
            target_host: "10.1.2.3".to_owned(),
            target_port: 2222,
            beacon: false,
            allow_remote: AllowList::default(),
        }
    );
}

#[test]
fn getopt_bundled_short_switches_are_accepted() {
    let (config, _) = run(&["-dsbp", "2222", "--mqtt-host", HOST, "--server-side-id", ID]);
    assert_eq!(config.log_level, log::LevelFilter::Debug);
    assert_eq!(
        config.mode,
        Mode::Server {
            target_host: "127.0.0.1".to_owned(),
            target_port: 2222,
            beacon: true,
            allow_remote: AllowList::default(),
        }
    );
}

#[test]
fn every_valued_long_option_accepts_the_equals_form() {
    // Keeps LONG_VALUED in step with the fields of Args: argh would
    // reject an unknown name, and a missing entry would leave
    // "--name=value" unsplit (an unrecognised argument).
    for name in LONG_VALUED {
        let joined = format!("{name}=x");
        let normalized = normalize_args(&[&joined]);
        assert_eq!(normalized.args, vec![(*name).to_owned(), "x".to_owned()]);
        let argv: Vec<&str> = normalized.args.iter().map(String::as_str).collect();
        if let Err(early) = Args::from_args(&["mqtt-forward"], &argv) {
            panic!("argh rejected {name}: {}", early.output);
        }
    }
}

#[test]
fn option_values_that_look_like_flags_are_taken_verbatim() {
    let (config, _) = run(&client(&["--client-id", "-dh"]));
    assert_eq!(config.broker.client_id, "-dh");
    let (config, _) = run(&client(&["--client-id", "--help"]));
    assert_eq!(config.broker.client_id, "--help");
}

#[test]
fn an_empty_equals_value_is_validated_not_ignored() {
    let message = error(&client(&["--mqtt-port="]));
    assert_eq!(
        message,
        "invalid --mqtt-port '': must be an integer in 1..65535"
    );
}

// --- environment ----------------------------------------------------

#[test]
fn environment_variables_supply_missing_settings() {
    let env = env_of(&[
        (ENV_MQTT_HOST, "env-broker"),
        (ENV_SERVER_ID, "env-id"),
        (ENV_TOPIC_PREFIX, "env-prefix"),
        (ENV_REMOTE_IP, "10.9.8.7"),
        (ENV_REMOTE_PORT, "3389"),
    ]);
    let (config, warnings) = run_with(&[], &env);
    assert_eq!(config.broker.host, "env-broker");
    assert_eq!(config.server_side_id, "env-id");
    assert_eq!(config.topic_prefix, "env-prefix");
    assert_eq!(
        config.mode,
        Mode::Client {
            listen_host: "127.0.0.1".to_owned(),
            listen_port: 22,
            remote_ip: Some(Ipv4Addr::new(10, 9, 8, 7)),
            remote_port: Some(3389),
            stdio: false,
        }
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn flags_override_environment_variables() {
    let env = env_of(&[
        (ENV_MQTT_HOST, "env-broker"),
        (ENV_SERVER_ID, "env-id"),
        (ENV_TOPIC_PREFIX, "env-prefix"),
        (ENV_REMOTE_IP, "not an address"),
        (ENV_REMOTE_PORT, "not a port"),
    ]);
    let (config, _) = run_with(
        &[
            "--mqtt-host",
            "flag-broker",
            "--server-side-id",
            "flag-id",
            "--mqtt-topic-prefix",
            "flag-prefix",
            "--remote-ip",
            "10.0.0.1",
            "--remote-port",
            "80",
        ],
        &env,
    );
    assert_eq!(config.broker.host, "flag-broker");
    assert_eq!(config.server_side_id, "flag-id");
    assert_eq!(config.topic_prefix, "flag-prefix");
    assert_eq!(
        config.mode,
        Mode::Client {
            listen_host: "127.0.0.1".to_owned(),
            listen_port: 22,
            remote_ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
            remote_port: Some(80),
            stdio: false,
        }
    );
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let env = env_of(&[
        (ENV_MQTT_HOST, HOST),
        (ENV_SERVER_ID, ID),
        (ENV_TOPIC_PREFIX, ""),
        (ENV_REMOTE_IP, ""),
        (ENV_REMOTE_PORT, ""),
        (ENV_ROOT_CA, ""),
        (ENV_CERTIFICATE, ""),
        (ENV_PRIVATE_KEY, ""),
    ]);
    let (config, _) = run_with(&[], &env);
    assert_eq!(config.topic_prefix, "ssh");
    assert_eq!(config.broker.tls, None);
    assert_eq!(config.broker.port, 1883);
    assert!(matches!(
        config.mode,
        Mode::Client {
            remote_ip: None,
            remote_port: None,
            ..
        }
    ));
    let empty_host = env_of(&[(ENV_MQTT_HOST, ""), (ENV_SERVER_ID, ID)]);
    assert!(error_with(&[], &empty_host).contains("missing --mqtt-host"));
}

#[test]
fn certificate_environment_variables_imply_tls_and_port_8883() {
    let scratch = Scratch::new("env-tls");
    let ca = scratch.file("ca.pem");
    let cert = scratch.file("cert.pem");
    let key = scratch.file("key.pem");
    let env = env_of(&[
        (ENV_ROOT_CA, &ca),
        (ENV_CERTIFICATE, &cert),
        (ENV_PRIVATE_KEY, &key),
    ]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.port, 8883);
    assert_eq!(
        config.broker.tls,
        Some(TlsFiles {
            root_ca: Some(PathBuf::from(&ca)),
            certificate: Some(PathBuf::from(&cert)),
            private_key: Some(PathBuf::from(&key)),
        })
    );
}

#[test]
fn root_ca_alone_implies_tls_and_port_8883() {
    let scratch = Scratch::new("ca-only");
    let ca = scratch.file("ca.pem");
    let env = env_of(&[(ENV_ROOT_CA, &ca)]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.port, 8883);
    assert_eq!(
        config.broker.tls,
        Some(TlsFiles {
            root_ca: Some(PathBuf::from(&ca)),
            certificate: None,
            private_key: None,
        })
    );
}

#[test]
fn tls_flag_alone_uses_public_roots_and_port_8883() {
    let (config, _) = run(&client(&["-t"]));
    assert_eq!(config.broker.port, 8883);
    assert_eq!(
        config.broker.tls,
        Some(TlsFiles {
            root_ca: None,
            certificate: None,
            private_key: None,
        })
    );
}

#[test]
fn certificate_flags_imply_tls_and_an_explicit_mqtt_port_wins() {
    let scratch = Scratch::new("flag-tls");
    let cert = scratch.file("cert.pem");
    let key = scratch.file("key.pem");
    let (config, _) = run(&client(&[
        "--mqtt-certificate",
        &cert,
        "--mqtt-private-key",
        &key,
        "--mqtt-port",
        "443",
    ]));
    assert_eq!(config.broker.port, 443);
    assert_eq!(
        config.broker.tls,
        Some(TlsFiles {
            root_ca: None,
            certificate: Some(PathBuf::from(&cert)),
            private_key: Some(PathBuf::from(&key)),
        })
    );
}

#[test]
fn certificate_flags_override_certificate_environment_variables() {
    let scratch = Scratch::new("flag-over-env");
    let cert = scratch.file("cert.pem");
    let key = scratch.file("key.pem");
    let env = env_of(&[
        (ENV_CERTIFICATE, "/nonexistent/env-cert.pem"),
        (ENV_PRIVATE_KEY, "/nonexistent/env-key.pem"),
    ]);
    let (config, _) = run_with(
        &client(&["--mqtt-certificate", &cert, "--mqtt-private-key", &key]),
        &env,
    );
    let tls = config.broker.tls.expect("tls");
    assert_eq!(tls.certificate.as_deref(), Some(Path::new(&cert)));
    assert_eq!(tls.private_key.as_deref(), Some(Path::new(&key)));
}

// --- validation errors ----------------------------------------------

#[test]
fn missing_mqtt_host_is_an_error_naming_the_env_var() {
    let message = error(&["-s", "--server-side-id", ID]);
    assert_eq!(
        message,
        "missing --mqtt-host (or set MQTT_FORWARD_MQTT_HOST)"
    );
    assert!(error(&["-l"]).contains(ENV_MQTT_HOST));
}

#[test]
fn missing_server_side_id_is_an_error_in_server_and_client_mode_naming_the_env_var() {
    let expected = "missing --server-side-id (or set MQTT_FORWARD_SERVER_ID)";
    assert_eq!(error(&["-s", "--mqtt-host", HOST]), expected);
    assert_eq!(error(&["--mqtt-host", HOST]), expected);
}

#[cfg(not(feature = "list"))]
#[test]
fn list_mode_is_a_usage_error_in_a_build_without_it() {
    let e = parse("mqtt-forward", &list(&[]), &no_env).unwrap_err();
    assert_eq!(e.exit_code(), EXIT_USAGE);
    assert!(e.to_string().contains("no -l/--list-servers"), "{e}");
}

#[test]
fn server_and_list_modes_together_are_an_error() {
    let message = error(&server(&["-l"]));
    assert_eq!(
        message,
        "-s/--server and -l/--list-servers cannot be used together"
    );
}

#[test]
fn out_of_range_or_non_numeric_ports_are_errors_naming_flag_and_value() {
    for bad in [
        "0",
        "65536",
        "70000",
        "-1",
        "22x",
        "",
        "ssh",
        "99999999999999999999999",
    ] {
        assert_eq!(
            error(&client(&["-p", bad])),
            format!("invalid -p/--port '{bad}': must be an integer in 1..65535")
        );
        assert_eq!(
            error(&client(&["--mqtt-port", bad])),
            format!("invalid --mqtt-port '{bad}': must be an integer in 1..65535")
        );
        assert_eq!(
            error(&client(&["--remote-port", bad])),
            format!("invalid --remote-port '{bad}': must be an integer in 1..65535")
        );
    }
}

#[test]
fn the_brief_example_error_reads_as_one_line() {
    assert_eq!(
        error(&client(&["--mqtt-port", "70000"])),
        "invalid --mqtt-port '70000': must be an integer in 1..65535"
    );
}

#[test]
fn an_invalid_remote_port_environment_variable_is_an_error_naming_it() {
    let env = env_of(&[(ENV_REMOTE_PORT, "0")]);
    assert_eq!(
        error_with(&client(&[]), &env),
        "invalid MQTT_FORWARD_REMOTE_PORT '0': must be an integer in 1..65535"
    );
}

#[test]
fn qos_other_than_0_1_or_2_is_an_error() {
    for bad in ["3", "-1", "01", "one", "", "1.0"] {
        assert_eq!(
            error(&client(&["--mqtt-qos", bad])),
            format!("invalid --mqtt-qos '{bad}': must be 0, 1 or 2")
        );
    }
}

#[test]
fn remote_ip_that_is_not_ipv4_is_an_error() {
    for bad in ["10.0.0", "10.0.0.256", "host.example", "", "10.0.0.1:22"] {
        assert_eq!(
            error(&client(&["--remote-ip", bad])),
            format!("invalid --remote-ip '{bad}': must be an IPv4 address such as 192.0.2.10")
        );
    }
}

#[test]
fn remote_ip_in_ipv6_says_the_wire_format_is_ipv4_only() {
    for v6 in ["::1", "fe80::1", "[2001:db8::1]"] {
        let message = error(&client(&["--remote-ip", v6]));
        assert!(message.starts_with(&format!("invalid --remote-ip '{v6}'")));
        assert!(message.contains("IPv6 is not supported by the wire format"));
    }
    let env = env_of(&[(ENV_REMOTE_IP, "::1")]);
    assert!(error_with(&client(&[]), &env).starts_with("invalid MQTT_FORWARD_REMOTE_IP '::1'"));
}

#[test]
fn remote_ip_0_0_0_0_is_an_error_because_it_means_not_set_on_the_wire() {
    let message = error(&client(&["--remote-ip", "0.0.0.0"]));
    assert!(
        message.starts_with("invalid --remote-ip '0.0.0.0'"),
        "{message}"
    );
}

#[test]
fn bad_server_side_ids_are_errors() {
    let too_long = "x".repeat(MAX_TOPIC_LEVEL_LEN + 1);
    let cases: [(&str, &str); 6] = [
        ("", "must not be empty"),
        (&too_long, "must be at most 100 bytes"),
        ("a/b", "must not contain '/', '+', '#' or NUL"),
        ("a+b", "must not contain '/', '+', '#' or NUL"),
        ("a#", "must not contain '/', '+', '#' or NUL"),
        ("a\0b", "must not contain '/', '+', '#' or NUL"),
    ];
    for (bad, reason) in cases {
        let message = error(&["-s", "--mqtt-host", HOST, "--server-side-id", bad]);
        assert!(
            message.starts_with("invalid --server-side-id '") && message.ends_with(reason),
            "{message}"
        );
    }
    let env = env_of(&[(ENV_SERVER_ID, "a/b")]);
    assert!(error_with(&["--mqtt-host", HOST], &env)
        .starts_with("invalid MQTT_FORWARD_SERVER_ID 'a/b'"));
}

#[test]
fn a_server_side_id_of_exactly_the_maximum_length_is_accepted() {
    let longest = "x".repeat(MAX_TOPIC_LEVEL_LEN);
    let (config, _) = run(&["--mqtt-host", HOST, "--server-side-id", &longest]);
    assert_eq!(config.server_side_id, longest);
}

#[test]
fn bad_server_side_id_is_an_error_in_list_mode_too() {
    assert!(error(&list(&["--server-side-id", "a+b"])).starts_with("invalid --server-side-id"));
}

#[test]
fn bad_topic_prefixes_are_errors() {
    let too_long = "p".repeat(MAX_TOPIC_LEVEL_LEN + 1);
    for bad in ["", "a/b", "+", "#", "nul\0", too_long.as_str()] {
        let message = error(&client(&["--mqtt-topic-prefix", bad]));
        assert!(
            message.starts_with("invalid --mqtt-topic-prefix '"),
            "{message}"
        );
    }
    let env = env_of(&[(ENV_TOPIC_PREFIX, "a/b")]);
    assert_eq!(
        error_with(&client(&[]), &env),
        "invalid MQTT_FORWARD_TOPIC_PREFIX 'a/b': must not contain '/', '+', '#' or NUL"
    );
}

#[test]
fn empty_client_id_or_one_containing_nul_is_an_error() {
    assert_eq!(
        error(&client(&["--client-id", ""])),
        "invalid --client-id '': must not be empty"
    );
    assert_eq!(
        error(&client(&["--client-id", "a\0b"])),
        "invalid --client-id 'a\\u{0}b': must not contain NUL"
    );
}

#[test]
fn empty_or_blank_addr_and_mqtt_host_are_errors() {
    assert_eq!(
        error(&server(&["-a", ""])),
        "invalid -a/--addr '': must not be empty"
    );
    assert_eq!(
        error(&["--mqtt-host", "", "--server-side-id", ID]),
        "invalid --mqtt-host '': must not be empty"
    );
    assert!(error(&server(&["-a", "two words"])).starts_with("invalid -a/--addr 'two words'"));
}

#[test]
fn window_frame_size_and_peer_timeout_out_of_range_are_errors() {
    let below_window = (MIN_WINDOW - 1).to_string();
    let above_window = (MAX_WINDOW + 1).to_string();
    for bad in [below_window.as_str(), above_window.as_str(), "many", "-3"] {
        assert_eq!(
            error(&client(&["--window", bad])),
            format!("invalid --window '{bad}': must be an integer in {MIN_WINDOW}..{MAX_WINDOW}")
        );
    }
    let below_frame = (MIN_FRAME_DATA - 1).to_string();
    let above_frame = (MAX_FRAME_DATA + 1).to_string();
    for bad in [below_frame.as_str(), above_frame.as_str(), "1k"] {
        assert_eq!(
            error(&client(&["--frame-size", bad])),
            format!(
                "invalid --frame-size '{bad}': must be an integer in {MIN_FRAME_DATA}..{MAX_FRAME_DATA}"
            )
        );
    }
    for bad in ["0", "86401", "1.5", "3m"] {
        assert_eq!(
            error(&client(&["--peer-timeout", bad])),
            format!("invalid --peer-timeout '{bad}': must be an integer in 1..86400")
        );
    }
}

#[test]
fn certificate_without_private_key_is_an_error() {
    let scratch = Scratch::new("cert-no-key");
    let cert = scratch.file("cert.pem");
    assert_eq!(
        error(&client(&["--mqtt-certificate", &cert])),
        "--mqtt-certificate is set but no private key is: set --mqtt-private-key or MQTT_FORWARD_PRIVATE_KEY"
    );
    let env = env_of(&[(ENV_CERTIFICATE, &cert)]);
    assert!(error_with(&client(&[]), &env).starts_with("MQTT_FORWARD_CERTIFICATE is set but"));
}

#[test]
fn private_key_without_certificate_is_an_error() {
    let scratch = Scratch::new("key-no-cert");
    let key = scratch.file("key.pem");
    assert_eq!(
        error(&client(&["--mqtt-private-key", &key])),
        "--mqtt-private-key is set but no certificate is: set --mqtt-certificate or MQTT_FORWARD_CERTIFICATE"
    );
    let env = env_of(&[(ENV_PRIVATE_KEY, &key)]);
    assert!(error_with(&client(&[]), &env).starts_with("MQTT_FORWARD_PRIVATE_KEY is set but"));
}

#[test]
fn missing_tls_files_are_errors_naming_flag_and_path() {
    let scratch = Scratch::new("missing-files");
    let cert = scratch.file("cert.pem");
    let key = scratch.file("key.pem");
    let gone = format!("{}/gone.pem", scratch.dir());
    assert_eq!(
        error(&client(&["--mqtt-root-ca", &gone])),
        format!("invalid --mqtt-root-ca '{gone}': no such file")
    );
    assert_eq!(
        error(&client(&[
            "--mqtt-certificate",
            &gone,
            "--mqtt-private-key",
            &key
        ])),
        format!("invalid --mqtt-certificate '{gone}': no such file")
    );
    assert_eq!(
        error(&client(&[
            "--mqtt-certificate",
            &cert,
            "--mqtt-private-key",
            &gone
        ])),
        format!("invalid --mqtt-private-key '{gone}': no such file")
    );
    let env = env_of(&[(ENV_ROOT_CA, gone.as_str())]);
    assert_eq!(
        error_with(&client(&[]), &env),
        format!("invalid MQTT_FORWARD_ROOT_CA '{gone}': no such file")
    );
}

#[test]
fn a_private_key_readable_by_others_is_refused_saying_how_to_fix_it() {
    let scratch = Scratch::new("open-key");
    let cert = scratch.file("cert.pem");
    for mode in [0o644, 0o640, 0o604] {
        let key = scratch.file_with_mode(&format!("key-{mode:o}.pem"), mode);
        let e = error(&client(&[
            "--mqtt-certificate",
            &cert,
            "--mqtt-private-key",
            &key,
        ]));
        assert!(
            e.contains(&format!("permissions {mode:04o} are too open")),
            "{e}"
        );
        assert!(e.contains(&format!("chmod 600 {key}")), "{e}");
    }
    // The owner's own bits do not matter; the CA and certificate are public.
    let key = scratch.file_with_mode("key-400.pem", 0o400);
    let ca = scratch.file_with_mode("ca.pem", 0o644);
    run(&client(&[
        "--mqtt-root-ca",
        &ca,
        "--mqtt-certificate",
        &cert,
        "--mqtt-private-key",
        &key,
    ]));
}

#[test]
fn a_directory_as_tls_file_is_an_error() {
    let scratch = Scratch::new("dir-as-file");
    let dir = scratch.dir();
    assert_eq!(
        error(&client(&["--mqtt-root-ca", &dir])),
        format!("invalid --mqtt-root-ca '{dir}': not a regular file")
    );
}

#[test]
fn an_empty_tls_path_flag_is_an_error() {
    assert_eq!(
        error(&client(&["--mqtt-root-ca", ""])),
        "invalid --mqtt-root-ca '': the path must not be empty"
    );
}

#[test]
fn unknown_flag_is_an_error() {
    let message = error(&client(&["--bogus"]));
    assert!(message.contains("--bogus"), "{message}");
    assert!(message.ends_with("see --help"), "{message}");
}

#[test]
fn stray_positional_argument_is_an_error() {
    let message = error(&client(&["extra"]));
    assert!(message.contains("extra"), "{message}");
}

#[test]
fn option_without_value_is_an_error() {
    let message = error(&["--server-side-id", ID, "--mqtt-host"]);
    assert!(message.contains("--mqtt-host"), "{message}");
    let message = error(&client(&["-p"]));
    assert!(message.contains("-p"), "{message}");
}

#[test]
fn control_characters_in_values_are_escaped_so_errors_stay_on_one_line() {
    let message = error(&client(&["-p", "22\n--evil"]));
    assert_eq!(
        message,
        "invalid -p/--port '22\\n--evil': must be an integer in 1..65535"
    );
    let message = error(&client(&["--bo\ngus"]));
    assert!(message.contains("--bo\\ngus"), "{message}");
}

#[test]
fn very_long_values_are_shortened_in_errors() {
    let long = "9".repeat(10_000);
    let message = error(&client(&["-p", &long]));
    assert!(message.len() < 200, "{}", message.len());
    assert!(message.contains("..."));
}

#[test]
fn arbitrary_unicode_and_odd_arguments_never_panic() {
    let odd: &[&[&str]] = &[
        &["-"],
        &["--"],
        &["--", "-s"],
        &["-é"],
        &["-pé"],
        &["-aé", "--mqtt-host", "h", "--server-side-id", "é"],
        &["--=x"],
        &["--port="],
        &["-dp"],
        &["--mqtt-host"],
        &["\u{0}"],
        &["-h", "--bogus"],
        &["--version", "--bogus"],
    ];
    for args in odd {
        let _ = parse_to_outcome("mqtt-forward", args, &no_env);
    }
}

// --- warnings -------------------------------------------------------

#[test]
fn remote_flags_in_server_mode_are_ignored_with_a_warning() {
    let (config, warnings) = run(&server(&["--remote-ip", "10.0.0.1", "--remote-port", "80"]));
    assert!(matches!(config.mode, Mode::Server { .. }));
    assert_eq!(
        warnings,
        vec![
            "--remote-ip is not applicable in server mode; ignored".to_owned(),
            "--remote-port is not applicable in server mode; ignored".to_owned(),
        ]
    );
}

#[test]
fn remote_environment_variables_in_server_mode_warn_naming_the_variable() {
    let env = env_of(&[(ENV_REMOTE_IP, "10.0.0.1"), (ENV_REMOTE_PORT, "80")]);
    let (_, warnings) = run_with(&server(&[]), &env);
    assert_eq!(
        warnings,
        vec![
            "MQTT_FORWARD_REMOTE_IP is not applicable in server mode; ignored".to_owned(),
            "MQTT_FORWARD_REMOTE_PORT is not applicable in server mode; ignored".to_owned(),
        ]
    );
}

#[test]
fn client_id_in_server_mode_is_ignored_with_a_warning() {
    let (config, warnings) = run(&server(&["--client-id", "other"]));
    assert_eq!(config.broker.client_id, ID);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("--client-id is not applicable in server mode"),
        "{warnings:?}"
    );
    assert!(warnings[0].ends_with("; ignored"));
}

#[test]
fn beacon_without_server_mode_is_ignored_with_a_warning() {
    let expected = vec!["-b/--beacon is not applicable without -s/--server; ignored".to_owned()];
    assert_eq!(run(&client(&["-b"])).1, expected);
    if cfg!(feature = "list") {
        assert_eq!(run(&list(&["--beacon"])).1, expected);
    }
}

#[test]
fn watch_without_list_mode_is_ignored_with_a_warning() {
    let expected = vec!["--watch is not applicable without -l/--list-servers; ignored".to_owned()];
    assert_eq!(run(&client(&["--watch"])).1, expected);
    assert_eq!(run(&server(&["--watch"])).1, expected);
}

#[cfg(feature = "list")]
#[test]
fn port_addr_and_remote_flags_in_list_mode_are_ignored_with_warnings() {
    let (config, warnings) = run(&list(&[
        "-p",
        "2222",
        "-a",
        "0.0.0.0",
        "--remote-ip",
        "10.0.0.1",
        "--remote-port",
        "80",
    ]));
    assert_eq!(
        config.mode,
        Mode::ListServers {
            watch: false,
            json: false
        }
    );
    assert_eq!(
        warnings,
        vec![
            "-p/--port is not applicable in list mode; ignored".to_owned(),
            "-a/--addr is not applicable in list mode; ignored".to_owned(),
            "--remote-ip is not applicable in list mode; ignored".to_owned(),
            "--remote-port is not applicable in list mode; ignored".to_owned(),
        ]
    );
}

#[cfg(feature = "list")]
#[test]
fn client_id_in_list_mode_is_used() {
    let (config, warnings) = run(&list(&["--client-id", "lister"]));
    assert_eq!(config.broker.client_id, "lister");
    assert!(warnings.is_empty(), "{warnings:?}");
}

// --- help and version -----------------------------------------------

#[test]
fn version_prints_the_package_version_and_exits_0() {
    match parse_to_outcome("mqtt-forward", &["--version"], &no_env) {
        Ok(Outcome::Print(text)) => {
            let version = format!("mqtt-forward {} (", env!("CARGO_PKG_VERSION"));
            assert!(text.starts_with(&version), "{text}");
            assert!(text.contains(env!("MQTT_FORWARD_TARGET")), "{text}");
            assert!(text.ends_with(")\n") && text.lines().count() == 1, "{text}");
            let built_without = text.contains("(built without ");
            assert_eq!(
                built_without,
                !cfg!(all(
                    feature = "web-roots",
                    feature = "tls12",
                    feature = "timestamps",
                    feature = "list",
                    feature = "stdio"
                )),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse("mqtt-forward", &["--version"], &no_env),
        Ok(Parsed::Exit(0))
    );
    // No other setting is needed, and validation is skipped.
    assert_eq!(
        parse("mqtt-forward", &["--version", "-s", "-l"], &no_env),
        Ok(Parsed::Exit(0))
    );
}

#[test]
fn help_long_and_short_exit_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["-dh"],
        &["-s", "-h"],
        &["-h", "-s"],
    ] {
        assert_eq!(
            parse("mqtt-forward", args, &no_env),
            Ok(Parsed::Exit(0)),
            "{args:?}"
        );
    }
}

#[test]
fn help_text_lists_every_flag_and_environment_variable() {
    let text = match parse_to_outcome("mqtt-forward", &["-h"], &no_env) {
        Ok(Outcome::Print(text)) => text,
        other => panic!("{other:?}"),
    };
    assert!(text.contains("Usage: mqtt-forward"), "{text}");
    for flag in [
        "-h, --help",
        "-d, --debug",
        "-t, --tls",
        "-s, --server",
        "-l, --list-servers",
        "-b, --beacon",
        "-p, --port",
        "-a, --addr",
        "--version",
        "--watch",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
    for flag in LONG_VALUED {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
    for var in [
        ENV_MQTT_HOST,
        ENV_ROOT_CA,
        ENV_CERTIFICATE,
        ENV_PRIVATE_KEY,
        ENV_TOPIC_PREFIX,
        ENV_REMOTE_IP,
        ENV_REMOTE_PORT,
        ENV_SERVER_ID,
        ENV_USERNAME,
        ENV_PASSWORD,
    ] {
        assert!(text.contains(var), "{var} missing from:\n{text}");
    }
}

#[test]
fn help_text_defaults_match_the_limit_constants() {
    let text = match parse_to_outcome("mqtt-forward", &["--help"], &no_env) {
        Ok(Outcome::Print(text)) => text,
        other => panic!("{other:?}"),
    };
    // argh descriptions are literals; keep them in step with limits.rs.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        format!("(default {DEFAULT_WINDOW}, {MIN_WINDOW}..{MAX_WINDOW})"),
        format!("(default {DEFAULT_FRAME_DATA}, {MIN_FRAME_DATA}..{MAX_FRAME_DATA})"),
        format!(
            "(default {}, 1..{MAX_PEER_TIMEOUT_SECS})",
            DEFAULT_PEER_TIMEOUT.as_secs()
        ),
    ] {
        assert!(flat.contains(&expected), "{expected} missing from:\n{text}");
    }
}

#[test]
fn username_and_password_come_from_flags_or_environment_with_flags_winning() {
    let (config, warnings) = run(&client(&[
        "--mqtt-username",
        "alice",
        "--mqtt-password",
        "s3cret",
    ]));
    assert_eq!(config.broker.username.as_deref(), Some("alice"));
    assert_eq!(config.broker.password, Some(Secret("s3cret".to_owned())));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(ENV_PASSWORD) && !w.contains("s3cret")),
        "{warnings:?}"
    );

    let env = env_of(&[(ENV_USERNAME, "bob"), (ENV_PASSWORD, "from-env")]);
    let (config, warnings) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.username.as_deref(), Some("bob"));
    assert_eq!(config.broker.password, Some(Secret("from-env".to_owned())));
    assert!(warnings.is_empty(), "{warnings:?}");

    let (config, _) = run_with(&client(&["--mqtt-username", "carol"]), &env);
    assert_eq!(config.broker.username.as_deref(), Some("carol"));
    assert_eq!(config.broker.password, Some(Secret("from-env".to_owned())));
}

#[test]
fn a_user_name_alone_is_accepted_and_no_credentials_is_the_default() {
    let (config, _) = run(&server(&["--mqtt-username", "alice"]));
    assert_eq!(config.broker.username.as_deref(), Some("alice"));
    assert_eq!(config.broker.password, None);
    let (config, _) = run(&server(&[]));
    assert_eq!(
        (config.broker.username, config.broker.password),
        (None, None)
    );
}

#[test]
fn a_password_without_a_user_name_is_refused() {
    let e = error(&client(&["--mqtt-password", "s3cret"]));
    assert!(
        e.contains("--mqtt-password is set but no user name is"),
        "{e}"
    );
    assert!(!e.contains("s3cret"), "{e}");
    let e = error_with(&client(&[]), &env_of(&[(ENV_PASSWORD, "s3cret")]));
    assert!(e.contains(ENV_PASSWORD), "{e}");
}

#[test]
fn an_empty_user_name_is_refused() {
    let e = error(&client(&["--mqtt-username", ""]));
    assert!(e.contains("--mqtt-username"), "{e}");
}

#[test]
fn the_password_never_appears_in_debug_output() {
    let (config, _) = run(&client(&[
        "--mqtt-username",
        "alice",
        "--mqtt-password",
        "s3cret",
    ]));
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn parse_errors_never_echo_a_password() {
    for args in [
        &["--mqtt-password", "first", "--mqtt-password", "S3CRET"][..],
        &["--mqtt-passwrd=S3CRET"],
        &["--mqtt-password=S3CRET", "--bogus"],
    ] {
        let mut all = client(&["--mqtt-username", "alice"]);
        all.extend_from_slice(args);
        let e = error(&all);
        assert!(!e.contains("S3CRET"), "{e}");
    }
}

#[test]
fn an_empty_password_is_refused() {
    let e = error(&client(&[
        "--mqtt-username",
        "alice",
        "--mqtt-password",
        "",
    ]));
    assert!(e.contains("must not be empty"), "{e}");
}

#[test]
fn every_environment_variable_is_listed_in_env_vars() {
    let text = match parse_to_outcome("mqtt-forward", &["--help"], &no_env) {
        Ok(Outcome::Print(text)) => text,
        other => panic!("{other:?}"),
    };
    for var in ENV_VARS {
        assert!(text.contains(var), "{var} missing from the help text");
    }
    assert_eq!(ENV_VARS.len(), 24);
}

#[test]
fn allow_remote_rules_come_from_repeated_flags_or_the_environment() {
    let (config, warnings) = run(&server(&[
        "--allow-remote",
        "10.0.0.0/8:22",
        "--allow-remote",
        "192.168.1.5:*",
    ]));
    assert!(warnings.is_empty(), "{warnings:?}");
    let Mode::Server { allow_remote, .. } = &config.mode else {
        panic!("server mode")
    };
    assert_eq!(allow_remote.to_string(), "10.0.0.0/8:22, 192.168.1.5:*");
    let env = env_of(&[(ENV_ALLOW_REMOTE, "10.1.2.3:80, 10.1.2.4:81 10.1.2.5:*")]);
    let (config, _) = run_with(&server(&[]), &env);
    let Mode::Server { allow_remote, .. } = &config.mode else {
        panic!("server mode")
    };
    assert_eq!(
        allow_remote.to_string(),
        "10.1.2.3:80, 10.1.2.4:81, 10.1.2.5:*"
    );
    // Flags override the variable.
    let (config, _) = run_with(&server(&["--allow-remote", "10.9.9.9:9"]), &env);
    let Mode::Server { allow_remote, .. } = &config.mode else {
        panic!("server mode")
    };
    assert_eq!(allow_remote.to_string(), "10.9.9.9:9");
}

#[test]
fn a_malformed_allow_remote_rule_is_a_usage_error_naming_its_source() {
    let e = error(&server(&["--allow-remote", "10.0.0.1"]));
    assert!(e.contains("--allow-remote '10.0.0.1'"), "{e}");
    assert!(e.contains("HOST:PORT"), "{e}");
    let env = env_of(&[(ENV_ALLOW_REMOTE, "10.0.0.0/40:22")]);
    let e = error_with(&server(&[]), &env);
    assert!(e.contains(ENV_ALLOW_REMOTE), "{e}");
    assert!(e.contains("prefix"), "{e}");
}

#[test]
fn allow_remote_on_the_client_side_is_ignored_with_a_warning() {
    let (_, warnings) = run(&client(&["--allow-remote", "10.0.0.1:22"]));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("--allow-remote is not applicable")),
        "{warnings:?}"
    );
}

#[test]
fn a_psk_file_is_read_at_start_up_and_must_be_private() {
    let dir = Scratch::new("psk");
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    let good = dir.file_with_mode("good.key", 0o600);
    std::fs::write(&good, key).unwrap();
    let (config, _) = run(&server(&["--psk-file", &good]));
    assert_eq!(config.psk, Some(Psk::parse(key).unwrap()));
    let env = env_of(&[(ENV_PSK_FILE, good.as_str())]);
    let (config, _) = run_with(&client(&[]), &env);
    assert!(config.psk.is_some());
    let open = dir.file_with_mode("open.key", 0o644);
    std::fs::write(&open, key).unwrap();
    let e = error(&server(&["--psk-file", &open]));
    assert!(e.contains("too open") && e.contains("chmod 600"), "{e}");
    let short = dir.file_with_mode("short.key", 0o600);
    std::fs::write(&short, "abcd").unwrap();
    let e = error(&server(&["--psk-file", &short]));
    assert!(e.contains("--psk-file") && e.contains("too short"), "{e}");
    let missing = format!("{}/missing.key", dir.dir());
    let e = error(&server(&["--psk-file", &missing]));
    assert!(e.contains("no such file"), "{e}");
}

#[cfg(feature = "stdio")]
#[test]
fn stdio_is_a_client_mode_without_a_listener() {
    let (config, warnings) = run(&client(&["--stdio"]));
    assert!(matches!(config.mode, Mode::Client { stdio: true, .. }));
    assert!(warnings.is_empty(), "{warnings:?}");
    let (_, warnings) = run(&client(&["--stdio", "-p", "2222"]));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("-p/--port is not applicable with --stdio")),
        "{warnings:?}"
    );
    let e = error(&server(&["--stdio"]));
    assert!(e.contains("--stdio is for the client side"), "{e}");
}

#[test]
fn log_levels_come_from_q_v_vv_d_or_the_environment() {
    use log::LevelFilter;
    let level =
        |args: &[&str], env: &[(&str, &str)]| run_with(&client(args), &env_of(env)).0.log_level;
    assert_eq!(level(&[], &[]), LevelFilter::Info);
    assert_eq!(level(&["-q"], &[]), LevelFilter::Warn);
    assert_eq!(level(&["-v"], &[]), LevelFilter::Debug);
    assert_eq!(level(&["-d"], &[]), LevelFilter::Debug);
    assert_eq!(level(&["-vv"], &[]), LevelFilter::Trace);
    assert_eq!(level(&["-v", "-v"], &[]), LevelFilter::Trace);
    assert_eq!(level(&["-dv"], &[]), LevelFilter::Trace);
    assert_eq!(level(&[], &[(ENV_LOG_LEVEL, "quiet")]), LevelFilter::Warn);
    assert_eq!(level(&[], &[(ENV_LOG_LEVEL, "TRACE")]), LevelFilter::Trace);
    assert_eq!(
        level(&["-v"], &[(ENV_LOG_LEVEL, "quiet")]),
        LevelFilter::Debug
    );
    let e = error(&client(&["-q", "-v"]));
    assert!(e.contains("cannot be used together"), "{e}");
    let e = error_with(&client(&[]), &env_of(&[(ENV_LOG_LEVEL, "loud")]));
    assert!(e.contains(ENV_LOG_LEVEL) && e.contains("loud"), "{e}");
}

#[test]
fn timestamps_are_on_unless_turned_off_or_under_the_journal() {
    let ts =
        |args: &[&str], env: &[(&str, &str)]| run_with(&client(args), &env_of(env)).0.timestamps;
    assert!(ts(&[], &[]));
    assert!(!ts(&["--no-timestamps"], &[]));
    assert!(!ts(&[], &[(ENV_LOG_TIMESTAMPS, "off")]));
    assert!(ts(
        &[],
        &[(ENV_LOG_TIMESTAMPS, "on"), ("JOURNAL_STREAM", "8:123")]
    ));
    assert!(!ts(&[], &[("JOURNAL_STREAM", "8:123")]));
    let e = error_with(&client(&[]), &env_of(&[(ENV_LOG_TIMESTAMPS, "maybe")]));
    assert!(e.contains(ENV_LOG_TIMESTAMPS), "{e}");
}

#[test]
fn broker_port_qos_and_tuning_come_from_the_environment_and_bad_values_name_the_variable() {
    let env = env_of(&[
        (ENV_MQTT_PORT, "34449"),
        (ENV_MQTT_QOS, "0"),
        (ENV_PORT, "2222"),
        (ENV_CLIENT_ID, "desk"),
        (ENV_WINDOW, "64"),
        (ENV_MAX_SESSIONS, "10"),
    ]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.port, 34449);
    assert_eq!(config.broker.qos, 0);
    assert_eq!(config.broker.client_id, "desk");
    assert_eq!(config.tuning.window_frames, 64);
    assert_eq!(config.tuning.max_sessions, 10);
    assert!(matches!(
        config.mode,
        Mode::Client {
            listen_port: 2222,
            ..
        }
    ));
    // Flags win.
    let (config, _) = run_with(&client(&["--mqtt-port", "1884"]), &env);
    assert_eq!(config.broker.port, 1884);
    for (var, value) in [
        (ENV_MQTT_PORT, "70000"),
        (ENV_MQTT_QOS, "3"),
        (ENV_FRAME_SIZE, "1"),
    ] {
        let e = error_with(&client(&[]), &env_of(&[(var, value)]));
        assert!(e.contains(var) && e.contains(value), "{e}");
    }
}
