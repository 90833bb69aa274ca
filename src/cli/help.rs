//! The `--help` text: grouped by what a flag is for, with its default and
//! its environment variable, ending with examples. Written by hand (argh
//! prints one flat list); a test checks that it names every flag argh
//! knows and every environment variable.

/// The help text (`prog` is the program name).
pub fn text(prog: &str) -> String {
    HELP.replace("{prog}", prog)
}

const HELP: &str = "\
Usage: {prog} -s [options]   server side: serve sessions from the broker
       {prog} [options]      client side: tunnel every local connection
       {prog} -l [--watch]   list the server sides that publish beacons

Forward TCP connections (typically SSH) between two networks whose only
common point is an MQTT broker. Both sides need --mqtt-host and the same
--server-side-id (-l needs no id).

Broker (both sides)                                          environment variable
  --mqtt-host <host>        broker host name or address      MQTT_FORWARD_MQTT_HOST
  --mqtt-port <port>        default 1883, 8883 with TLS      MQTT_FORWARD_MQTT_PORT
  --server-side-id <id>     names the server side            MQTT_FORWARD_SERVER_ID
  --mqtt-topic-prefix <p>   first topic level (default ssh)  MQTT_FORWARD_TOPIC_PREFIX
  --mqtt-qos <0|1|2>        default 1                        MQTT_FORWARD_MQTT_QOS
  --client-id <id>          client side and -l (default      MQTT_FORWARD_CLIENT_ID
                            mqtt-forward-<random>)
  --mqtt-username <name>                                     MQTT_FORWARD_MQTT_USERNAME
  --mqtt-password <pw>      visible in ps: prefer the        MQTT_FORWARD_MQTT_PASSWORD
                            variable

TLS to the broker
  -t, --tls                 TLS (implied by the three below)
  --mqtt-root-ca <path>     CAs to trust (default: the       MQTT_FORWARD_ROOT_CA
                            public web roots)
  --mqtt-certificate <path> client certificate (mutual TLS)  MQTT_FORWARD_CERTIFICATE
  --mqtt-private-key <path> its key (mode 600)               MQTT_FORWARD_PRIVATE_KEY

End-to-end security (both sides)
  --psk-file <path>         pre-shared key (64 hex digits,   MQTT_FORWARD_PSK_FILE
                            mode 600; openssl rand -hex 32):
                            authenticates and encrypts every
                            session and beacon

Server side (-s)
  -s, --server              be the server side
  -a, --addr <address>      target address (default          MQTT_FORWARD_ADDR
                            127.0.0.1)
  -p, --port <port>         target port (default 22)         MQTT_FORWARD_PORT
  --allow-remote <target>   also dial this target when a     MQTT_FORWARD_ALLOW_REMOTE
                            client asks (repeatable;         (comma-separated)
                            HOST:PORT, HOST:*, 10.0.0.0/8:22;
                            default: only -a/-p)
  -b, --beacon              publish a beacon every 3 s (for -l)

Client side (default)
  -a, --addr <address>      listen address (default          MQTT_FORWARD_ADDR
                            127.0.0.1)
  -p, --port <port>         listen port (default 22: below   MQTT_FORWARD_PORT
                            1024 needs root; e.g. -p 2222)
  --remote-ip <ipv4>        ask the server side for this     MQTT_FORWARD_REMOTE_IP
                            target address (it must allow it)
  --remote-port <port>      ... and port                     MQTT_FORWARD_REMOTE_PORT
  --stdio                   no listener: one session over stdin and stdout,
                            for ssh -o ProxyCommand

Listing (-l)
  -l, --list-servers        print the server sides seen within one beacon
                            period and exit
  --watch                   keep the table up to date (redrawn on a terminal)
  --json                    with --watch or alone: one JSON object per server
                            and line, for scripts

