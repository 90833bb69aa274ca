//! mqtt-forward: forward TCP connections (typically SSH) between two
//! networks whose only common point is an MQTT broker.

use std::process::exit;

use mqtt_forward::cli::{self, Parsed};
use mqtt_forward::error::Error;
use mqtt_forward::{logging, shell, tls};

fn main() {
    if let Err(e) = run() {
        // Escaped as the log is: the reason may quote the broker.
        eprintln!("mqtt-forward: {}", mqtt_forward::printable::Printable(&e));
        exit(e.exit_code());
    }
}

/// Parses the command line and the environment, then runs the selected
/// mode; the help and version texts end it at once (status 0).
fn run() -> Result<(), Error> {
    let args = cli::utf8_args(std::env::args_os().skip(1))?;
    cli::check_env_utf8(|name: &str| std::env::var_os(name))?;
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = |name: &str| std::env::var(name).ok();
    let (config, warnings) = match cli::parse("mqtt-forward", &argv, &env)? {
        Parsed::Run(config, warnings) => (config, warnings),
        Parsed::Exit(_) => return Ok(()),
    };
    logging::init(config.log_level, config.timestamps);
    for warning in &warnings {
        log::warn!("{warning}");
    }
    if let Some(line) = &config.profile_line {
        log::info!("{line}");
    }
    if config.log_level > log::STATIC_MAX_LEVEL {
        log::warn!(
            "-v/-d: this build has no debug or per-frame lines (the router build): use the \
             full build"
        );
    }
    // File problems are start-up errors (exit 2), before any connection.
    let tls = config
        .broker
        .tls
        .as_ref()
        .map(tls::client_config)
        .transpose()?;
    shell::run(config, tls)?;
    Ok(())
}
