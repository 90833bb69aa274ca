//! `--broker-profile` and `--mqtt-max-subs`.

use super::*;

#[test]
fn a_profile_fills_in_the_documented_limits_and_says_them_in_one_line() {
    let (config, _) = run(&client(&["--broker-profile", "aws-iot"]));
    assert_eq!(config.broker.caps.publishes, Some(100));
    assert_eq!(config.broker.caps.bytes, Some(512 * 1024));
    assert_eq!(config.broker.max_subscriptions, Some(50));
    // A tenth of a second of the bandwidth cap is more than the default.
    assert_eq!(config.tuning.frame_data, DEFAULT_FRAME_DATA);
    assert_eq!(
        config.profile_line.as_deref(),
        Some(
            "broker profile aws-iot (AWS IoT Core): at most 100 publishes/s, 524,288 \
             bytes/s, 50 subscriptions, frames of 32,768 bytes, no QoS 2 (flags given \
             override it)"
        )
    );
    let (config, _) = run(&server(&["--broker-profile", "emqx-serverless"]));
    assert_eq!(config.broker.caps.publishes, Some(10));
    assert_eq!(config.broker.caps.bytes, None);
    assert_eq!(config.broker.max_subscriptions, Some(10));
    let (config, _) = run(&client(&["--broker-profile", "azure-event-grid"]));
    assert_eq!(config.broker.caps.bytes, Some(1_000_000));
    assert_eq!(config.broker.max_subscriptions, None);
}

#[test]
fn flags_given_override_the_profile() {
    let (config, _) = run(&client(&[
        "--broker-profile",
        "aws-iot",
        "--mqtt-max-rate",
        "50",
        "--mqtt-max-bandwidth",
        "1m",
        "--mqtt-max-subs",
        "20",
        "--frame-size",
        "65536",
    ]));
    assert_eq!(config.broker.caps.publishes, Some(50));
    assert_eq!(config.broker.caps.bytes, Some(1024 * 1024));
    assert_eq!(config.broker.max_subscriptions, Some(20));
    assert_eq!(config.tuning.frame_data, 65_536);
    assert!(config
        .profile_line
        .unwrap()
        .contains("50 publishes/s, 1,048,576 bytes/s, 20 subscriptions"));
    // A bandwidth cap cuts frames to a tenth of a second of it.
    let (config, _) = run(&client(&[
        "--broker-profile",
        "emqx-serverless",
        "--mqtt-max-bandwidth",
        "64k",
    ]));
    assert_eq!(config.tuning.frame_data, 6553 - 300);
}

#[test]
fn the_profile_comes_from_its_variable_and_none_applies_nothing() {
    let env = env_of(&[("MQTT_FORWARD_BROKER_PROFILE", "emqx-serverless")]);
    let (config, _) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.caps.publishes, Some(10));
    for args in [client(&[]), client(&["--broker-profile", "none"])] {
        let (config, _) = run(&args);
        assert_eq!(config.broker.caps, Default::default());
        assert_eq!(config.broker.max_subscriptions, None);
        assert_eq!(config.profile_line, None);
        assert_eq!(config.tuning.frame_data, DEFAULT_FRAME_DATA);
    }
}

#[test]
fn qos_2_toward_a_broker_without_it_is_refused_naming_the_flag() {
    assert_eq!(
        error(&client(&["--broker-profile", "aws-iot", "--mqtt-qos", "2"])),
        "--mqtt-qos 2 cannot work with --broker-profile aws-iot: AWS IoT Core does not \
         support QoS 2; use --mqtt-qos 1"
    );
    let (config, _) = run(&client(&[
        "--broker-profile",
        "emqx-serverless",
        "--mqtt-qos",
        "2",
    ]));
    assert_eq!(config.broker.qos, 2);
}

#[test]
fn an_unknown_profile_or_subscription_count_is_an_error_naming_flag_and_value() {
    assert_eq!(
        error(&client(&["--broker-profile", "hivemq"])),
        "invalid --broker-profile 'hivemq': must be one of aws-iot, emqx-serverless, \
         azure-event-grid, none"
    );
    for bad in ["0", "-1", "1000001", "ten", ""] {
        assert_eq!(
            error(&client(&["--mqtt-max-subs", bad])),
            format!("invalid --mqtt-max-subs '{bad}': must be an integer in 1..1000000")
        );
    }
    let (config, _) = run(&client(&["--mqtt-max-subs", "7"]));
    assert_eq!(config.broker.max_subscriptions, Some(7));
}
