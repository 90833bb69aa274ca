//! The broker user name and password.

use super::*;

#[test]
fn username_and_password_come_from_flags_or_environment_with_flags_winning() {
    let (config, warnings) = run(&client(&[
        "--mqtt-username",
        "alice",
        "--mqtt-password",
        "s3cret",
    ]));
    assert_eq!(config.broker.username.as_deref(), Some("alice"));
    assert_eq!(config.broker.password, Some(Secret("s3cret".to_owned())));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(opt::PASSWORD.env) && !w.contains("s3cret")),
        "{warnings:?}"
    );

    let env = env_of(&[(opt::USERNAME.env, "bob"), (opt::PASSWORD.env, "from-env")]);
    let (config, warnings) = run_with(&client(&[]), &env);
    assert_eq!(config.broker.username.as_deref(), Some("bob"));
    assert_eq!(config.broker.password, Some(Secret("from-env".to_owned())));
    assert!(warnings.is_empty(), "{warnings:?}");

    let (config, _) = run_with(&client(&["--mqtt-username", "carol"]), &env);
    assert_eq!(config.broker.username.as_deref(), Some("carol"));
    assert_eq!(config.broker.password, Some(Secret("from-env".to_owned())));
}

#[test]
fn a_user_name_alone_is_accepted_and_no_credentials_is_the_default() {
    let (config, _) = run(&server(&["--mqtt-username", "alice"]));
    assert_eq!(config.broker.username.as_deref(), Some("alice"));
    assert_eq!(config.broker.password, None);
    let (config, _) = run(&server(&[]));
    assert_eq!(
        (config.broker.username, config.broker.password),
        (None, None)
    );
}

#[test]
fn a_password_without_a_user_name_is_refused() {
    let e = error(&client(&["--mqtt-password", "s3cret"]));
    assert!(
        e.contains("--mqtt-password is set but no user name is"),
        "{e}"
    );
    assert!(!e.contains("s3cret"), "{e}");
    let e = error_with(&client(&[]), &env_of(&[(opt::PASSWORD.env, "s3cret")]));
    assert!(e.contains(opt::PASSWORD.env), "{e}");
}

#[test]
fn an_empty_user_name_is_refused() {
    let e = error(&client(&["--mqtt-username", ""]));
    assert!(e.contains("--mqtt-username"), "{e}");
}

#[test]
fn the_password_never_appears_in_debug_output() {
    let (config, _) = run(&client(&[
        "--mqtt-username",
        "alice",
        "--mqtt-password",
        "s3cret",
    ]));
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn parse_errors_never_echo_a_password() {
    for args in [
        &["--mqtt-password", "first", "--mqtt-password", "S3CRET"][..],
        &["--mqtt-passwrd=S3CRET"],
        &["--mqtt-password=S3CRET", "--bogus"],
    ] {
        let mut all = client(&["--mqtt-username", "alice"]);
        all.extend_from_slice(args);
        let e = error(&all);
        assert!(!e.contains("S3CRET"), "{e}");
    }
}

#[test]
fn an_empty_password_is_refused() {
    let e = error(&client(&[
        "--mqtt-username",
        "alice",
        "--mqtt-password",
        "",
    ]));
    assert!(e.contains("must not be empty"), "{e}");
}