Tuning
  --window <frames>         frames in flight per session and MQTT_FORWARD_WINDOW
                            direction (default 32, 2..4096)
  --frame-size <bytes>      stream bytes per frame between   MQTT_FORWARD_FRAME_SIZE
                            instances, at most what the
                            broker carries (probed)
                            (default 32768, 256..65536)
  --peer-timeout <seconds>  close a session whose peer is    MQTT_FORWARD_PEER_TIMEOUT
                            silent this long
                            (default 180, 1..86400)
  --max-sessions <count>    sessions at once (default 1024)  MQTT_FORWARD_MAX_SESSIONS
  --max-buffer-memory <mib> frame buffers of all sessions    MQTT_FORWARD_MAX_BUFFER_MEMORY
                            per direction (default 32)

Logging (stderr)
  -q, --quiet               warnings and errors only         MQTT_FORWARD_LOG_LEVEL
  -v, --verbose             session details; -vv: every      (quiet, info, debug,
                            frame                            trace)
  -d, --debug               as -v (the C original's flag)
  --no-timestamps           leave them to journald or logd   MQTT_FORWARD_LOG_TIMESTAMPS
                            (off under systemd anyway)       (on, off)

  -h, --help                this text
  -V, --version             version, commit and target

Flags override the environment; an empty variable counts as unset.
Exit status: 0 done, 1 failure after start-up, 2 bad flags, files or
variables (or a second server side with the same id).

Examples:
  {prog} -s -b --mqtt-host broker.example.net --server-side-id my-pi \\
      --psk-file /etc/mqtt-forward/psk
  {prog} -p 2222 --mqtt-host broker.example.net --server-side-id my-pi \\
      --psk-file ~/.config/mqtt-forward/psk        # then: ssh -p 2222 pi@localhost
  ssh -o ProxyCommand='{prog} --stdio --mqtt-host broker.example.net \\
      --server-side-id my-pi --psk-file ~/.config/mqtt-forward/psk' pi@my-pi
  {prog} -l --mqtt-host broker.example.net
";

/// A parse error of argh in the program's one-line style, e.g. `missing
/// value for --mqtt-host` rather than `No value provided for option
/// '--mqtt-host'.`
pub fn parse_error(argh_text: &str) -> String {
    let text = argh_text.trim().trim_end_matches('.');
    if let Some(rest) = text.strip_prefix("No value provided for option ") {
        return format!("missing value for {}", rest.trim_matches('\''));
    }
    if let Some(rest) = text.strip_prefix("Unrecognized argument: ") {
        return if rest.starts_with('-') {
            format!("unknown option {rest}")
        } else {
            format!("unexpected argument '{rest}' (every value follows its option)")
        };
    }
    if let Some(rest) = text.strip_prefix("Error parsing option ") {
        if let Some((option, _)) = rest.split_once(" with value ") {
            if rest.ends_with("duplicate values provided") {
                return format!("{} given twice", option.trim_matches('\''));
            }
        }
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid arguments".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argh::FromArgs;

    #[test]
    fn argh_errors_read_as_the_programs_own() {
        assert_eq!(
            parse_error("No value provided for option '--mqtt-host'.\n"),
            "missing value for --mqtt-host"
        );
        assert_eq!(
            parse_error("Unrecognized argument: --frob\n"),
            "unknown option --frob"
        );
        assert_eq!(
            parse_error("Unrecognized argument: stray\n"),
            "unexpected argument 'stray' (every value follows its option)"
        );
    }

    #[test]
    fn the_help_names_every_flag_argh_knows_and_every_variable() {
        let argh_help = match super::super::Args::from_args(&["mqtt-forward"], &["--help"]) {
            Err(early) => early.output,
            Ok(_) => panic!("--help parsed"),
        };
        let ours = text("mqtt-forward");
        for word in argh_help.split_whitespace() {
            let flag = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
            if flag.starts_with("--") && flag.len() > 2 && !flag.contains('/') {
                assert!(ours.contains(flag), "{flag} is missing from the help text");
            }
        }
        for var in super::super::ENV_VARS {
            assert!(ours.contains(var), "{var} is missing from the help text");
        }
        assert!(ours.lines().all(|l| l.len() <= 92), "a line is too long");
    }
}
