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
                host: HOST.to_owned(),
                port: 1883,
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
