//! The help and version texts.

use super::*;

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
        opt::MQTT_HOST.env,
        opt::ROOT_CA.env,
        opt::CERTIFICATE.env,
        opt::PRIVATE_KEY.env,
        opt::TOPIC_PREFIX.env,
        opt::REMOTE_IP.env,
        opt::REMOTE_PORT.env,
        opt::SERVER_SIDE_ID.env,
        opt::USERNAME.env,
        opt::PASSWORD.env,
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
        format!("(default: adapts up to {DEFAULT_WINDOW}; {MIN_WINDOW}..{MAX_WINDOW})"),
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
fn every_environment_variable_is_listed_in_env_vars() {
    let text = match parse_to_outcome("mqtt-forward", &["--help"], &no_env) {
        Ok(Outcome::Print(text)) => text,
        other => panic!("{other:?}"),
    };
    for var in ENV_VARS {
        assert!(text.contains(var), "{var} missing from the help text");
    }
    assert_eq!(ENV_VARS.len(), 28);
}
