//! Building the [`Config`] from the parsed flags and the environment: every
//! value picked (flag, else variable), then checked in a fixed order, so
//! that the first problem reported does not depend on the mode. The
//! per-mode parts are in `modes.rs`.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::args::Args;
use super::checks::{
    check_host, check_mqtt_string, check_topic_level, integer_in, invalid, parse_bandwidth,
    parse_port, parse_qos, parse_remote_ip, usize_in, MAX_MQTT_STRING_LEN, MAX_PUBLISH_RATE,
};
use super::env::{allow_rules, pick, Env, Given, Source};
use super::files::{check_private_file, check_readable_file, load_psk};
use super::options::{
    ADDR, BROKER_PROFILE, CERTIFICATE, CLIENT_ID, FRAME_SIZE, MAX_BANDWIDTH, MAX_BUFFER_MEMORY,
    MAX_RATE, MAX_SESSIONS, MAX_SUBSCRIPTIONS, MQTT_HOST, MQTT_PORT, PASSWORD, PEER_TIMEOUT, PORT,
    PRIVATE_KEY, PSK_FILE, QOS, REMOTE_IP, REMOTE_PORT, ROOT_CA, SERVER_SIDE_ID, TOPIC_PREFIX,
    USERNAME, WINDOW,
};
use super::{log_flags, modes, CliError};
use crate::config::{BrokerConfig, BrokerNode, Config, Secret, TlsFiles, Tuning};
use crate::mqtt::pacing::Caps;
use crate::protocol::limits::{
    DEFAULT_FRAME_DATA, DEFAULT_MAX_BUFFER_MIB, DEFAULT_MAX_SESSIONS, DEFAULT_PEER_TIMEOUT,
    DEFAULT_WINDOW, MAX_FRAME_DATA, MAX_MAX_BUFFER_MIB, MAX_MAX_SESSIONS, MAX_WINDOW,
    MIN_FRAME_DATA, MIN_WINDOW,
};
use crate::targets::AllowList;

/// `--mqtt-port` default without TLS.
const DEFAULT_MQTT_PORT: u16 = 1883;
/// `--mqtt-port` default with TLS.
const DEFAULT_MQTT_TLS_PORT: u16 = 8883;
/// `--mqtt-qos` default (the C original's).
const DEFAULT_QOS: u8 = 1;
/// `--mqtt-topic-prefix` default (the C original's).
const DEFAULT_TOPIC_PREFIX: &str = "ssh";
/// Largest `--peer-timeout` in seconds (one day).
pub const MAX_PEER_TIMEOUT_SECS: u64 = 86_400;

/// Every valued setting as given: the flag, else its environment variable.
pub struct Values {
    /// `-p/--port`.
    pub port: Option<Given>,
    /// `-a/--addr`.
    pub addr: Option<Given>,
    /// `--remote-port`.
    pub remote_port: Option<Given>,
    /// `--remote-ip`.
    pub remote_ip: Option<Given>,
    /// `--allow-remote`: the rules, and where they came from.
    pub allow_remote: (AllowList, Option<Source>),
    /// `--psk-file`.
    pub psk_file: Option<Given>,
    /// `--client-id`.
    pub client_id: Option<Given>,
    /// `--server-side-id`.
    pub server_side_id: Option<Given>,
    /// `--mqtt-host`.
    pub mqtt_host: Option<Given>,
    /// `--mqtt-port`.
    pub mqtt_port: Option<Given>,
    /// `--mqtt-root-ca`.
    pub root_ca: Option<Given>,
    /// `--mqtt-certificate`.
    pub certificate: Option<Given>,
    /// `--mqtt-private-key`.
    pub private_key: Option<Given>,
    /// `--mqtt-username`.
    pub username: Option<Given>,
    /// `--mqtt-password`.
    pub password: Option<Given>,
    /// `--mqtt-qos`.
    pub qos: Option<Given>,
    /// `--mqtt-max-rate`.
    pub max_rate: Option<Given>,
    /// `--mqtt-max-bandwidth`.
    pub max_bandwidth: Option<Given>,
    /// `--mqtt-max-subs`.
    pub max_subscriptions: Option<Given>,
    /// `--broker-profile`.
    pub broker_profile: Option<Given>,
    /// `--mqtt-topic-prefix`.
    pub topic_prefix: Option<Given>,
    /// `--window`.
    pub window: Option<Given>,
    /// `--frame-size`.
    pub frame_size: Option<Given>,
    /// `--peer-timeout`.
    pub peer_timeout: Option<Given>,
    /// `--max-sessions`.
    pub max_sessions: Option<Given>,
    /// `--max-buffer-memory`.
    pub max_buffer_memory: Option<Given>,
    /// `-l PATTERN`: the one argument that follows no option.
    pub pattern: Option<String>,
}

