//! The validated run-time configuration, produced by [`crate::cli`] from the
//! command line and the environment before any network activity.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use crate::secure::psk::Psk;
use crate::targets::AllowList;

/// What this process does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `-s`: accept sessions from the broker and dial `target_host:target_port`.
    Server {
        /// Host name or IP address (v4 or v6) of the TCP server to dial.
        target_host: String,
        /// Port of the TCP server to dial.
        target_port: u16,
        /// `-b`: publish a beacon every [`crate::protocol::limits::BEACON_PERIOD`].
        beacon: bool,
        /// `--allow-remote`: other targets a client may ask for.
        allow_remote: AllowList,
    },
    /// Default: listen on `listen_host:listen_port`, one session per connection.
    Client {
        /// Address to bind the listener to (127.0.0.1 unless `-a` is given).
        listen_host: String,
        /// Port to listen on.
        listen_port: u16,
        /// `--remote-ip`: ask the server side to dial this IPv4 address.
        remote_ip: Option<Ipv4Addr>,
        /// `--remote-port`: ask the server side to dial this port.
        remote_port: Option<u16>,
        /// `--stdio`: no listener; one session over stdin and stdout.
        stdio: bool,
    },
    /// `-l`: list the server sides that publish beacons.
    ListServers {
        /// `--watch`: keep printing every beacon period instead of once.
        watch: bool,
        /// `--json`: one JSON object per server and line.
        json: bool,
        /// `-l PATTERN`: list only the ids that match this glob.
        pattern: Option<String>,
    },
}

/// TLS settings for the broker connection (file paths, validated to exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file of trusted CAs; `None` means the public web roots.
    pub root_ca: Option<PathBuf>,
    /// PEM client certificate chain for mutual TLS.
    pub certificate: Option<PathBuf>,
    /// PEM private key matching `certificate`.
    pub private_key: Option<PathBuf>,
}

/// How to reach the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `--mqtt-host`: the broker, or the nodes of a cluster or a bridged
    /// pair, in the order they are tried (never empty).
    pub nodes: Vec<BrokerNode>,
    /// MQTT client id (the server side uses its server-side-id).
    pub client_id: String,
    /// QoS used for every subscribe and publish (0, 1 or 2).
    pub qos: u8,
    /// `--mqtt-max-rate`, `--mqtt-max-bandwidth`: the most publishes and
    /// bytes per second, for everything this process publishes.
    pub caps: crate::mqtt::pacing::Caps,
    /// `--mqtt-max-subs` (or the broker profile's): topic filters
    /// the broker lets one connection hold.
    pub max_subscriptions: Option<usize>,
    /// `Some` when `--tls` or any certificate variable is set.
    pub tls: Option<TlsFiles>,
    /// `--mqtt-username`: sent in CONNECT when given.
    pub username: Option<String>,
    /// `--mqtt-password` (only with a username, as MQTT 3.1.1 requires).
    pub password: Option<Secret>,
}

/// One broker host of `--mqtt-host`'s list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerNode {
    /// Host name or IP address (an IPv6 literal without brackets).
    pub host: String,
    /// TCP port: the entry's own, or `--mqtt-port`, or 1883 (8883 with
    /// TLS).
    pub port: u16,
}

impl std::fmt::Display for BrokerNode {
    /// `host:port`, an IPv6 literal in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A value that must never appear in logs or debug output (a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Tunables of the reliability layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Frames in flight per session and direction (the fixed window).
    pub window_frames: usize,
    /// Stream bytes carried by one frame toward a peer of this program.
    pub frame_data: usize,
    /// Probe the broker for the largest frame it carries (`--frame-size`
    /// not given): see `src/shell/probe.rs`.
    pub probe_frame_size: bool,
    /// A session whose peer is silent this long is closed on both ends.
    pub peer_timeout: Duration,
    /// Sessions served (server side) or connections accepted (client side)
    /// at once.
    pub max_sessions: usize,
    /// Bytes of frame buffers all sessions together may hold per direction
    /// (`--max-buffer-memory`), shared equally among open sessions.
    pub max_buffer_memory: usize,
}

/// Everything the program needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Server, client or list mode, with the mode's own settings.
    pub mode: Mode,
    /// How much is logged (`-q`, `-v`, `-vv`, `MQTT_FORWARD_LOG_LEVEL`).
    pub log_level: log::LevelFilter,
    /// Timestamps on log lines (off with `--no-timestamps`, or under
    /// systemd's journal).
    pub timestamps: bool,
    /// Broker connection settings.
    pub broker: BrokerConfig,
    /// First topic level (default `ssh`); never contains `/`, `+`, `#`, NUL.
    pub topic_prefix: String,
    /// Second topic level; empty only in list mode.
    pub server_side_id: String,
    /// Reliability-layer tunables.
    pub tuning: Tuning,
    /// `--psk-file`: sessions and beacons authenticated and encrypted end to
    /// end with this key (see [`crate::secure`]).
    pub psk: Option<Psk>,
    /// What `--broker-profile` applied, said at start-up.
    pub profile_line: Option<String>,
}
