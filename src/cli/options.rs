//! The option table: every flag with its short letter, its value, its
//! environment variable and its help rows. The getopt rewriting, the
//! environment fallback, [`ENV_VARS`](super::ENV_VARS) and the `--help` text are derived from
//! it; argh's `Args` struct (`args.rs`) holds the same flags, and a test
//! checks that the two agree.

use super::opt::{short_switch, switch, valued, Group, Opt};

/// `--mqtt-host`.
pub const MQTT_HOST: Opt = valued(
    "--mqtt-host",
    "host",
    "MQTT_FORWARD_MQTT_HOST",
    &[(Group::Broker, "broker host or host[:port],...")],
);
/// `--mqtt-port`.
pub const MQTT_PORT: Opt = valued(
    "--mqtt-port",
    "port",
    "MQTT_FORWARD_MQTT_PORT",
    &[(Group::Broker, "default 1883, 8883 with TLS")],
);
/// `--server-side-id`.
pub const SERVER_SIDE_ID: Opt = valued(
    "--server-side-id",
    "id",
    "MQTT_FORWARD_SERVER_ID",
    &[(Group::Broker, "names the server side")],
);
/// `--mqtt-topic-prefix`.
pub const TOPIC_PREFIX: Opt = valued(
    "--mqtt-topic-prefix",
    "p",
    "MQTT_FORWARD_TOPIC_PREFIX",
    &[(Group::Broker, "first topic level (default ssh)")],
);
/// `--mqtt-qos`.
pub const QOS: Opt = valued(
    "--mqtt-qos",
    "0|1|2",
    "MQTT_FORWARD_MQTT_QOS",
    &[(Group::Broker, "default 1")],
);
/// `--mqtt-max-rate`.
pub const MAX_RATE: Opt = valued(
    "--mqtt-max-rate",
    "n",
    "MQTT_FORWARD_MQTT_MAX_RATE",
    &[(
        Group::Broker,
        "publishes per second at most
(a broker's quota; default none)",
    )],
);
/// `--mqtt-max-bandwidth`.
pub const MAX_BANDWIDTH: Opt = valued(
    "--mqtt-max-bandwidth",
    "n",
    "MQTT_FORWARD_MQTT_MAX_BANDWIDTH",
    &[(
        Group::Broker,
        "bytes per second at most, e.g.
512k (k, m: 1024; default none)",
    )],
);
/// `--broker-profile`.
pub const BROKER_PROFILE: Opt = Opt {
    env_note: "(aws-iot, emqx-serverless,\nazure-event-grid, none)",
    ..valued(
        "--broker-profile",
        "name",
        "MQTT_FORWARD_BROKER_PROFILE",
        &[(
            Group::Broker,
            "a cloud broker's limits: rate,
bandwidth, subscriptions, frame
size, QoS 2 (default none; the
flags above override it)",
        )],
    )
};
/// `--mqtt-max-subs`.
pub const MAX_SUBSCRIPTIONS: Opt = valued(
    "--mqtt-max-subs",
    "n",
    "MQTT_FORWARD_MQTT_MAX_SUBS",
    &[(
        Group::Broker,
        "subscriptions the broker lets
one connection hold (default none)",
    )],
);
/// `--client-id`.
pub const CLIENT_ID: Opt = valued(
    "--client-id",
    "id",
    "MQTT_FORWARD_CLIENT_ID",
    &[(
        Group::Broker,
        "client side and -l (default\nmqtt-forward-<random>)",
    )],
);
/// `--mqtt-username`.
pub const USERNAME: Opt = valued(
    "--mqtt-username",
    "name",
    "MQTT_FORWARD_MQTT_USERNAME",
    &[(Group::Broker, "")],
);
/// `--mqtt-password` (the variable is preferred: other users can read the
/// process list).
pub const PASSWORD: Opt = valued(
    "--mqtt-password",
    "pw",
    "MQTT_FORWARD_MQTT_PASSWORD",
    &[(Group::Broker, "visible in ps: prefer the\nvariable")],
);
/// `-t`/`--tls`.
pub const TLS: Opt = short_switch(
    "--tls",
    't',
    &[(Group::Tls, "TLS (implied by the three below)")],
);
/// `--mqtt-root-ca` (setting it implies TLS).
pub const ROOT_CA: Opt = valued(
    "--mqtt-root-ca",
    "path",
    "MQTT_FORWARD_ROOT_CA",
    &[(Group::Tls, "CAs to trust (default: the\npublic web roots)")],
);
/// `--mqtt-certificate` (setting it implies TLS).
pub const CERTIFICATE: Opt = valued(
    "--mqtt-certificate",
    "path",
    "MQTT_FORWARD_CERTIFICATE",
    &[(Group::Tls, "client certificate (mutual TLS)")],
);
/// `--mqtt-private-key` (setting it implies TLS).
pub const PRIVATE_KEY: Opt = valued(
    "--mqtt-private-key",
    "path",
    "MQTT_FORWARD_PRIVATE_KEY",
    &[(Group::Tls, "its key (mode 600)")],
);
/// `--psk-file`.
pub const PSK_FILE: Opt = valued(
    "--psk-file",
    "path",
    "MQTT_FORWARD_PSK_FILE",
    &[(
        Group::Security,
        "pre-shared key (64 hex digits,\nmode 600; openssl rand -hex 32):\n\
         authenticates and encrypts every\nsession and beacon",
    )],
);
/// `-s`/`--server`.
pub const SERVER: Opt = short_switch("--server", 's', &[(Group::Server, "be the server side")]);
/// `-a`/`--addr`: the target (server side) or the listener (client side).
pub const ADDR: Opt = Opt {
    short: Some('a'),
    ..valued(
        "--addr",
        "address",
        "MQTT_FORWARD_ADDR",
        &[
            (Group::Server, "target address (default\n127.0.0.1)"),
            (Group::Client, "listen address (default\n127.0.0.1)"),
        ],
    )
};
/// `-p`/`--port`: the target (server side) or the listener (client side).
pub const PORT: Opt = Opt {
    short: Some('p'),
    ..valued(
        "--port",
        "port",
        "MQTT_FORWARD_PORT",
        &[
            (Group::Server, "target port (default 22)"),
            (
                Group::Client,
                "listen port (default 22: below\n1024 needs root; e.g. -p 2222)",
            ),
        ],
    )
};
/// `--allow-remote` (repeatable; the variable's rules are separated by
/// commas or spaces).
pub const ALLOW_REMOTE: Opt = Opt {
    env_note: "(comma-separated)",
    ..valued(
        "--allow-remote",
        "target",
        "MQTT_FORWARD_ALLOW_REMOTE",
        &[(
            Group::Server,
            "also dial this target when a\nclient asks (repeatable;\n\
             HOST:PORT, HOST:*, 10.0.0.0/8:22;\ndefault: only -a/-p)",
        )],
    )
};
/// `-b`/`--beacon`.
pub const BEACON: Opt = short_switch(
    "--beacon",
    'b',
    &[(Group::Server, "publish a beacon every 3 s (for -l)")],
);
/// `--remote-ip`.
pub const REMOTE_IP: Opt = valued(
    "--remote-ip",
    "ipv4",
    "MQTT_FORWARD_REMOTE_IP",
    &[(
        Group::Client,
        "ask the server side for this\ntarget address (it must allow it)",
    )],
);
/// `--remote-port`.
pub const REMOTE_PORT: Opt = valued(
    "--remote-port",
    "port",
    "MQTT_FORWARD_REMOTE_PORT",
    &[(Group::Client, "... and port")],
);
/// `--stdio`.
pub const STDIO: Opt = switch(
    "--stdio",
    &[(
        Group::Client,
        "no listener: one session over stdin and stdout,\nfor ssh -o ProxyCommand",
    )],
);
/// `-l`/`--list-servers`, and its pattern (the one argument that follows
/// no option).
pub const LIST_SERVERS: Opt = short_switch(
    "--list-servers",
    'l',
    &[(
        Group::Listing,
        "print the server sides seen within one beacon\nperiod and exit \
         (at most 4096); -l PATTERN:\nonly the ids that match, e.g. -l 'site-*'\n\
         (* any characters, ? one)",
    )],
);
/// `--watch`.
pub const WATCH: Opt = switch(
    "--watch",
    &[(
        Group::Listing,
        "keep the table up to date (redrawn on a terminal)",
    )],
);
/// `--json`.
pub const JSON: Opt = switch(
    "--json",
    &[(
        Group::Listing,
        "with --watch or alone: one JSON object per server\nand line, for scripts",
    )],
);
/// `--window`.
pub const WINDOW: Opt = valued(
    "--window",
    "frames",
    "MQTT_FORWARD_WINDOW",
    &[(
        Group::Tuning,
        "frames in flight per session and\ndirection, at most (default: adapts up\nto 4096; 2..4096)",
    )],
);
/// `--frame-size`.
pub const FRAME_SIZE: Opt = valued(
    "--frame-size",
    "bytes",
    "MQTT_FORWARD_FRAME_SIZE",
    &[(
        Group::Tuning,
        "stream bytes per frame between\ninstances, at most what the\n\
         broker carries (probed)\n(default 32768, 256..65536)",
    )],
);
/// `--peer-timeout`.
pub const PEER_TIMEOUT: Opt = valued(
    "--peer-timeout",
    "seconds",
    "MQTT_FORWARD_PEER_TIMEOUT",
    &[(
        Group::Tuning,
        "close a session whose peer is\nsilent this long\n(default 180, 1..86400)",
    )],
);
/// `--max-sessions`.
pub const MAX_SESSIONS: Opt = valued(
    "--max-sessions",
    "count",
    "MQTT_FORWARD_MAX_SESSIONS",
    &[(Group::Tuning, "sessions at once (default 1024)")],
);
/// `--max-buffer-memory`.
pub const MAX_BUFFER_MEMORY: Opt = valued(
    "--max-buffer-memory",
    "mib",
    "MQTT_FORWARD_MAX_BUFFER_MEMORY",
    &[(
        Group::Tuning,
        "frame buffers of all sessions\nper direction (default 32)",
    )],
);
/// `-q`/`--quiet`; its variable sets the level for `-q`, `-v` and `-d`
/// alike: `quiet` (warnings and errors), `info`, `debug`, `trace` (also
/// `error`, `warn`).
pub const QUIET: Opt = Opt {
    env: "MQTT_FORWARD_LOG_LEVEL",
    env_note: "(quiet, info, debug,\ntrace)",
    ..short_switch(
        "--quiet",
        'q',
        &[(Group::Logging, "warnings and errors only")],
    )
};
/// `-v`/`--verbose` (repeatable).
pub const VERBOSE: Opt = short_switch(
    "--verbose",
    'v',
    &[(Group::Logging, "session details; -vv: every\nframe")],
);
/// `-d`/`--debug`: as `-v`.
pub const DEBUG: Opt = short_switch(
    "--debug",
    'd',
    &[(Group::Logging, "as -v (the C original's flag)")],
);
/// `--no-timestamps`; its variable is `on` or `off` (also `1`/`0`,
/// `yes`/`no`, `true`/`false`).
pub const NO_TIMESTAMPS: Opt = Opt {
    env: "MQTT_FORWARD_LOG_TIMESTAMPS",
    env_note: "(on, off)",
    ..switch(
        "--no-timestamps",
        &[(
            Group::Logging,
            "leave them to journald or logd\n(off under systemd anyway)",
        )],
    )
};
/// `-h`/`--help` (argh's help trigger, not a field of `Args`).
pub const HELP: Opt = short_switch("--help", 'h', &[(Group::Other, "this text")]);
/// `-V`/`--version`.
pub const VERSION: Opt = short_switch(
    "--version",
    'V',
    &[(Group::Other, "version, commit and target")],
);

/// Every flag, in help order.
pub const OPTIONS: &[Opt] = &[
    MQTT_HOST,
    MQTT_PORT,
    SERVER_SIDE_ID,
    TOPIC_PREFIX,
    QOS,
    MAX_RATE,
    MAX_BANDWIDTH,
    MAX_SUBSCRIPTIONS,
    BROKER_PROFILE,
    CLIENT_ID,
    USERNAME,
    PASSWORD,
    TLS,
    ROOT_CA,
    CERTIFICATE,
    PRIVATE_KEY,
    PSK_FILE,
    SERVER,
    ADDR,
    PORT,
    ALLOW_REMOTE,
    BEACON,
    REMOTE_IP,
    REMOTE_PORT,
    STDIO,
    LIST_SERVERS,
    WATCH,
    JSON,
    WINDOW,
    FRAME_SIZE,
    PEER_TIMEOUT,
    MAX_SESSIONS,
    MAX_BUFFER_MEMORY,
    QUIET,
    VERBOSE,
    DEBUG,
    NO_TIMESTAMPS,
    HELP,
    VERSION,
];
