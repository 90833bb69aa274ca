//! Command-line and environment parsing: turns `argv` and the `MQTT_FORWARD_*`
//! environment variables into a validated [`Config`], before any network
//! activity.
//!
//! The flag names are those of the C original (which used `getopt_long`), so
//! its getopt spellings keep working too: `--name=value`, `-p2222` and
//! bundled switches such as `-ds` are rewritten into the separate-argument
//! form that `argh` parses.
//!
//! Every problem is reported as a [`CliError`] whose `Display` is one line
//! naming the flag (or environment variable) and the offending value; the
//! process should exit with [`CliError::exit_code`] (2). Flags that do not
//! apply to the selected mode are not errors: they are ignored and reported
//! as warnings, as the C original did.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use argh::FromArgs;

mod help;
mod host;
mod log_flags;
pub use log_flags::{ENV_LOG_LEVEL, ENV_LOG_TIMESTAMPS};

use crate::config::{BrokerConfig, Config, Mode, Secret, TlsFiles, Tuning};
use crate::protocol::limits::{
    DEFAULT_FRAME_DATA, DEFAULT_MAX_BUFFER_MIB, DEFAULT_MAX_SESSIONS, DEFAULT_PEER_TIMEOUT,
    DEFAULT_WINDOW, MAX_FRAME_DATA, MAX_MAX_BUFFER_MIB, MAX_MAX_SESSIONS, MAX_TOPIC_LEVEL_LEN,
    MAX_WINDOW, MIN_FRAME_DATA, MIN_WINDOW,
};
use crate::secure::psk::Psk;
use crate::targets::{AllowList, AllowRule};

/// Environment variable for `--mqtt-host`.
pub const ENV_MQTT_HOST: &str = "MQTT_FORWARD_MQTT_HOST";
/// Environment variable for `--mqtt-root-ca` (setting it implies TLS).
pub const ENV_ROOT_CA: &str = "MQTT_FORWARD_ROOT_CA";
/// Environment variable for `--mqtt-certificate` (setting it implies TLS).
pub const ENV_CERTIFICATE: &str = "MQTT_FORWARD_CERTIFICATE";
/// Environment variable for `--mqtt-private-key` (setting it implies TLS).
pub const ENV_PRIVATE_KEY: &str = "MQTT_FORWARD_PRIVATE_KEY";
/// Environment variable for `--mqtt-username`.
pub const ENV_USERNAME: &str = "MQTT_FORWARD_MQTT_USERNAME";
/// Environment variable for `--mqtt-password` (preferred over the flag,
/// which other users can read in the process list).
pub const ENV_PASSWORD: &str = "MQTT_FORWARD_MQTT_PASSWORD";
/// Environment variable for `--mqtt-topic-prefix`.
pub const ENV_TOPIC_PREFIX: &str = "MQTT_FORWARD_TOPIC_PREFIX";
/// Environment variable for `--remote-ip`.
pub const ENV_REMOTE_IP: &str = "MQTT_FORWARD_REMOTE_IP";
/// Environment variable for `--remote-port`.
pub const ENV_REMOTE_PORT: &str = "MQTT_FORWARD_REMOTE_PORT";
/// Environment variable for `--allow-remote` (rules separated by commas or
/// spaces).
pub const ENV_ALLOW_REMOTE: &str = "MQTT_FORWARD_ALLOW_REMOTE";
/// Environment variable for `--psk-file`.
pub const ENV_PSK_FILE: &str = "MQTT_FORWARD_PSK_FILE";
/// Environment variable for `--mqtt-port`.
pub const ENV_MQTT_PORT: &str = "MQTT_FORWARD_MQTT_PORT";
/// Environment variable for `--mqtt-qos`.
pub const ENV_MQTT_QOS: &str = "MQTT_FORWARD_MQTT_QOS";
/// Environment variable for `--client-id`.
pub const ENV_CLIENT_ID: &str = "MQTT_FORWARD_CLIENT_ID";
/// Environment variable for `-p`/`--port`.
pub const ENV_PORT: &str = "MQTT_FORWARD_PORT";
/// Environment variable for `-a`/`--addr`.
pub const ENV_ADDR: &str = "MQTT_FORWARD_ADDR";
/// Environment variable for `--window`.
pub const ENV_WINDOW: &str = "MQTT_FORWARD_WINDOW";
/// Environment variable for `--frame-size`.
pub const ENV_FRAME_SIZE: &str = "MQTT_FORWARD_FRAME_SIZE";
/// Environment variable for `--peer-timeout`.
pub const ENV_PEER_TIMEOUT: &str = "MQTT_FORWARD_PEER_TIMEOUT";
/// Environment variable for `--max-sessions`.
pub const ENV_MAX_SESSIONS: &str = "MQTT_FORWARD_MAX_SESSIONS";
/// Environment variable for `--max-buffer-memory`.
pub const ENV_MAX_BUFFER_MEMORY: &str = "MQTT_FORWARD_MAX_BUFFER_MEMORY";
/// Environment variable for `--server-side-id`.
pub const ENV_SERVER_ID: &str = "MQTT_FORWARD_SERVER_ID";

