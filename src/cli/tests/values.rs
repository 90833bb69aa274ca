//! Values that are refused, with the flag or variable and the value named.

use super::*;

#[test]
fn missing_mqtt_host_is_an_error_naming_the_env_var() {
    let message = error(&["-s", "--server-side-id", ID]);
    assert_eq!(
        message,
        "missing --mqtt-host (or set MQTT_FORWARD_MQTT_HOST)"
    );
    assert!(error(&["-l"]).contains(opt::MQTT_HOST.env));
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
    let env = env_of(&[(opt::REMOTE_PORT.env, "0")]);
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
    let env = env_of(&[(opt::REMOTE_IP.env, "::1")]);
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
    let env = env_of(&[(opt::SERVER_SIDE_ID.env, "a/b")]);
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
    let env = env_of(&[(opt::TOPIC_PREFIX.env, "a/b")]);
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
        "invalid --client-id 'a\\x00b': must not contain NUL"
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
fn publish_caps_are_read_from_flags_and_variables_with_k_and_m_sizes() {
    let (config, _) = run(&client(&[
        "--mqtt-max-rate",
        "100",
        "--mqtt-max-bandwidth",
        "512k",
    ]));
    assert_eq!(config.broker.caps.publishes, Some(100));
    assert_eq!(config.broker.caps.bytes, Some(512 * 1024));
    let env = env_of(&[
        ("MQTT_FORWARD_MQTT_MAX_RATE", "10"),
        ("MQTT_FORWARD_MQTT_MAX_BANDWIDTH", "1M"),
    ]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.caps.publishes, Some(10));
    assert_eq!(config.broker.caps.bytes, Some(1024 * 1024));
    let (config, _) = run(&client(&[]));
    assert_eq!(config.broker.caps, Default::default());
}

#[test]
fn a_bandwidth_cap_cuts_frames_to_a_tenth_of_a_second_of_it() {
    let (config, _) = run(&client(&["--mqtt-max-bandwidth", "64k"]));
    assert_eq!(config.tuning.frame_data, 6553 - 300);
    let (config, _) = run(&client(&["--mqtt-max-bandwidth", "100m"]));
    assert_eq!(config.tuning.frame_data, DEFAULT_FRAME_DATA);
}

#[test]
fn bad_publish_caps_are_errors_naming_flag_and_value() {
    for bad in ["0", "-1", "1000001", "ten", ""] {
        assert_eq!(
            error(&client(&["--mqtt-max-rate", bad])),
            format!("invalid --mqtt-max-rate '{bad}': must be an integer in 1..1000000")
        );
    }
    for bad in ["0", "9k", "512kb", "k", "1g", "10241m", ""] {
        assert_eq!(
            error(&client(&["--mqtt-max-bandwidth", bad])),
            format!(
                "invalid --mqtt-max-bandwidth '{bad}': must be bytes per second from 10k to \
                 10240m (a number, k or m: times 1024)"
            )
        );
    }
}