/// [`pick`] for the table entry `$opt` and the field `$flag` of `Args`
/// (taken out of it); the entry's names are constants, so that the table
/// itself stays out of the program.
macro_rules! pick {
    ($opt:ident, $args:ident.$flag:ident, $env:ident) => {
        pick(
            const { $opt.short },
            const { $opt.long },
            const { $opt.env },
            $args.$flag,
            $env,
        )
    };
}

impl Values {
    /// Every value of `args`, falling back on the environment. The
    /// `--allow-remote` rules are parsed here already.
    fn pick(args: Args, env: Env<'_>) -> Result<Values, CliError> {
        Ok(Values {
            port: pick!(PORT, args.port, env),
            addr: pick!(ADDR, args.addr, env),
            remote_port: pick!(REMOTE_PORT, args.remote_port, env),
            remote_ip: pick!(REMOTE_IP, args.remote_ip, env),
            allow_remote: allow_rules(args.allow_remote, env)?,
            psk_file: pick!(PSK_FILE, args.psk_file, env),
            client_id: pick!(CLIENT_ID, args.client_id, env),
            server_side_id: pick!(SERVER_SIDE_ID, args.server_side_id, env),
            mqtt_host: pick!(MQTT_HOST, args.mqtt_host, env),
            mqtt_port: pick!(MQTT_PORT, args.mqtt_port, env),
            root_ca: pick!(ROOT_CA, args.mqtt_root_ca, env),
            certificate: pick!(CERTIFICATE, args.mqtt_certificate, env),
            private_key: pick!(PRIVATE_KEY, args.mqtt_private_key, env),
            username: pick!(USERNAME, args.mqtt_username, env),
            password: pick!(PASSWORD, args.mqtt_password, env),
            qos: pick!(QOS, args.mqtt_qos, env),
            max_rate: pick!(MAX_RATE, args.mqtt_max_rate, env),
            max_bandwidth: pick!(MAX_BANDWIDTH, args.mqtt_max_bandwidth, env),
            max_subscriptions: pick!(MAX_SUBSCRIPTIONS, args.mqtt_max_subs, env),
            broker_profile: pick!(BROKER_PROFILE, args.broker_profile, env),
            topic_prefix: pick!(TOPIC_PREFIX, args.mqtt_topic_prefix, env),
            window: pick!(WINDOW, args.window, env),
            frame_size: pick!(FRAME_SIZE, args.frame_size, env),
            peer_timeout: pick!(PEER_TIMEOUT, args.peer_timeout, env),
            max_sessions: pick!(MAX_SESSIONS, args.max_sessions, env),
            max_buffer_memory: pick!(MAX_BUFFER_MEMORY, args.max_buffer_memory, env),
            pattern: args.pattern,
        })
    }
}

/// The numbers and addresses, parsed whatever the mode.
pub struct Numbers {
    /// `-p`.
    pub port: Option<u16>,
    /// `--mqtt-port`.
    pub mqtt_port: Option<u16>,
    /// `--remote-port`.
    pub remote_port: Option<u16>,
    /// `--mqtt-qos`.
    pub qos: Option<u8>,
    /// `--mqtt-max-rate` and `--mqtt-max-bandwidth`.
    pub caps: Caps,
    /// The tuning flags, defaults filled in.
    pub tuning: Tuning,
    /// `--remote-ip`.
    pub remote_ip: Option<Ipv4Addr>,
    /// `-a` (an IPv6 literal without its brackets).
    pub host: Option<String>,
}

