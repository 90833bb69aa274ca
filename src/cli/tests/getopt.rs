//! The getopt spellings of the C original.

use super::*;

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
    assert_eq!(config.broker.nodes[0].host, HOST);
    assert_eq!(config.broker.nodes[0].port, 1999);
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
