//! Flags a mode ignores, with a warning.

use super::*;

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
    let env = env_of(&[
        (opt::REMOTE_IP.env, "10.0.0.1"),
        (opt::REMOTE_PORT.env, "80"),
    ]);
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
            json: false,
            pattern: None
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