/// Every environment variable the program reads.
pub const ENV_VARS: &[&str] = &[
    ENV_MQTT_HOST,
    ENV_ROOT_CA,
    ENV_CERTIFICATE,
    ENV_PRIVATE_KEY,
    ENV_USERNAME,
    ENV_PASSWORD,
    ENV_TOPIC_PREFIX,
    ENV_REMOTE_IP,
    ENV_REMOTE_PORT,
    ENV_SERVER_ID,
    ENV_ALLOW_REMOTE,
    ENV_PSK_FILE,
    ENV_MQTT_PORT,
    ENV_MQTT_QOS,
    ENV_CLIENT_ID,
    ENV_PORT,
    ENV_ADDR,
    ENV_WINDOW,
    ENV_FRAME_SIZE,
    ENV_PEER_TIMEOUT,
    ENV_MAX_SESSIONS,
    ENV_MAX_BUFFER_MEMORY,
    log_flags::ENV_LOG_LEVEL,
    log_flags::ENV_LOG_TIMESTAMPS,
];

/// Exit status for every command-line or environment error.
pub const EXIT_USAGE: i32 = 2;

/// `-p` default: SSH.
const DEFAULT_PORT: u16 = 22;
/// `-a` default, in server mode (target) and client mode (listener).
const DEFAULT_ADDR: &str = "127.0.0.1";
/// `--mqtt-port` default without TLS.
const DEFAULT_MQTT_PORT: u16 = 1883;
/// `--mqtt-port` default with TLS.
const DEFAULT_MQTT_TLS_PORT: u16 = 8883;
/// `--mqtt-qos` default (the C original's).
const DEFAULT_QOS: u8 = 1;
/// `--mqtt-topic-prefix` default (the C original's).
const DEFAULT_TOPIC_PREFIX: &str = "ssh";
/// Random client ids are this prefix followed by 12 lowercase hex digits.
const CLIENT_ID_PREFIX: &str = "mqtt-forward-";
/// Random bytes in a generated client id (two hex digits each).
const CLIENT_ID_RANDOM_BYTES: usize = 6;
/// Largest `--peer-timeout` in seconds (one day).
const MAX_PEER_TIMEOUT_SECS: u64 = 86_400;
/// An MQTT UTF-8 string (such as the client id) is at most this many bytes.
const MAX_MQTT_STRING_LEN: usize = 65_535;
/// Longest piece of a user-supplied value quoted in an error message.
const MAX_SHOWN_CHARS: usize = 80;

/// Forward TCP connections (typically SSH) between two networks through an
/// MQTT broker.
#[derive(FromArgs, Debug)]
#[argh(help_triggers("-h", "--help"))]
struct Args {
    /// log more: session details (-v), and every frame (-vv); -d is -v
    #[argh(switch, short = 'd')]
    debug: bool,

    /// log more (repeat for every frame)
    #[argh(switch, short = 'v')]
    verbose: u8,

    /// log only warnings and errors
    #[argh(switch, short = 'q')]
    quiet: bool,

    /// no timestamps on log lines (journald and logd add their own; under
    /// systemd they are left out anyway)
    #[argh(switch)]
    no_timestamps: bool,

    /// connect to the broker over TLS (implied by any certificate option)
    #[argh(switch, short = 't')]
    tls: bool,

    /// run on the TCP server side (default: TCP client side)
    #[argh(switch, short = 's')]
    server: bool,

    /// list the server sides that publish beacons
    #[argh(switch, short = 'l')]
    list_servers: bool,

    /// publish beacons so that clients can list this server side (server mode)
    #[argh(switch, short = 'b')]
    beacon: bool,

    /// TCP port (default 22); server mode: port to connect to, client mode:
    /// local port to listen on
    #[argh(option, short = 'p', arg_name = "port")]
    port: Option<String>,

    /// server mode: address of the TCP server (default 127.0.0.1); client
    /// mode: address to listen on (default 127.0.0.1)
    #[argh(option, short = 'a', arg_name = "address")]
    addr: Option<String>,

    /// TCP port the server side should connect to (client mode; overrides
    /// the server's -p)
    #[argh(option, arg_name = "port")]
    remote_port: Option<String>,

    /// IPv4 address the server side should connect to (client mode;
    /// overrides the server's -a)
    #[argh(option, arg_name = "ipv4")]
    remote_ip: Option<String>,

    /// file with the pre-shared key (64 hex digits: `openssl rand -hex 32`,
    /// mode 600) that authenticates and encrypts every session and beacon;
    /// both sides need the same one
    #[argh(option, arg_name = "path")]
    psk_file: Option<String>,

