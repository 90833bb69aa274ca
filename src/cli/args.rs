//! The command line as argh parses it, and the getopt spellings of the C
//! original rewritten into argh's form first: `--name=value`, `-p2222` and
//! bundled switches such as `-ds`.
//!
//! The flags' descriptions, defaults and environment variables are in the
//! option table (`options.rs`), from which the help text is made; argh's own
//! help is never shown (only a test reads it), so every field's doc
//! comment, which argh stores as its description, is just its name.

use argh::FromArgs;

use super::option_lists::{LONG_VALUED, SHORT_SWITCHES, SHORT_VALUED};

/// Forward TCP connections through an MQTT broker.
#[derive(FromArgs)]
#[argh(help_triggers("-h", "--help"))]
pub struct Args {
    /// debug
    #[argh(switch, short = 'd')]
    pub debug: bool,

    /// verbose
    #[argh(switch, short = 'v')]
    pub verbose: u8,

    /// quiet
    #[argh(switch, short = 'q')]
    pub quiet: bool,

    /// no timestamps
    #[argh(switch)]
    pub no_timestamps: bool,

    /// tls
    #[argh(switch, short = 't')]
    pub tls: bool,

    /// server
    #[argh(switch, short = 's')]
    pub server: bool,

    /// list servers
    #[argh(switch, short = 'l')]
    pub list_servers: bool,

    /// beacon
    #[argh(switch, short = 'b')]
    pub beacon: bool,

    /// port
    #[argh(option, short = 'p')]
    pub port: Option<String>,

    /// addr
    #[argh(option, short = 'a')]
    pub addr: Option<String>,

    /// remote port
    #[argh(option)]
    pub remote_port: Option<String>,

    /// remote ip
    #[argh(option)]
    pub remote_ip: Option<String>,

    /// psk file
    #[argh(option)]
    pub psk_file: Option<String>,

    /// allow remote
    #[argh(option)]
    pub allow_remote: Vec<String>,

    /// client id
    #[argh(option)]
    pub client_id: Option<String>,

    /// server side id
    #[argh(option)]
    pub server_side_id: Option<String>,

    /// mqtt host
    #[argh(option)]
    pub mqtt_host: Option<String>,

    /// mqtt port
    #[argh(option)]
    pub mqtt_port: Option<String>,

    /// mqtt root ca
    #[argh(option)]
    pub mqtt_root_ca: Option<String>,

    /// mqtt certificate
    #[argh(option)]
    pub mqtt_certificate: Option<String>,

    /// mqtt private key
    #[argh(option)]
    pub mqtt_private_key: Option<String>,

    /// mqtt username
    #[argh(option)]
    pub mqtt_username: Option<String>,

    /// mqtt password
    #[argh(option)]
    pub mqtt_password: Option<String>,

    /// mqtt qos
    #[argh(option)]
    pub mqtt_qos: Option<String>,

    /// publishes per second at most
    #[argh(option)]
    pub mqtt_max_rate: Option<String>,

    /// bytes per second at most
    #[argh(option)]
    pub mqtt_max_bandwidth: Option<String>,

    /// subscriptions at most
    #[argh(option)]
    pub mqtt_max_subs: Option<String>,

    /// broker profile
    #[argh(option)]
    pub broker_profile: Option<String>,

    /// mqtt topic prefix
    #[argh(option)]
    pub mqtt_topic_prefix: Option<String>,

    /// stdio
    #[argh(switch)]
    pub stdio: bool,

    /// watch
    #[argh(switch)]
    pub watch: bool,

    /// json
    #[argh(switch)]
    pub json: bool,

    /// window
    #[argh(option)]
    pub window: Option<String>,

    /// frame size
    #[argh(option)]
    pub frame_size: Option<String>,

    /// peer timeout
    #[argh(option)]
    pub peer_timeout: Option<String>,

    /// max sessions
    #[argh(option)]
    pub max_sessions: Option<String>,

    /// max buffer memory
    #[argh(option)]
    pub max_buffer_memory: Option<String>,

    /// version
    #[argh(switch, short = 'V')]
    pub version: bool,

    /// pattern
    #[argh(positional)]
    pub pattern: Option<String>,
}

/// The switches of [`Args`], copied out before its values are taken.
#[derive(Clone, Copy)]
pub struct Switches {
    /// `-d`.
    pub debug: bool,
    /// `-v` occurrences.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// `--no-timestamps`.
    pub no_timestamps: bool,
    /// `-t`.
    pub tls: bool,
    /// `-s`.
    pub server: bool,
    /// `-l`.
    pub list_servers: bool,
    /// `-b`.
    pub beacon: bool,
    /// `--stdio`.
    pub stdio: bool,
    /// `--watch`.
    pub watch: bool,
    /// `--json`.
    pub json: bool,
}

impl Args {
    /// The switches given.
    #[must_use]
    pub fn switches(&self) -> Switches {
        Switches {
            debug: self.debug,
            verbose: self.verbose,
            quiet: self.quiet,
            no_timestamps: self.no_timestamps,
            tls: self.tls,
            server: self.server,
            list_servers: self.list_servers,
            beacon: self.beacon,
            stdio: self.stdio,
            watch: self.watch,
            json: self.json,
        }
    }
}

/// Arguments that ask for the help text.
const HELP_TRIGGERS: &[&str] = &["-h", "--help"];

/// Arguments rewritten for argh.
pub struct Normalized {
    /// The arguments in argh's form.
    pub args: Vec<String>,
    /// `-h` or `--help` appeared where an option may appear.
    pub help_requested: bool,
}

/// Rewrites getopt spellings argh does not know into separate arguments:
/// `--name=value` (for options that take a value), `-p2222`, and bundled
/// short switches such as `-dsp 2222`. The value of an option is passed on
/// verbatim even if it starts with `-`, as both getopt and argh do. Anything
/// not recognised is passed on unchanged for argh to report.
#[must_use]
pub fn normalize_args(args: &[&str]) -> Normalized {
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
        } else if arg.starts_with("--") {
            push_long(&mut out, arg, &mut rest);
        } else if let Some(expanded) = arg.strip_prefix('-').and_then(expand_short_cluster) {
            help_requested |= expanded.help;
            out.extend(expanded.args);
            if expanded.needs_value {
                out.extend(rest.next().map(|value| (*value).to_owned()));
            }
        } else {
            out.push(arg.to_owned());
        }
    }
    Normalized {
        args: out,
        help_requested,
    }
}

/// A long option: `--name=value` split for an option that takes a value,
/// whose value (the next argument otherwise) is passed on verbatim.
fn push_long(out: &mut Vec<String>, arg: &str, rest: &mut std::slice::Iter<'_, &str>) {
    if let Some((name, value)) = arg.split_once('=') {
        if LONG_VALUED.contains(&name) {
            out.push(name.to_owned());
            out.push(value.to_owned());
            return;
        }
    } else if LONG_VALUED.contains(&arg) {
        out.push(arg.to_owned());
        out.extend(rest.next().map(|value| (*value).to_owned()));
        return;
    }
    out.push(arg.to_owned());
}

/// A getopt short-option cluster split into separate arguments.
struct ShortCluster {
    /// The separate arguments.
    args: Vec<String>,
    /// The cluster ends with an option whose value is the next argument.
    needs_value: bool,
    /// The cluster holds `h`.
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
