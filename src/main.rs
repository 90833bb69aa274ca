//! mqtt-forward: forward TCP connections (typically SSH) between two
//! networks whose only common point is an MQTT broker.

use std::process::exit;

use mqtt_forward::cli::{self, Parsed};
use mqtt_forward::{logging, shell, tls};

fn main() {
    let mut args = Vec::new();
    for (position, arg) in std::env::args_os().skip(1).enumerate() {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            // Not quoted: it could be a password.
            Err(_) => {
                eprintln!(
                    "mqtt-forward: argument #{} is not valid UTF-8",
                    position + 1
                );
                exit(cli::EXIT_USAGE);
            }
        }
    }
    // A variable that is set but not UTF-8 must not count as unset.
    for name in cli::ENV_VARS {
        if std::env::var_os(name).is_some_and(|v| v.to_str().is_none()) {
            eprintln!("mqtt-forward: environment variable {name} is not valid UTF-8");
            exit(cli::EXIT_USAGE);
        }
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = |name: &str| std::env::var(name).ok();
    let (config, warnings) = match cli::parse("mqtt-forward", &argv, &env) {
        Ok(Parsed::Run(config, warnings)) => (config, warnings),
        Ok(Parsed::Exit(code)) => exit(code),
        Err(e) => {
            eprintln!("mqtt-forward: {e}");
            exit(e.exit_code());
        }
    };
    logging::init(config.log_level, config.timestamps);
    for warning in &warnings {
        log::warn!("{warning}");
    }
    if config.log_level > log::STATIC_MAX_LEVEL {
        log::warn!(
            "-v/-d: this build has no debug or per-frame lines (the router build): use the \
             full build"
        );
    }
    // File problems are start-up errors (exit 2), before any connection.
    let tls = match config
        .broker
        .tls
        .as_ref()
        .map(tls::client_config)
        .transpose()
    {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("mqtt-forward: {e}");
            exit(cli::EXIT_USAGE);
        }
    };
    if let Err(e) = shell::run(config, tls) {
        eprintln!("mqtt-forward: {e}");
        exit(e.exit_code());
    }
}