impl Numbers {
    /// The syntax of every number and address given.
    fn parse(values: &Values) -> Result<Numbers, CliError> {
        Ok(Numbers {
            port: values.port.as_ref().map(parse_port).transpose()?,
            mqtt_port: values.mqtt_port.as_ref().map(parse_port).transpose()?,
            remote_port: values.remote_port.as_ref().map(parse_port).transpose()?,
            qos: values.qos.as_ref().map(parse_qos).transpose()?,
            caps: Caps {
                publishes: values
                    .max_rate
                    .as_ref()
                    .map(|g| integer_in(g, 1, MAX_PUBLISH_RATE).map(|n| n as u32))
                    .transpose()?,
                bytes: values
                    .max_bandwidth
                    .as_ref()
                    .map(parse_bandwidth)
                    .transpose()?,
            },
            tuning: tuning(values)?,
            remote_ip: values.remote_ip.as_ref().map(parse_remote_ip).transpose()?,
            host: values.addr.as_ref().map(check_host).transpose()?,
        })
    }
}

/// A `usize` in `min..=max` if given, else `default`.
fn usize_or(
    given: &Option<Given>,
    min: usize,
    max: usize,
    default: usize,
) -> Result<usize, CliError> {
    match given {
        Some(given) => usize_in(given, min, max),
        None => Ok(default),
    }
}

/// The window, frame size, buffers and timeouts.
fn tuning(values: &Values) -> Result<Tuning, CliError> {
    let window_frames = usize_or(&values.window, MIN_WINDOW, MAX_WINDOW, DEFAULT_WINDOW)?;
    let frame_data = usize_or(
        &values.frame_size,
        MIN_FRAME_DATA,
        MAX_FRAME_DATA,
        DEFAULT_FRAME_DATA,
    )?;
    let max_sessions = usize_or(
        &values.max_sessions,
        1,
        MAX_MAX_SESSIONS,
        DEFAULT_MAX_SESSIONS,
    )?;
    let max_buffer_mib = usize_or(
        &values.max_buffer_memory,
        1,
        MAX_MAX_BUFFER_MIB,
        DEFAULT_MAX_BUFFER_MIB,
    )?;
    let peer_timeout = match &values.peer_timeout {
        Some(given) => Duration::from_secs(integer_in(given, 1, MAX_PEER_TIMEOUT_SECS)?),
        None => DEFAULT_PEER_TIMEOUT,
    };
    Ok(Tuning {
        window_frames,
        frame_data,
        probe_frame_size: values.frame_size.is_none(),
        peer_timeout,
        max_sessions,
        max_buffer_memory: max_buffer_mib * 1024 * 1024,
    })
}

/// The broker host, the server-side id and the topic prefix.
struct Names {
    /// `--mqtt-host`'s entries.
    mqtt_hosts: Vec<super::broker_hosts::Entry>,
    /// `--server-side-id` (empty in list mode when not given).
    server_side_id: String,
    /// `--mqtt-topic-prefix`.
    topic_prefix: String,
}

/// The mandatory settings, and the names that become topic levels or MQTT
/// strings.
fn names(values: &Values, list_mode: bool) -> Result<Names, CliError> {
    let mqtt_hosts = match &values.mqtt_host {
        Some(given) => {
            super::broker_hosts::parse(&given.value).map_err(|why| invalid(given, why))?
        }
        None => return Err(missing(MQTT_HOST.long, MQTT_HOST.env)),
    };
    let server_side_id = match &values.server_side_id {
        Some(given) => {
            check_topic_level(given)?;
            given.value.clone()
        }
        None if !list_mode => return Err(missing(SERVER_SIDE_ID.long, SERVER_SIDE_ID.env)),
        None => String::new(),
    };
    let topic_prefix = match &values.topic_prefix {
        Some(given) => {
            check_topic_level(given)?;
            given.value.clone()
        }
        None => DEFAULT_TOPIC_PREFIX.to_owned(),
    };
    if let Some(given) = &values.client_id {
        check_mqtt_string(given)?;
    }
    Ok(Names {
        mqtt_hosts,
        server_side_id,
        topic_prefix,
    })
}

/// The broker nodes, each with its own port or the default one.
fn nodes(
    entries: Vec<super::broker_hosts::Entry>,
    mqtt_port: Option<u16>,
    tls: bool,
) -> Vec<BrokerNode> {
    let default = mqtt_port.unwrap_or(if tls {
        DEFAULT_MQTT_TLS_PORT
    } else {
        DEFAULT_MQTT_PORT
    });
    entries
        .into_iter()
        .map(|e| BrokerNode {
            host: e.host,
            port: e.port.unwrap_or(default),
        })
        .collect()
}

/// `missing <flag> (or set <variable>)`.
fn missing(flag: &str, variable: &str) -> CliError {
    CliError::new(format!("missing {flag} (or set {variable})"))
}

