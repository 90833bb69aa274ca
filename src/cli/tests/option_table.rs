//! The option table agrees with argh's `Args` struct, and every entry is
//! well-formed.

use super::*;
use std::collections::HashSet;

use super::opt::{HELP, OPTIONS};
use crate::cli::opt::Opt;

/// Whether argh accepts `argv`.
fn argh_accepts(argv: &[&str]) -> bool {
    Args::from_args(&["mqtt-forward"], argv).is_ok()
}

/// What argh takes for `-l`'s pattern (the one argument that follows no
/// option) in `argv`, if it accepts it.
fn argh_pattern(argv: &[&str]) -> Option<String> {
    Args::from_args(&["mqtt-forward"], argv).ok()?.pattern
}

/// The short form of `opt` as an argument (`-p`).
fn short_arg(opt: &Opt) -> Option<String> {
    opt.short.map(|letter| format!("-{letter}"))
}

#[test]
fn every_flag_of_the_table_is_one_argh_parses_taking_a_value_or_not_as_the_table_says() {
    for opt in OPTIONS.iter().filter(|opt| opt.long != HELP.long) {
        let forms: Vec<String> = [Some(opt.long.to_owned()), short_arg(opt)]
            .into_iter()
            .flatten()
            .collect();
        for form in &forms {
            if opt.takes_value() {
                assert!(argh_accepts(&[form, "x"]), "{form} x");
                assert!(!argh_accepts(&[form]), "{form} without a value");
            } else {
                assert!(argh_accepts(&[form]), "{form}");
                // The next argument is -l's pattern, not the switch's value.
                assert_eq!(argh_pattern(&[form, "x"]).as_deref(), Some("x"), "{form}");
            }
        }
    }
}

#[test]
fn every_flag_argh_knows_is_in_the_table_and_no_other() {
    let argh_help = match Args::from_args(&["mqtt-forward"], &["--help"]) {
        Err(early) => early.output,
        Ok(_) => panic!("--help parsed"),
    };
    let argh_flags: HashSet<&str> = argh_help
        .split_whitespace()
        .map(|word| word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-')))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .collect();
    let table: HashSet<&str> = OPTIONS.iter().map(|opt| opt.long).collect();
    assert_eq!(argh_flags, table);
}

#[test]
fn flags_letters_and_variables_are_each_named_once() {
    let mut longs = HashSet::new();
    let mut shorts = HashSet::new();
    let mut vars = HashSet::new();
    for opt in OPTIONS {
        assert!(longs.insert(opt.long), "{} twice", opt.long);
        assert!(
            opt.short.is_none_or(|c| shorts.insert(c)),
            "{} twice",
            opt.long
        );
        if !opt.env.is_empty() {
            assert!(vars.insert(opt.env), "{} twice", opt.env);
            assert!(opt.env.starts_with("MQTT_FORWARD_"), "{}", opt.env);
        }
        assert!(
            opt.env_note.is_empty() || !opt.env.is_empty(),
            "{}",
            opt.long
        );
    }
    assert_eq!(vars.len(), ENV_VARS.len());
}

#[test]
fn every_flag_has_a_help_row_that_fits_beside_its_variable() {
    for opt in OPTIONS {
        assert!(!opt.help.is_empty(), "{} has no help", opt.long);
        for (_, text) in opt.help {
            let first = text.split('\n').next().unwrap_or_default();
            assert!(
                opt.env.is_empty() || first.len() <= 32,
                "{}: '{first}' runs into the variable column",
                opt.long
            );
        }
    }
}
