//! How much the program logs, and whether its lines carry timestamps: from
//! `-q`, `-v`/`-d` (repeatable), `--no-timestamps` and their environment
//! variables (for service files), before anything is logged.

use log::LevelFilter;

use super::checks::invalid;
use super::env::{variable, Env};
use super::options::{NO_TIMESTAMPS, QUIET};
use super::CliError;

/// Set by systemd when stderr goes to the journal, which adds its own time.
const JOURNAL_STREAM: &str = "JOURNAL_STREAM";

/// The logging flags as given.
pub struct LogFlags {
    /// `-d` (the C original's flag: as `-v`).
    pub debug: bool,
    /// `-v` occurrences.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// `--no-timestamps`.
    pub no_timestamps: bool,
    /// `--stdio`: quiet unless asked (ssh shows a ProxyCommand's stderr).
    pub stdio: bool,
}

/// The level and the timestamps setting.
pub fn settings(flags: &LogFlags, env: Env<'_>) -> Result<(LevelFilter, bool), CliError> {
    let level = level(flags, env)?;
    Ok((level, timestamps(flags, env)?))
}

/// The level: the flags, else the variable, else the default (errors only
/// under `--stdio`).
fn level(flags: &LogFlags, env: Env<'_>) -> Result<LevelFilter, CliError> {
    let louder = flags.verbose.saturating_add(u8::from(flags.debug));
    if flags.quiet && louder > 0 {
        return Err(CliError::new(
            "-q/--quiet and -v/-d cannot be used together",
        ));
    }
    if flags.quiet {
        return Ok(LevelFilter::Warn);
    }
    if louder > 0 {
        return Ok(if louder == 1 {
            LevelFilter::Debug
        } else {
            LevelFilter::Trace
        });
    }
    if let Some(given) = variable(env, QUIET.env) {
        return match given.value.to_ascii_lowercase().as_str() {
            "quiet" | "warn" | "warning" => Ok(LevelFilter::Warn),
            "error" => Ok(LevelFilter::Error),
            "info" => Ok(LevelFilter::Info),
            "debug" => Ok(LevelFilter::Debug),
            "trace" => Ok(LevelFilter::Trace),
            _ => Err(invalid(
                &given,
                "must be quiet, info, debug or trace (or error, warn)",
            )),
        };
    }
    // ssh shows a ProxyCommand's stderr: only the one line that says why the
    // session failed.
    Ok(if flags.stdio {
        LevelFilter::Error
    } else {
        LevelFilter::Info
    })
}

/// Timestamps: off with the flag, else as the variable says, else on unless
/// under the journal.
fn timestamps(flags: &LogFlags, env: Env<'_>) -> Result<bool, CliError> {
    if flags.no_timestamps {
        return Ok(false);
    }
    match variable(env, NO_TIMESTAMPS.env) {
        Some(given) => match given.value.to_ascii_lowercase().as_str() {
            "on" | "1" | "yes" | "true" => Ok(true),
            "off" | "0" | "no" | "false" => Ok(false),
            _ => Err(invalid(&given, "must be on or off")),
        },
        None => Ok(env(JOURNAL_STREAM).is_none_or(|v| v.is_empty())),
    }
}
