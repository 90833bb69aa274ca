//! mqtt-forward: forward TCP connections (typically SSH) between two
//! networks whose only common point is an MQTT broker.

mod cli;
mod config;
mod protocol;
mod reliable;
mod shell;

use std::process::exit;

use cli::Parsed;

/// Exit code for a failure after start-up (broker unreachable in `-l`,
/// listener cannot bind, …). Usage errors exit with [`cli::EXIT_USAGE`].
const EXIT_FAILURE: i32 = 1;

fn main() {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect()
    {
        Ok(args) => args,
        Err(bad) => {
            eprintln!("mqtt-forward: argument {bad:?} is not valid UTF-8");
            exit(cli::EXIT_USAGE);
        }
    };
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
    let level = if config.debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    };
    // rumqttc's own messages duplicate ours; keep only its warnings.
    let _ = simple_logger::SimpleLogger::new()
        .with_level(level)
        .with_module_level("rumqttc", log::LevelFilter::Warn)
        .init();
    for warning in &warnings {
        log::warn!("{warning}");
    }
    if config.broker.tls.is_some() {
        eprintln!("mqtt-forward: TLS (--tls and the certificate options) is not yet supported; refusing to connect in plain text");
        exit(cli::EXIT_USAGE);
    }
    if let Err(e) = shell::run(config) {
        eprintln!("mqtt-forward: {e}");
        exit(EXIT_FAILURE);
    }
}
