//! Command lines that argh refuses, and odd arguments.

use super::*;

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
