//! The server side's --allow-remote rules.

use super::*;

#[test]
fn allow_remote_rules_come_from_repeated_flags_or_the_environment() {
    let (config, warnings) = run(&server(&[
        "--allow-remote",
        "10.0.0.0/8:22",
        "--allow-remote",
        "192.168.1.5:*",
    ]));
    assert!(warnings.is_empty(), "{warnings:?}");
    let Mode::Server { allow_remote, .. } = &config.mode else {
        panic!("server mode")
    };
    assert_eq!(allow_remote.to_string(), "10.0.0.0/8:22, 192.168.1.5:*");
    let env = env_of(&[(opt::ALLOW_REMOTE.env, "10.1.2.3:80, 10.1.2.4:81 10.1.2.5:*")]);
    let (config, _) = run_with(&server(&[]), &env);
    let Mode::Server { allow_remote, .. } = &config.mode else {
        panic!("server mode")
    };
    assert_eq!(
        allow_remote.to_string(),
        "10.1.2.3:80, 10.1.2.4:81, 10.1.2.5:*"
    );
    // Flags override the variable.
    let (config, _) = run_with(&server(&["--allow-remote", "10.9.9.9:9"]), &env);
    let Mode::Server { allow_remote, .. } = &config.mode else {
        panic!("server mode")
    };
    assert_eq!(allow_remote.to_string(), "10.9.9.9:9");
}

#[test]
fn a_malformed_allow_remote_rule_is_a_usage_error_naming_its_source() {
    let e = error(&server(&["--allow-remote", "10.0.0.1"]));
    assert!(e.contains("--allow-remote '10.0.0.1'"), "{e}");
    assert!(e.contains("HOST:PORT"), "{e}");
    let env = env_of(&[(opt::ALLOW_REMOTE.env, "10.0.0.0/40:22")]);
    let e = error_with(&server(&[]), &env);
    assert!(e.contains(opt::ALLOW_REMOTE.env), "{e}");
    assert!(e.contains("prefix"), "{e}");
}
