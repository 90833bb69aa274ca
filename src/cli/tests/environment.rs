//! The environment variables, and flags overriding them.

use super::*;

#[test]
fn environment_variables_supply_missing_settings() {
    let env = env_of(&[
        (opt::MQTT_HOST.env, "env-broker"),
        (opt::SERVER_SIDE_ID.env, "env-id"),
        (opt::TOPIC_PREFIX.env, "env-prefix"),
        (opt::REMOTE_IP.env, "10.9.8.7"),
        (opt::REMOTE_PORT.env, "3389"),
    ]);
    let (config, warnings) = run_with(&[], &env);
    assert_eq!(config.broker.nodes[0].host, "env-broker");
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
        (opt::MQTT_HOST.env, "env-broker"),
        (opt::SERVER_SIDE_ID.env, "env-id"),
        (opt::TOPIC_PREFIX.env, "env-prefix"),
        (opt::REMOTE_IP.env, "not an address"),
        (opt::REMOTE_PORT.env, "not a port"),
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
    assert_eq!(config.broker.nodes[0].host, "flag-broker");
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
        (opt::MQTT_HOST.env, HOST),
        (opt::SERVER_SIDE_ID.env, ID),
        (opt::TOPIC_PREFIX.env, ""),
        (opt::REMOTE_IP.env, ""),
        (opt::REMOTE_PORT.env, ""),
        (opt::ROOT_CA.env, ""),
        (opt::CERTIFICATE.env, ""),
        (opt::PRIVATE_KEY.env, ""),
    ]);
    let (config, _) = run_with(&[], &env);
    assert_eq!(config.topic_prefix, "ssh");
    assert_eq!(config.broker.tls, None);
    assert_eq!(config.broker.nodes[0].port, 1883);
    assert!(matches!(
        config.mode,
        Mode::Client {
            remote_ip: None,
            remote_port: None,
            ..
        }
    ));
    let empty_host = env_of(&[(opt::MQTT_HOST.env, ""), (opt::SERVER_SIDE_ID.env, ID)]);
    assert!(error_with(&[], &empty_host).contains("missing --mqtt-host"));
}

#[test]
fn certificate_environment_variables_imply_tls_and_port_8883() {
    let scratch = Scratch::new("env-tls");
    let ca = scratch.file("ca.pem");
    let cert = scratch.file("cert.pem");
    let key = scratch.file("key.pem");
    let env = env_of(&[
        (opt::ROOT_CA.env, &ca),
        (opt::CERTIFICATE.env, &cert),
        (opt::PRIVATE_KEY.env, &key),
    ]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.nodes[0].port, 8883);
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
    let env = env_of(&[(opt::ROOT_CA.env, &ca)]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.nodes[0].port, 8883);
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
    assert_eq!(config.broker.nodes[0].port, 8883);
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
    assert_eq!(config.broker.nodes[0].port, 443);
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
        (opt::CERTIFICATE.env, "/nonexistent/env-cert.pem"),
        (opt::PRIVATE_KEY.env, "/nonexistent/env-key.pem"),
    ]);
    let (config, _) = run_with(
        &client(&["--mqtt-certificate", &cert, "--mqtt-private-key", &key]),
        &env,
    );
    let tls = config.broker.tls.expect("tls");
    assert_eq!(tls.certificate.as_deref(), Some(Path::new(&cert)));
    assert_eq!(tls.private_key.as_deref(), Some(Path::new(&key)));
}

#[test]
fn broker_port_qos_and_tuning_come_from_the_environment_and_bad_values_name_the_variable() {
    let env = env_of(&[
        (opt::MQTT_PORT.env, "34449"),
        (opt::QOS.env, "0"),
        (opt::PORT.env, "2222"),
        (opt::CLIENT_ID.env, "desk"),
        (opt::WINDOW.env, "64"),
        (opt::MAX_SESSIONS.env, "10"),
    ]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.nodes[0].port, 34449);
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
    assert_eq!(config.broker.nodes[0].port, 1884);
    for (var, value) in [
        (opt::MQTT_PORT.env, "70000"),
        (opt::QOS.env, "3"),
        (opt::FRAME_SIZE.env, "1"),
    ] {
        let e = error_with(&client(&[]), &env_of(&[(var, value)]));
        assert!(e.contains(var) && e.contains(value), "{e}");
    }
}
