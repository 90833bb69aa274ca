//! Log levels and timestamps.

use super::*;

#[test]
fn log_levels_come_from_q_v_vv_d_or_the_environment() {
    use log::LevelFilter;
    let level =
        |args: &[&str], env: &[(&str, &str)]| run_with(&client(args), &env_of(env)).0.log_level;
    assert_eq!(level(&[], &[]), LevelFilter::Info);
    assert_eq!(level(&["-q"], &[]), LevelFilter::Warn);
    assert_eq!(level(&["-v"], &[]), LevelFilter::Debug);
    assert_eq!(level(&["-d"], &[]), LevelFilter::Debug);
    assert_eq!(level(&["-vv"], &[]), LevelFilter::Trace);
    assert_eq!(level(&["-v", "-v"], &[]), LevelFilter::Trace);
    assert_eq!(level(&["-dv"], &[]), LevelFilter::Trace);
    assert_eq!(level(&[], &[(opt::QUIET.env, "quiet")]), LevelFilter::Warn);
    assert_eq!(level(&[], &[(opt::QUIET.env, "TRACE")]), LevelFilter::Trace);
    assert_eq!(
        level(&["-v"], &[(opt::QUIET.env, "quiet")]),
        LevelFilter::Debug
    );
    let e = error(&client(&["-q", "-v"]));
    assert!(e.contains("cannot be used together"), "{e}");
    let e = error_with(&client(&[]), &env_of(&[(opt::QUIET.env, "loud")]));
    assert!(e.contains(opt::QUIET.env) && e.contains("loud"), "{e}");
}

#[test]
fn timestamps_are_on_unless_turned_off_or_under_the_journal() {
    let ts =
        |args: &[&str], env: &[(&str, &str)]| run_with(&client(args), &env_of(env)).0.timestamps;
    assert!(ts(&[], &[]));
    assert!(!ts(&["--no-timestamps"], &[]));
    assert!(!ts(&[], &[(opt::NO_TIMESTAMPS.env, "off")]));
    assert!(ts(
        &[],
        &[(opt::NO_TIMESTAMPS.env, "on"), ("JOURNAL_STREAM", "8:123")]
    ));
    assert!(!ts(&[], &[("JOURNAL_STREAM", "8:123")]));
    let e = error_with(&client(&[]), &env_of(&[(opt::NO_TIMESTAMPS.env, "maybe")]));
    assert!(e.contains(opt::NO_TIMESTAMPS.env), "{e}");
}