/// `<source> is set but no <what> is: set <flag> or <variable>`.
fn set_without(given: &Given, what: &str, flag: &str, variable: &str) -> CliError {
    CliError::new(format!(
        "{} is set but no {what} is: set {flag} or {variable}",
        given.source
    ))
}

/// The TLS files, if TLS is on (`-t`, or any of them given).
fn tls_files(values: &Values, tls_flag: bool) -> Result<Option<TlsFiles>, CliError> {
    match (&values.certificate, &values.private_key) {
        (Some(cert), None) => {
            return Err(set_without(
                cert,
                "private key",
                PRIVATE_KEY.long,
                PRIVATE_KEY.env,
            ))
        }
        (None, Some(key)) => {
            return Err(set_without(
                key,
                "certificate",
                CERTIFICATE.long,
                CERTIFICATE.env,
            ))
        }
        _ => {}
    }
    let files = [&values.root_ca, &values.certificate, &values.private_key];
    if !tls_flag && files.iter().all(|given| given.is_none()) {
        return Ok(None);
    }
    Ok(Some(TlsFiles {
        root_ca: values
            .root_ca
            .as_ref()
            .map(check_readable_file)
            .transpose()?,
        certificate: values
            .certificate
            .as_ref()
            .map(check_readable_file)
            .transpose()?,
        private_key: values
            .private_key
            .as_ref()
            .map(check_private_file)
            .transpose()?,
    }))
}

/// The broker credentials. MQTT 3.1.1 allows no password without a user
/// name.
fn check_credentials(values: &Values) -> Result<(), CliError> {
    if let Some(given) = &values.username {
        check_mqtt_string(given)?;
    }
    let Some(given) = &values.password else {
        return Ok(());
    };
    if values.username.is_none() {
        return Err(set_without(given, "user name", USERNAME.long, USERNAME.env));
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
    Ok(())
}

/// The configuration of `args` (and the environment), and the warnings
/// about flags that do not apply to the selected mode.
pub fn build_config(args: Args, env: Env<'_>) -> Result<(Config, Vec<String>), CliError> {
    let switches = args.switches();
    modes::check_exclusive(&switches)?;
    modes::check_pattern(&switches, args.pattern.as_deref())?;
    let password_on_command_line = args.mqtt_password.is_some();
    let mut values = Values::pick(args, env)?;
    let mut numbers = Numbers::parse(&values)?;
    let names = names(&values, switches.list_servers)?;
    let tls = tls_files(&values, switches.tls)?;
    let psk = values.psk_file.as_ref().map(load_psk).transpose()?;
    check_credentials(&values)?;

    let mut warnings = Vec::new();
    if password_on_command_line {
        warnings.push(format!(
            "--mqtt-password is visible to other users in the process list; \
             prefer the environment variable {}",
            PASSWORD.env
        ));
    }
    let limits = super::profile::apply(
        &super::profile::ProfileFlags {
            profile: values.broker_profile.as_ref(),
            subscriptions: values.max_subscriptions.as_ref(),
            qos: numbers.qos,
            frame_size_given: values.frame_size.is_some(),
        },
        numbers.caps,
        numbers.tuning.frame_data,
    )?;
    numbers.caps = limits.caps;
    numbers.tuning.frame_data = limits.frame_data;
    let mode = modes::mode(&switches, &mut values, &mut numbers, &mut warnings);
    let client_id = modes::client_id(&mode, values.client_id.take(), &names.server_side_id)?;
    modes::check_built(&mode)?;
    let (log_level, timestamps) = log_flags::settings(&modes::log_flags(&switches, &mode), env)?;
    let use_tls = tls.is_some();
    let config = Config {
        mode,
        log_level,
        timestamps,
        broker: BrokerConfig {
            nodes: nodes(names.mqtt_hosts, numbers.mqtt_port, use_tls),
            client_id,
            qos: numbers.qos.unwrap_or(DEFAULT_QOS),
            caps: numbers.caps,
            max_subscriptions: limits.subscriptions,
            tls,
            username: values.username.map(|given| given.value),
            password: values.password.map(|given| Secret(given.value)),
        },
        topic_prefix: names.topic_prefix,
        server_side_id: names.server_side_id,
        tuning: numbers.tuning,
        psk,
        profile_line: limits.line,
    };
    Ok((config, warnings))
}
