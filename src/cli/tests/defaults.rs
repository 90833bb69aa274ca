//! Defaults of every mode.

use super::*;

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
                nodes: vec![BrokerNode {
                    host: HOST.to_owned(),
                    port: 1883,
                }],
                client_id: ID.to_owned(),
                qos: 1,
                caps: Default::default(),
                max_subscriptions: None,
                tls: None,
                username: None,
                password: None,
            },
            topic_prefix: "ssh".to_owned(),
            server_side_id: ID.to_owned(),
            tuning: default_tuning(),
            psk: None,
            profile_line: None,
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
    assert_eq!(config.broker.nodes[0].port, 1883);
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
            json: false,
            pattern: None
        }
    );
    assert_eq!(config.server_side_id, "");
    assert!(is_random_client_id(&config.broker.client_id));
    assert_eq!(config.broker.nodes[0].port, 1883);
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
            json: false,
            pattern: None
        }
    );
    assert_eq!(config.server_side_id, ID);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[cfg(feature = "list")]
#[test]
fn a_pattern_after_l_or_anywhere_among_the_flags_lists_only_matching_ids() {
    let listed = |args: &[&str]| match run(args).0.mode {
        Mode::ListServers {
            watch,
            json,
            pattern,
        } => (watch, json, pattern),
        other => panic!("not list mode: {other:?}"),
    };
    let site = Some("site-*".to_owned());
    assert_eq!(
        listed(&["-l", "site-*", "--mqtt-host", HOST]),
        (false, false, site.clone())
    );
    assert_eq!(
        listed(&list(&["--json", "site-*"])),
        (false, true, site.clone())
    );
    assert_eq!(
        listed(&["site-*", "--watch", "-l", "--mqtt-host", HOST]),
        (true, false, site)
    );
    assert_eq!(
        listed(&["--list-servers", "--mqtt-host", HOST, "--", "-odd?"]),
        (false, false, Some("-odd?".to_owned()))
    );
}

#[test]
fn an_argument_that_follows_no_option_is_an_error_outside_list_mode_and_twice_in_it() {
    for args in [
        vec!["--server-side-id", ID, "--mqtt-host", HOST, "site-*"],
        vec!["-s", "--server-side-id", ID, "--mqtt-host", HOST, "site-*"],
    ] {
        let message = error(&args);
        assert!(
            message.starts_with("unexpected argument 'site-*'"),
            "{message}"
        );
        assert!(message.contains("only -l takes a pattern"), "{message}");
    }
    let message = error(&list(&["one", "two"]));
    assert!(message.contains("two"), "{message}");
}

#[test]
fn random_client_id_is_mqtt_forward_dash_12_lowercase_hex_and_varies() {
    let first = random_client_id().expect("random id");
    let second = random_client_id().expect("random id");
    assert!(is_random_client_id(&first), "{first}");
    assert!(is_random_client_id(&second), "{second}");
    assert_ne!(first, second);
}
