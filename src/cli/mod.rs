//! Command-line and environment parsing: turns `argv` and the `MQTT_FORWARD_*`
//! environment variables into a validated [`Config`], before any network
//! activity.
//!
//! Every flag is described once, in the option table ([`options`]): the
//! getopt rewriting, the environment fallback, [`ENV_VARS`] and the help
//! text come from it. The flag names are those of the C original (which used
//! `getopt_long`), so its getopt spellings keep working too: `--name=value`,
//! `-p2222` and bundled switches such as `-ds` are rewritten into the
//! separate-argument form that `argh` parses.
//!
//! Every problem is reported as a [`CliError`] whose `Display` is one line
//! naming the flag (or environment variable) and the offending value; the
//! process should exit with [`CliError::exit_code`] (2). Flags that do not
//! apply to the selected mode are not errors: they are ignored and reported
//! as warnings, as the C original did.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};

use argh::FromArgs;

mod args;
mod broker_hosts;
mod build;
mod checks;
mod env;
mod files;
mod given;
mod help;
mod host;
mod log_flags;
mod modes;
mod opt;
mod option_lists;
pub mod options;
mod profile;
mod quote;

pub use option_lists::ENV_VARS;

use crate::config::Config;
use args::{normalize_args, Args};
use env::Env;
use quote::{one_line, redact_passwords};

/// Exit status for every command-line or environment error.
pub const EXIT_USAGE: i32 = 2;

/// Outcome of parsing: either run with a config, or exit now (help/version printed).
// Built once per process, so the size difference between the variants is
// irrelevant; boxing would only complicate the API.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Run with this configuration; log each warning (flags that were ignored
    /// because they do not apply to the selected mode) before starting.
    Run(Config, Vec<String>),
    /// The help or version text has been printed to stdout: exit with this
    /// status (0).
    Exit(i32),
}

/// A command-line or environment error. `Display` is one line without the
/// program name, e.g. `invalid --mqtt-port '70000': must be an integer in 1..65535`;
/// print it as `mqtt-forward: {err}` and exit with [`CliError::exit_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The one-line message.
    message: String,
}

impl CliError {
    /// An error with this message.
    #[must_use]
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The process exit status for this error: always [`EXIT_USAGE`] (2).
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        EXIT_USAGE
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The arguments (without `argv[0]`) as UTF-8. An argument that is not is
/// an error naming its position only: it could be a password.
pub fn utf8_args(args: impl IntoIterator<Item = OsString>) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for (position, arg) in args.into_iter().enumerate() {
        match arg.into_string() {
            Ok(arg) => out.push(arg),
            Err(_) => {
                return Err(CliError::new(format!(
                    "argument #{} is not valid UTF-8",
                    position + 1
                )))
            }
        }
    }
    Ok(out)
}

/// An error for the first of [`ENV_VARS`] that is set but not UTF-8 (it
/// must not count as unset); `var_os` looks a variable up.
pub fn check_env_utf8(var_os: impl Fn(&str) -> Option<OsString>) -> Result<(), CliError> {
    match ENV_VARS
        .into_iter()
        .find(|name| var_os(name).is_some_and(|v| v.to_str().is_none()))
    {
        Some(name) => Err(CliError::new(format!(
            "environment variable {name} is not valid UTF-8"
        ))),
        None => Ok(()),
    }
}

/// Parse `args` (without `argv[0]`) with environment lookup `env` (inject it
/// so tests do not touch the real environment).
///
/// `prog` is the program name shown in the help text. `--help`/`-h` and
/// `--version` print to stdout and return [`Parsed::Exit`]`(0)`; any invalid
/// flag, value or environment variable returns a [`CliError`]. Nothing here
/// touches the network: host names are not resolved. The TLS files are
/// checked to exist and be readable, and a random client id is drawn from the
/// OS when `--client-id` is not given (outside server mode).
pub fn parse(prog: &str, args: &[&str], env: Env<'_>) -> Result<Parsed, CliError> {
    match parse_to_outcome(prog, args, env)? {
        Outcome::Run(config, warnings) => Ok(Parsed::Run(config, warnings)),
        Outcome::Print(text) => {
            print_to_stdout(&text);
            Ok(Parsed::Exit(0))
        }
    }
}

/// [`parse`] without the printing, so tests can inspect the help text.
#[allow(clippy::large_enum_variant)] // see Parsed
#[derive(Debug)]
enum Outcome {
    /// Run with this configuration and these warnings.
    Run(Config, Vec<String>),
    /// Print this text and exit 0.
    Print(String),
}

/// [`parse`], returning the text to print instead of printing it.
fn parse_to_outcome(prog: &str, args: &[&str], env: Env<'_>) -> Result<Outcome, CliError> {
    let normalized = normalize_args(args);
    if normalized.help_requested {
        // getopt prints the help wherever -h appears.
        return Ok(Outcome::Print(help::text(prog)));
    }
    let argv: Vec<&str> = normalized.args.iter().map(String::as_str).collect();
    let parsed = match Args::from_args(&[prog], &argv) {
        Ok(parsed) => parsed,
        Err(early) => {
            return match early.status {
                Ok(()) => Ok(Outcome::Print(early.output)),
                Err(()) => Err(CliError::new(format!(
                    "{}; see --help",
                    redact_passwords(&help::parse_error(&one_line(&early.output)), args)
                ))),
            }
        }
    };
    if parsed.version {
        return Ok(Outcome::Print(VERSION_LINE.to_owned()));
    }
    let (config, warnings) = build::build_config(parsed, env)?;
    Ok(Outcome::Run(config, warnings))
}

/// The `--version` line: the version, and the optional parts this build
/// leaves out (the router feature set), so that a bug report says which
/// binary it is about. Composed when the program is compiled.
const VERSION_LINE: &str = match std::str::from_utf8(&VERSION_BYTES) {
    Ok(line) => line,
    Err(_) => panic!("the version line is not UTF-8"),
};
/// The length of [`VERSION_LINE`].
const VERSION_LEN: usize = version_line(&mut []);
/// The bytes of [`VERSION_LINE`].
const VERSION_BYTES: [u8; VERSION_LEN] = {
    let mut bytes = [0; VERSION_LEN];
    version_line(&mut bytes);
    bytes
};

/// Writes the `--version` line into `buf` (as far as it goes) and returns
/// its length.
const fn version_line(buf: &mut [u8]) -> usize {
    let left_out = [
        ("web-roots", cfg!(feature = "web-roots")),
        ("tls12", cfg!(feature = "tls12")),
        ("timestamps", cfg!(feature = "timestamps")),
        ("list", cfg!(feature = "list")),
        ("stdio", cfg!(feature = "stdio")),
    ];
    let mut out = help::Writer::new(buf);
    out.push(b"mqtt-forward ");
    out.push(env!("CARGO_PKG_VERSION").as_bytes());
    out.push(b" (");
    let commit = env!("MQTT_FORWARD_COMMIT");
    if !commit.is_empty() {
        out.push(commit.as_bytes());
        out.push(b", ");
    }
    out.push(env!("MQTT_FORWARD_TARGET").as_bytes());
    out.push(b")");
    let mut first = true;
    let mut i = 0;
    while i < left_out.len() {
        if !left_out[i].1 {
            out.push(if first { b" (built without " } else { b", " });
            out.push(left_out[i].0.as_bytes());
            first = false;
        }
        i += 1;
    }
    if !first {
        out.push(b")");
    }
    out.push(b"\n");
    out.len()
}

/// Writes help or version text; a closed or full stdout is not worth a panic.
fn print_to_stdout(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests;
