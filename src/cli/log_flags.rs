//! How much the program logs, and whether its lines carry timestamps: from
//! `-q`, `-v`/`-d` (repeatable), `--no-timestamps` and their environment
//! variables (for service files), before anything is logged.

use log::LevelFilter;

use super::{CliError, Given};

/// Environment variable for the level: `quiet` (warnings and errors),
/// `info`, `debug`, `trace` (also `error`, `warn`).
pub const ENV_LOG_LEVEL: &str = "MQTT_FORWARD_LOG_LEVEL";
/// Environment variable for timestamps: `on` or `off` (also `1`/`0`,
/// `yes`/`no`, `true`/`false`).
pub const ENV_LOG_TIMESTAMPS: &str = "MQTT_FORWARD_LOG_TIMESTAMPS";
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
pub fn settings(
    flags: &LogFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(LevelFilter, bool), CliError> {
    let louder = flags.verbose.saturating_add(u8::from(flags.debug));
    if flags.quiet && louder > 0 {
        return Err(CliError::new(
            "-q/--quiet and -v/-d cannot be used together",
        ));
    }
    let level = if flags.quiet {
        LevelFilter::Warn
    } else if louder > 0 {
        if louder == 1 {
            LevelFilter::Debug
        } else {
            LevelFilter::Trace
        }
    } else if let Some(value) = env(ENV_LOG_LEVEL).filter(|v| !v.is_empty()) {
        let given = Given {
            value,
            source: ENV_LOG_LEVEL,
        };
        match given.value.to_ascii_lowercase().as_str() {
            "quiet" | "warn" | "warning" => LevelFilter::Warn,
            "error" => LevelFilter::Error,
            "info" => LevelFilter::Info,
            "debug" => LevelFilter::Debug,
            "trace" => LevelFilter::Trace,
            _ => {
                return Err(super::invalid(
                    &given,
                    "must be quiet, info, debug or trace (or error, warn)",
                ))
            }
        }
    } else if flags.stdio {
        // ssh shows a ProxyCommand's stderr: only the one line that says
        // why the session failed.
        LevelFilter::Error
    } else {
        LevelFilter::Info
    };
    let timestamps = if flags.no_timestamps {
        false
    } else if let Some(value) = env(ENV_LOG_TIMESTAMPS).filter(|v| !v.is_empty()) {
        let given = Given {
            value,
            source: ENV_LOG_TIMESTAMPS,
        };
        match given.value.to_ascii_lowercase().as_str() {
            "on" | "1" | "yes" | "true" => true,
            "off" | "0" | "no" | "false" => false,
            _ => return Err(super::invalid(&given, "must be on or off")),
        }
    } else {
        env(JOURNAL_STREAM).is_none_or(|v| v.is_empty())
    };
    Ok((level, timestamps))
}
