//! Flags: short and long forms of every setting, and their limits.

use super::*;

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
                nodes: vec![BrokerNode {
                    host: HOST.to_owned(),
                    port: 1884,
                }],
                client_id: "laptop".to_owned(),
                qos: 2,
                caps: Default::default(),
                max_subscriptions: None,
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
            profile_line: None,
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
    assert_eq!(config.broker.nodes[0].port, 65535);
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
