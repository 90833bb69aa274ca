//! The three modes (server side, client side, listing): which one the flags
//! select, its settings, and the flags it ignores (warnings, as the C
//! original gave).

use std::fmt;

use super::args::Switches;
use super::build::{Numbers, Values};
use super::env::{Given, Source};
use super::log_flags::LogFlags;
use super::options::{BEACON, JSON, WATCH};
use super::CliError;
use crate::config::Mode;

/// `-p` default: SSH.
const DEFAULT_PORT: u16 = 22;
/// `-a` default, in server mode (target) and client mode (listener).
const DEFAULT_ADDR: &str = "127.0.0.1";
/// Random client ids are this prefix followed by 12 lowercase hex digits.
const CLIENT_ID_PREFIX: &str = "mqtt-forward-";
/// Random bytes in a generated client id (two hex digits each).
const CLIENT_ID_RANDOM_BYTES: usize = 6;

/// The modes that cannot be combined.
pub fn check_exclusive(args: &Switches) -> Result<(), CliError> {
    if args.server && args.list_servers {
        return Err(CliError::new(
            "-s/--server and -l/--list-servers cannot be used together",
        ));
    }
    if args.stdio && (args.server || args.list_servers) {
        return Err(CliError::new(
            "--stdio is for the client side (ssh -o ProxyCommand): not with -s or -l",
        ));
    }
    Ok(())
}

/// An argument that follows no option is `-l`'s pattern; in any other mode
/// it is a mistake (a value whose option is missing).
pub fn check_pattern(args: &Switches, pattern: Option<&str>) -> Result<(), CliError> {
    match pattern {
        Some(arg) if !args.list_servers => Err(CliError::new(format!(
            "unexpected argument '{}' (every value follows its option; only -l takes a \
             pattern); see --help",
            super::quote::shown(arg)
        ))),
        _ => Ok(()),
    }
}

/// `<what> is not applicable <context>; ignored`.
fn not_applicable(what: impl fmt::Display, context: &str) -> String {
    format!("{what} is not applicable {context}; ignored")
}

/// A warning for each of `given` that was given.
fn ignored<'a>(
    warnings: &mut Vec<String>,
    given: impl IntoIterator<Item = &'a Option<Given>>,
    context: &str,
) {
    for given in given.into_iter().flatten() {
        warnings.push(not_applicable(given.source, context));
    }
}

/// A warning for each of `--watch` and `--json` that was given.
fn ignored_list_switches(args: &Switches, warnings: &mut Vec<String>) {
    if args.watch {
        warnings.push(not_applicable(WATCH.long, "without -l/--list-servers"));
    }
    if args.json {
        warnings.push(not_applicable(JSON.long, "without -l/--list-servers"));
    }
}

/// A warning for `-b` outside server mode.
fn ignored_beacon(args: &Switches, warnings: &mut Vec<String>) {
    if args.beacon {
        warnings.push(not_applicable(
            const { Source::flag(&BEACON) },
            "without -s/--server",
        ));
    }
}

/// The mode the flags select, with its settings; the flags it ignores are
/// added to `warnings`.
pub fn mode(
    args: &Switches,
    values: &mut Values,
    numbers: &mut Numbers,
    warnings: &mut Vec<String>,
) -> Mode {
    if !args.server {
        if let Some(source) = values.allow_remote.1 {
            warnings.push(not_applicable(source, "without -s/--server"));
        }
    }
    if args.server {
        server(args, values, numbers, warnings)
    } else if args.list_servers {
        list(args, values, warnings)
    } else {
        client(args, values, numbers, warnings)
    }
}