    /// server mode: also dial this target when a client asks for it with
    /// --remote-ip/--remote-port (repeatable; HOST:PORT, HOST:*, or an IPv4
    /// range such as 192.168.1.0/24:22; default: only -a/-p)
    #[argh(option, arg_name = "target")]
    allow_remote: Vec<String>,

    /// MQTT client id (client and list modes; default: random
    /// mqtt-forward-XXXXXXXXXXXX)
    #[argh(option, arg_name = "id")]
    client_id: Option<String>,

    /// id of the server side; must match on both sides (mandatory except
    /// with -l)
    #[argh(option, arg_name = "id")]
    server_side_id: Option<String>,

    /// host name or address of the MQTT broker (mandatory)
    #[argh(option, arg_name = "host")]
    mqtt_host: Option<String>,

    /// port of the MQTT broker (default 1883, or 8883 with TLS)
    #[argh(option, arg_name = "port")]
    mqtt_port: Option<String>,

    /// PEM file of CAs trusted for the broker (implies TLS; default: the
    /// public web roots)
    #[argh(option, arg_name = "path")]
    mqtt_root_ca: Option<String>,

    /// PEM client certificate for the broker (implies TLS; needs
    /// --mqtt-private-key)
    #[argh(option, arg_name = "path")]
    mqtt_certificate: Option<String>,

    /// PEM private key of --mqtt-certificate (implies TLS)
    #[argh(option, arg_name = "path")]
    mqtt_private_key: Option<String>,

    /// user name for the broker
    #[argh(option, arg_name = "name")]
    mqtt_username: Option<String>,

    /// password for the broker (visible in the process list: prefer
    /// MQTT_FORWARD_MQTT_PASSWORD)
    #[argh(option, arg_name = "password")]
    mqtt_password: Option<String>,

    /// MQTT QoS for every publish and subscribe: 0, 1 or 2 (default 1)
    #[argh(option, arg_name = "qos")]
    mqtt_qos: Option<String>,

    /// first MQTT topic level (default ssh)
    #[argh(option, arg_name = "prefix")]
    mqtt_topic_prefix: Option<String>,

    /// client mode: no listener; tunnel one connection over stdin and stdout
    /// and exit when it ends (for ssh -o ProxyCommand)
    #[argh(switch)]
    stdio: bool,

    /// with -l: keep listing instead of printing once
    #[argh(switch)]
    watch: bool,

    /// with -l: one JSON object per server and line
    #[argh(switch)]
    json: bool,

    /// frames in flight per session and direction (default 32, 2..4096)
    #[argh(option, arg_name = "frames")]
    window: Option<String>,

    /// stream bytes per frame toward peers running this program (default
    /// 32768, 256..65536)
    #[argh(option, arg_name = "bytes")]
    frame_size: Option<String>,

    /// close a session whose peer has been silent this long (default 180,
    /// 1..86400)
    #[argh(option, arg_name = "seconds")]
    peer_timeout: Option<String>,

    /// most sessions served (server) or connections accepted (client) at
    /// once (default 1024, 1..65536)
    #[argh(option, arg_name = "count")]
    max_sessions: Option<String>,

    /// mebibytes of frame buffers all sessions together may hold per direction,
    /// shared equally (default 32, 1..4096)
    #[argh(option, arg_name = "mib")]
    max_buffer_memory: Option<String>,

    /// print the version (with the commit and target it was built for) and
    /// exit
    #[argh(switch, short = 'V')]
    version: bool,
}

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
    message: String,
}

impl CliError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The process exit status for this error: always [`EXIT_USAGE`] (2).
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

/// Parse `args` (without `argv[0]`) with environment lookup `env` (inject it
/// so tests do not touch the real environment).
///
/// `prog` is the program name shown in the help text. `--help`/`-h` and
/// `--version` print to stdout and return [`Parsed::Exit`]`(0)`; any invalid
/// flag, value or environment variable returns a [`CliError`]. Nothing here
/// touches the network: host names are not resolved. The TLS files are
/// checked to exist and be readable, and a random client id is drawn from the
/// OS when `--client-id` is not given (outside server mode).
pub fn parse(
    prog: &str,
    args: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed, CliError> {
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
    Run(Config, Vec<String>),
    Print(String),
}

fn parse_to_outcome(
    prog: &str,
    args: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Outcome, CliError> {
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
        return Ok(Outcome::Print(version_line()));
    }
    let (config, warnings) = build_config(parsed, env)?;
    Ok(Outcome::Run(config, warnings))
}

/// The `--version` line: the version, and the optional parts this build
/// leaves out (the router feature set), so that a bug report says which
/// binary it is about.
fn version_line() -> String {
    let left_out: Vec<&str> = [
        ("web-roots", cfg!(feature = "web-roots")),
        ("tls12", cfg!(feature = "tls12")),
        ("timestamps", cfg!(feature = "timestamps")),
        ("list", cfg!(feature = "list")),
        ("stdio", cfg!(feature = "stdio")),
    ]
    .into_iter()
    .filter_map(|(name, built)| (!built).then_some(name))
    .collect();
    let mut line = format!("mqtt-forward {} (", env!("CARGO_PKG_VERSION"));
    let commit = env!("MQTT_FORWARD_COMMIT");
    if !commit.is_empty() {
        line.push_str(commit);
        line.push_str(", ");
    }
    line.push_str(env!("MQTT_FORWARD_TARGET"));
    line.push(')');
    if !left_out.is_empty() {
        line.push_str(&format!(" (built without {})", left_out.join(", ")));
    }
    line.push('\n');
    line
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

// ---------------------------------------------------------------------------
// getopt compatibility

/// Single-letter switches (no value), as in the C original's `"hdtslba:p:"`.
const SHORT_SWITCHES: &[char] = &['h', 'd', 't', 's', 'l', 'b', 'V', 'v', 'q'];
/// Single-letter options that take a value.
const SHORT_VALUED: &[char] = &['a', 'p'];
/// Long options that take a value (must match the `option` fields of [`Args`]).
const LONG_VALUED: &[&str] = &[
    "--port",
    "--addr",
    "--remote-port",
    "--remote-ip",
    "--allow-remote",
    "--psk-file",
    "--client-id",
    "--server-side-id",
    "--mqtt-host",
    "--mqtt-port",
    "--mqtt-root-ca",
    "--mqtt-certificate",
    "--mqtt-private-key",
    "--mqtt-username",
    "--mqtt-password",
    "--mqtt-qos",
    "--mqtt-topic-prefix",
    "--window",
    "--frame-size",
    "--peer-timeout",
    "--max-sessions",
    "--max-buffer-memory",
];
/// Arguments that ask for the help text.
const HELP_TRIGGERS: &[&str] = &["-h", "--help"];

/// Arguments rewritten for argh.
struct Normalized {
    args: Vec<String>,
    /// `-h` or `--help` appeared where an option may appear.
    help_requested: bool,
}

/// Rewrites getopt spellings argh does not know into separate arguments:
/// `--name=value` (for options that take a value), `-p2222`, and bundled
/// short switches such as `-dsp 2222`. The value of an option is passed on
/// verbatim even if it starts with `-`, as both getopt and argh do. Anything
/// not recognised is passed on unchanged for argh to report.
fn normalize_args(args: &[&str]) -> Normalized {
    let mut out = Vec::with_capacity(args.len() + 4);
    let mut help_requested = false;
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        if arg == "--" {
            out.push(arg.to_owned());
            out.extend(rest.by_ref().map(|a| (*a).to_owned()));
            break;
        }
        if HELP_TRIGGERS.contains(&arg) {
            help_requested = true;
            out.push(arg.to_owned());
            continue;
        }
        if arg.starts_with("--") {
            if let Some((name, value)) = arg.split_once('=') {
                if LONG_VALUED.contains(&name) {
                    out.push(name.to_owned());
                    out.push(value.to_owned());
                    continue;
                }
            } else if LONG_VALUED.contains(&arg) {
                out.push(arg.to_owned());
                if let Some(&value) = rest.next() {
                    out.push(value.to_owned());
                }
                continue;
            }
            out.push(arg.to_owned());
            continue;
        }
        if let Some(cluster) = arg.strip_prefix('-') {
            if let Some(expanded) = expand_short_cluster(cluster) {
                if expanded.help {
                    help_requested = true;
                }
                out.extend(expanded.args);
                if expanded.needs_value {
                    if let Some(&value) = rest.next() {
                        out.push(value.to_owned());
                    }
                }
                continue;
            }
        }
        out.push(arg.to_owned());
    }
    Normalized {
        args: out,
        help_requested,
    }
}

/// A getopt short-option cluster split into separate arguments.
struct ShortCluster {
    args: Vec<String>,
    /// The cluster ends with an option whose value is the next argument.
    needs_value: bool,
    help: bool,
}

/// Splits `dsp2222` (the part after `-`) into `-d -s -p 2222`; `None` if the
/// cluster is empty or holds an unknown letter before any valued option.
fn expand_short_cluster(cluster: &str) -> Option<ShortCluster> {
    if cluster.is_empty() {
        return None;
    }
    let mut expanded = ShortCluster {
        args: Vec::new(),
        needs_value: false,
        help: false,
    };
    for (index, letter) in cluster.char_indices() {
        if SHORT_SWITCHES.contains(&letter) {
            expanded.help |= letter == 'h';
            expanded.args.push(format!("-{letter}"));
        } else if SHORT_VALUED.contains(&letter) {
            expanded.args.push(format!("-{letter}"));
            let value = &cluster[index + letter.len_utf8()..];
            if value.is_empty() {
                expanded.needs_value = true;
            } else {
                expanded.args.push(value.to_owned());
            }
            return Some(expanded);
        } else {
            return None;
        }
    }
    Some(expanded)
}

// ---------------------------------------------------------------------------
// Building the configuration

/// A user-supplied value and where it came from (a flag or an environment
/// variable), for error messages and warnings.
#[derive(Debug, Clone)]
struct Given {
    value: String,
    source: &'static str,
}

/// The flag's value if given, else the environment variable's if set and
/// not empty.
fn pick(
    flag: Option<String>,
    flag_name: &'static str,
    env: &dyn Fn(&str) -> Option<String>,
    env_name: &'static str,
) -> Option<Given> {
    match flag {
        Some(value) => Some(Given {
            value,
            source: flag_name,
        }),
        None => env(env_name)
            .filter(|value| !value.is_empty())
            .map(|value| Given {
                value,
                source: env_name,
            }),
    }
}

fn build_config(
    args: Args,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<String>), CliError> {
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

    let port = pick(args.port, "-p/--port", env, ENV_PORT);
    let addr = pick(args.addr, "-a/--addr", env, ENV_ADDR);
    let remote_port = pick(args.remote_port, "--remote-port", env, ENV_REMOTE_PORT);
    let remote_ip = pick(args.remote_ip, "--remote-ip", env, ENV_REMOTE_IP);
    let allow_remote = allow_rules(args.allow_remote, env)?;
    let psk_file = pick(args.psk_file, "--psk-file", env, ENV_PSK_FILE);
    let client_id = pick(args.client_id, "--client-id", env, ENV_CLIENT_ID);
    let server_side_id = pick(args.server_side_id, "--server-side-id", env, ENV_SERVER_ID);
    let mqtt_host = pick(args.mqtt_host, "--mqtt-host", env, ENV_MQTT_HOST);
    let mqtt_port = pick(args.mqtt_port, "--mqtt-port", env, ENV_MQTT_PORT);
    let root_ca = pick(args.mqtt_root_ca, "--mqtt-root-ca", env, ENV_ROOT_CA);
    let certificate = pick(
        args.mqtt_certificate,
        "--mqtt-certificate",
        env,
        ENV_CERTIFICATE,
    );
    let private_key = pick(
        args.mqtt_private_key,
        "--mqtt-private-key",
        env,
        ENV_PRIVATE_KEY,
    );
    let password_on_command_line = args.mqtt_password.is_some();
    let username = pick(args.mqtt_username, "--mqtt-username", env, ENV_USERNAME);
    let password = pick(args.mqtt_password, "--mqtt-password", env, ENV_PASSWORD);
    let qos = pick(args.mqtt_qos, "--mqtt-qos", env, ENV_MQTT_QOS);
    let topic_prefix = pick(
        args.mqtt_topic_prefix,
        "--mqtt-topic-prefix",
        env,
        ENV_TOPIC_PREFIX,
    );
    let window = pick(args.window, "--window", env, ENV_WINDOW);
    let frame_size = pick(args.frame_size, "--frame-size", env, ENV_FRAME_SIZE);
    let peer_timeout = pick(args.peer_timeout, "--peer-timeout", env, ENV_PEER_TIMEOUT);
    let max_sessions = pick(args.max_sessions, "--max-sessions", env, ENV_MAX_SESSIONS);
    let max_buffer_memory = pick(
        args.max_buffer_memory,
        "--max-buffer-memory",
        env,
        ENV_MAX_BUFFER_MEMORY,
    );

    // Syntax of every value given, whatever the mode.
    let port_number = port.as_ref().map(parse_port).transpose()?;
    let mqtt_port_number = mqtt_port.as_ref().map(parse_port).transpose()?;
    let remote_port_number = remote_port.as_ref().map(parse_port).transpose()?;
    let qos_level = qos.as_ref().map(parse_qos).transpose()?;
    let window_frames = match &window {
        Some(given) => usize_in(given, MIN_WINDOW, MAX_WINDOW)?,
        None => DEFAULT_WINDOW,
    };
    let frame_data = match &frame_size {
        Some(given) => usize_in(given, MIN_FRAME_DATA, MAX_FRAME_DATA)?,
        None => DEFAULT_FRAME_DATA,
    };
    let max_sessions = match &max_sessions {
        Some(given) => usize_in(given, 1, MAX_MAX_SESSIONS)?,
        None => DEFAULT_MAX_SESSIONS,
    };
    let max_buffer_memory = match &max_buffer_memory {
        Some(given) => usize_in(given, 1, MAX_MAX_BUFFER_MIB)?,
        None => DEFAULT_MAX_BUFFER_MIB,
    } * 1024
        * 1024;
    let peer_timeout = match &peer_timeout {
        Some(given) => Duration::from_secs(integer_in(given, 1, MAX_PEER_TIMEOUT_SECS)?),
        None => DEFAULT_PEER_TIMEOUT,
    };
    let remote_ip_addr = remote_ip.as_ref().map(parse_remote_ip).transpose()?;
    let host = addr.as_ref().map(check_host).transpose()?;

    // Mandatory settings.
    let mqtt_host = match &mqtt_host {
        Some(given) => check_host(given)?,
        None => {
            return Err(CliError::new(format!(
                "missing --mqtt-host (or set {ENV_MQTT_HOST})"
            )))
        }
    };
    let needs_server_side_id = !args.list_servers;
    let server_side_id = match &server_side_id {
        Some(given) => {
            check_topic_level(given)?;
            given.value.clone()
        }
        None if needs_server_side_id => {
            return Err(CliError::new(format!(
                "missing --server-side-id (or set {ENV_SERVER_ID})"
            )))
        }
        None => String::new(),
    };
    let topic_prefix = match &topic_prefix {
        Some(given) => {
            check_topic_level(given)?;
            given.value.clone()
        }
        None => DEFAULT_TOPIC_PREFIX.to_owned(),
    };
    if let Some(given) = &client_id {
        check_mqtt_string(given)?;
    }

    // TLS.
    match (&certificate, &private_key) {
        (Some(cert), None) => {
            return Err(CliError::new(format!(
                "{} is set but no private key is: set --mqtt-private-key or {ENV_PRIVATE_KEY}",
                cert.source
            )))
        }
        (None, Some(key)) => {
            return Err(CliError::new(format!(
                "{} is set but no certificate is: set --mqtt-certificate or {ENV_CERTIFICATE}",
                key.source
            )))
        }
        _ => {}
    }
    let use_tls = args.tls || root_ca.is_some() || certificate.is_some() || private_key.is_some();
    let tls = if use_tls {
        Some(TlsFiles {
            root_ca: root_ca.as_ref().map(check_readable_file).transpose()?,
            certificate: certificate.as_ref().map(check_readable_file).transpose()?,
            private_key: private_key.as_ref().map(check_private_file).transpose()?,
        })
    } else {
        None
    };

    // The pre-shared key: a secret file, read now (exit 2 on any problem).
    let psk = match &psk_file {
        Some(given) => {
            let path = check_private_file(given)?;
            Some(Psk::load(&path).map_err(|why| invalid(given, why))?)
        }
        None => None,
    };

    // Broker credentials. MQTT 3.1.1 allows no password without a user name.
    if let Some(given) = &username {
        check_mqtt_string(given)?;
    }
    if let Some(given) = &password {
        if username.is_none() {
            return Err(CliError::new(format!(
                "{} is set but no user name is: set --mqtt-username or {ENV_USERNAME}",
                given.source
            )));
        }
        if given.value.is_empty() {
            return Err(CliError::new(format!(
                "invalid {}: must not be empty (leave it unset for no password)",
                given.source
            )));
        }
        if given.value.len() > MAX_MQTT_STRING_LEN {
            // Never echo the value itself.
            return Err(CliError::new(format!(
                "invalid {}: longer than {MAX_MQTT_STRING_LEN} bytes",
                given.source
            )));
        }
    }

    // Mode, and the flags it ignores.
    let mut warnings = Vec::new();
    if password_on_command_line {
        warnings.push(format!(
            "--mqtt-password is visible to other users in the process list; \
             prefer the environment variable {ENV_PASSWORD}"
        ));
    }
    if !args.server {
        if let Some(source) = allow_remote.1 {
            warnings.push(not_applicable(source, "without -s/--server"));
        }
    }
    let mode = if args.server {
        for given in [&remote_ip, &remote_port].into_iter().flatten() {
            warnings.push(not_applicable(given.source, "in server mode"));
        }
        if client_id.is_some() {
            warnings.push(
                "--client-id is not applicable in server mode (the server side uses its \
                 --server-side-id as MQTT client id); ignored"
                    .to_owned(),
            );
        }
        for (given, name) in [(args.watch, "--watch"), (args.json, "--json")] {
            if given {
                warnings.push(not_applicable(name, "without -l/--list-servers"));
            }
        }
        Mode::Server {
            target_host: host.unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            target_port: port_number.unwrap_or(DEFAULT_PORT),
            beacon: args.beacon,
            allow_remote: allow_remote.0,
        }
    } else if args.list_servers {
        for given in [&port, &addr, &remote_ip, &remote_port]
            .into_iter()
            .flatten()
        {
            warnings.push(not_applicable(given.source, "in list mode"));
        }
        if args.beacon {
            warnings.push(not_applicable("-b/--beacon", "without -s/--server"));
        }
        Mode::ListServers {
            watch: args.watch,
            json: args.json,
        }
    } else {
        if args.beacon {
            warnings.push(not_applicable("-b/--beacon", "without -s/--server"));
        }
        for (given, name) in [(args.watch, "--watch"), (args.json, "--json")] {
            if given {
                warnings.push(not_applicable(name, "without -l/--list-servers"));
            }
        }
        if args.stdio {
            for given in [&port, &addr].into_iter().flatten() {
                warnings.push(not_applicable(given.source, "with --stdio (no listener)"));
            }
        }
        Mode::Client {
            listen_host: host.unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            listen_port: port_number.unwrap_or(DEFAULT_PORT),
            remote_ip: remote_ip_addr,
            remote_port: remote_port_number,
            stdio: args.stdio,
        }
    };

    let client_id = match (&mode, client_id) {
        (Mode::Server { .. }, _) => server_side_id.clone(),
        (_, Some(given)) => given.value,
        (_, None) => random_client_id()?,
    };
    let port = mqtt_port_number.unwrap_or(if use_tls {
        DEFAULT_MQTT_TLS_PORT
    } else {
        DEFAULT_MQTT_PORT
    });

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

    let (log_level, timestamps) = log_flags::settings(
        &log_flags::LogFlags {
            debug: args.debug,
            verbose: args.verbose,
            quiet: args.quiet,
            no_timestamps: args.no_timestamps,
            stdio: matches!(mode, Mode::Client { stdio: true, .. }),
        },
        env,
    )?;
    let config = Config {
        mode,
        log_level,
        timestamps,
        broker: BrokerConfig {
            host: mqtt_host,
            port,
            client_id,
            qos: qos_level.unwrap_or(DEFAULT_QOS),
            tls,
            username: username.map(|given| given.value),
            password: password.map(|given| Secret(given.value)),
        },
        topic_prefix,
        server_side_id,
        tuning: Tuning {
            window_frames,
            frame_data,
            probe_frame_size: frame_size.is_none(),
            peer_timeout,
            max_sessions,
            max_buffer_memory,
        },
        psk,
    };
    Ok((config, warnings))
}

/// The `--allow-remote` rules (flags, else the environment variable) and
/// where they came from, if anywhere.
fn allow_rules(
    flags: Vec<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(AllowList, Option<&'static str>), CliError> {
    let (texts, source): (Vec<String>, &'static str) = if !flags.is_empty() {
        (flags, "--allow-remote")
    } else {
        match env(ENV_ALLOW_REMOTE).filter(|v| !v.is_empty()) {
            Some(value) => (
                value
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                ENV_ALLOW_REMOTE,
            ),
            None => return Ok((AllowList::default(), None)),
        }
    };
    let rules = texts
        .into_iter()
        .map(|value| {
            let given = Given { value, source };
            AllowRule::parse(&given.value).map_err(|why| invalid(&given, why))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((AllowList::new(rules), Some(source)))
}

fn not_applicable(what: &str, context: &str) -> String {
    format!("{what} is not applicable {context}; ignored")
}

// ---------------------------------------------------------------------------
// Value checks

/// `invalid <source> '<value>': <reason>`.
fn invalid(given: &Given, reason: impl fmt::Display) -> CliError {
    CliError::new(format!(
        "invalid {} '{}': {reason}",
        given.source,
        shown(&given.value)
    ))
}

/// A decimal integer in `min..=max`.
fn integer_in(given: &Given, min: u64, max: u64) -> Result<u64, CliError> {
    given
        .value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| invalid(given, format_args!("must be an integer in {min}..{max}")))
}

fn usize_in(given: &Given, min: usize, max: usize) -> Result<usize, CliError> {
    let too_big = || invalid(given, format_args!("must be an integer in {min}..{max}"));
    let min64 = u64::try_from(min).map_err(|_| too_big())?;
    let max64 = u64::try_from(max).map_err(|_| too_big())?;
    let n = integer_in(given, min64, max64)?;
    usize::try_from(n).map_err(|_| too_big())
}

fn parse_port(given: &Given) -> Result<u16, CliError> {
    let n = integer_in(given, 1, u64::from(u16::MAX))?;
    u16::try_from(n).map_err(|_| invalid(given, "must be an integer in 1..65535"))
}

fn parse_qos(given: &Given) -> Result<u8, CliError> {
    match given.value.as_str() {
        "0" => Ok(0),
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err(invalid(given, "must be 0, 1 or 2")),
    }
}

fn parse_remote_ip(given: &Given) -> Result<Ipv4Addr, CliError> {
    let text = given.value.as_str();
    match text.parse::<Ipv4Addr>() {
        // The wire format encodes "no address" as 0, so 0.0.0.0 could not
        // reach the server side.
        Ok(ip) if ip.is_unspecified() => Err(invalid(
            given,
            "0.0.0.0 cannot be sent (the wire format uses it for 'not set')",
        )),
        Ok(ip) => Ok(ip),
        Err(_) if is_ipv6_literal(text) => Err(invalid(
            given,
            "IPv6 is not supported by the wire format; give an IPv4 address",
        )),
        Err(_) => Err(invalid(given, "must be an IPv4 address such as 192.0.2.10")),
    }
}

fn is_ipv6_literal(text: &str) -> bool {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    inner.parse::<Ipv6Addr>().is_ok()
}

/// A host name or IP literal, not resolved here (see [`host::check`]).
fn check_host(given: &Given) -> Result<String, CliError> {
    host::check(&given.value).map_err(|why| invalid(given, why))
}

/// A single MQTT topic level: the topic prefix or the server-side-id.
fn check_topic_level(given: &Given) -> Result<(), CliError> {
    check_text(
        given,
        MAX_TOPIC_LEVEL_LEN,
        &['/', '+', '#', '\0'],
        "'/', '+', '#' or NUL",
    )
}

/// An MQTT UTF-8 string field (client id, user name): non-empty, short
/// enough, no NUL.
fn check_mqtt_string(given: &Given) -> Result<(), CliError> {
    check_text(given, MAX_MQTT_STRING_LEN, &['\0'], "NUL")
}

/// A non-empty value of at most `max_len` bytes containing none of
/// `forbidden` (named `forbidden_names` in the error).
fn check_text(
    given: &Given,
    max_len: usize,
    forbidden: &[char],
    forbidden_names: &str,
) -> Result<(), CliError> {
    let value = given.value.as_str();
    if value.is_empty() {
        return Err(invalid(given, "must not be empty"));
    }
    if value.len() > max_len {
        return Err(invalid(
            given,
            format_args!("must be at most {max_len} bytes"),
        ));
    }
    if value.contains(forbidden) {
        return Err(invalid(
            given,
            format_args!("must not contain {forbidden_names}"),
        ));
    }
    Ok(())
}

/// The path must name an existing regular file that this process can open.
fn check_readable_file(given: &Given) -> Result<PathBuf, CliError> {
    if given.value.is_empty() {
        return Err(invalid(given, "the path must not be empty"));
    }
    let path = PathBuf::from(&given.value);
    let metadata = std::fs::metadata(&path).map_err(|e| invalid(given, describe_io_error(&e)))?;
    if !metadata.is_file() {
        return Err(invalid(given, "not a regular file"));
    }
    File::open(&path).map_err(|e| invalid(given, describe_io_error(&e)))?;
    Ok(path)
}

/// A readable regular file that no one but its owner may read or write,
/// as ssh requires of private keys: a key others can read is no secret.
fn check_private_file(given: &Given) -> Result<PathBuf, CliError> {
    use std::os::unix::fs::PermissionsExt;
    let path = check_readable_file(given)?;
    let mode = std::fs::metadata(&path)
        .map_err(|e| invalid(given, describe_io_error(&e)))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(invalid(
            given,
            format!(
                "permissions {:04o} are too open: a key file must not be accessible by \
                 group or others (chmod 600 {})",
                mode & 0o7777,
                given.value
            ),
        ));
    }
    Ok(path)
}

fn describe_io_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

/// `mqtt-forward-` followed by 12 lowercase hex digits from the OS RNG.
fn random_client_id() -> Result<String, CliError> {
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

// ---------------------------------------------------------------------------
// Message formatting

/// A user value made safe for a one-line message: control characters
/// escaped, long values shortened.
fn shown(value: &str) -> String {
    let mut out = String::new();
    for (count, c) in value.chars().enumerate() {
        if count == MAX_SHOWN_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// argh's error text as one line: the trailing newline dropped, control
/// characters (say, a newline inside an unrecognised argument) escaped.
fn one_line(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "invalid command line".to_owned();
    }
    let mut out = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What replaces a password quoted in an error message.
const REDACTED: &str = "<redacted>";

/// `message` with every password given in `args` replaced by
/// [`REDACTED`]: the value after `--mqtt-password`, and whatever follows the
/// `=` of an argument that starts like it (`--mqtt-pass=…`, a typo such as
/// `--mqtt-passwrd=…`), so that a parse error never echoes a secret.
fn redact_passwords(message: &str, args: &[&str]) -> String {
    let mut secrets: Vec<&str> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if *arg == "--mqtt-password" {
            secrets.extend(args.get(i + 1));
        } else if let Some((name, value)) = arg.split_once('=') {
            if name.starts_with("--mqtt-pass") {
                secrets.push(value);
            }
        }
    }
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_owned();
    for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, REDACTED);
    }
    out
}

#[cfg(test)]
mod tests;