/// Server mode: the target and the rules for other targets.
fn server(
    args: &Switches,
    values: &mut Values,
    numbers: &mut Numbers,
    warnings: &mut Vec<String>,
) -> Mode {
    ignored(
        warnings,
        [&values.remote_ip, &values.remote_port],
        "in server mode",
    );
    if values.client_id.is_some() {
        warnings.push(
            "--client-id is not applicable in server mode (the server side uses its \
             --server-side-id as MQTT client id); ignored"
                .to_owned(),
        );
    }
    ignored_list_switches(args, warnings);
    Mode::Server {
        target_host: numbers
            .host
            .take()
            .unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
        target_port: numbers.port.unwrap_or(DEFAULT_PORT),
        beacon: args.beacon,
        allow_remote: std::mem::take(&mut values.allow_remote.0),
    }
}

/// List mode: no target, no listener.
fn list(args: &Switches, values: &mut Values, warnings: &mut Vec<String>) -> Mode {
    ignored(
        warnings,
        [
            &values.port,
            &values.addr,
            &values.remote_ip,
            &values.remote_port,
        ],
        "in list mode",
    );
    ignored_beacon(args, warnings);
    Mode::ListServers {
        watch: args.watch,
        json: args.json,
        pattern: values.pattern.take(),
    }
}

/// Client mode: the listener (or stdin and stdout), and the target asked
/// for.
fn client(
    args: &Switches,
    values: &Values,
    numbers: &mut Numbers,
    warnings: &mut Vec<String>,
) -> Mode {
    ignored_beacon(args, warnings);
    ignored_list_switches(args, warnings);
    if args.stdio {
        ignored(
            warnings,
            [&values.port, &values.addr],
            "with --stdio (no listener)",
        );
    }
    Mode::Client {
        listen_host: numbers
            .host
            .take()
            .unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
        listen_port: numbers.port.unwrap_or(DEFAULT_PORT),
        remote_ip: numbers.remote_ip,
        remote_port: numbers.remote_port,
        stdio: args.stdio,
    }
}

/// The MQTT client id: the server-side id in server mode, else the one
/// given, else a random one.
pub fn client_id(
    mode: &Mode,
    given: Option<Given>,
    server_side_id: &str,
) -> Result<String, CliError> {
    match (mode, given) {
        (Mode::Server { .. }, _) => Ok(server_side_id.to_owned()),
        (_, Some(given)) => Ok(given.value),
        (_, None) => random_client_id(),
    }
}

/// `mqtt-forward-` followed by 12 lowercase hex digits from the OS RNG.
pub fn random_client_id() -> Result<String, CliError> {
    let mut bytes = [0u8; CLIENT_ID_RANDOM_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        CliError::new(format!(
            "cannot generate a random MQTT client id ({e}); give --client-id"
        ))
    })?;
    let mut id = String::with_capacity(CLIENT_ID_PREFIX.len() + 2 * bytes.len());
    id.push_str(CLIENT_ID_PREFIX);
    for byte in bytes {
        id.push_str(&format!("{byte:02x}"));
    }
    Ok(id)
}

/// The modes this build leaves out (the router build has no `--stdio` and
/// no `-l`).
pub fn check_built(mode: &Mode) -> Result<(), CliError> {
    if matches!(mode, Mode::Client { stdio: true, .. }) && !cfg!(feature = "stdio") {
        return Err(CliError::new(
            "this build has no --stdio (built without the stdio feature, as the router build \
             is): use the full build on the machine that runs ssh",
        ));
    }
    if matches!(mode, Mode::ListServers { .. }) && !cfg!(feature = "list") {
        return Err(CliError::new(
            "this build has no -l/--list-servers (built without the list feature, as the \
             router build is): list the server sides with the full build",
        ));
    }
    Ok(())
}

/// The logging flags of `args` in `mode`.
#[must_use]
pub fn log_flags(args: &Switches, mode: &Mode) -> LogFlags {
    LogFlags {
        debug: args.debug,
        verbose: args.verbose,
        quiet: args.quiet,
        no_timestamps: args.no_timestamps,
        stdio: matches!(mode, Mode::Client { stdio: true, .. }),
    }
}
