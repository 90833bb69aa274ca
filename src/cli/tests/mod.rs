//! Tests of the command-line and environment parsing.
use super::*;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::build::MAX_PEER_TIMEOUT_SECS;
use super::modes::random_client_id;
use super::option_lists::LONG_VALUED;
use super::options::{self as opt};
use crate::config::{BrokerConfig, BrokerNode, Mode, Secret, TlsFiles, Tuning};
use crate::protocol::limits::{
    DEFAULT_FRAME_DATA, DEFAULT_MAX_BUFFER_MIB, DEFAULT_MAX_SESSIONS, DEFAULT_PEER_TIMEOUT,
    DEFAULT_WINDOW, MAX_FRAME_DATA, MAX_TOPIC_LEVEL_LEN, MAX_WINDOW, MIN_FRAME_DATA, MIN_WINDOW,
};
use crate::secure::psk::Psk;
use crate::targets::AllowList;

const ID: &str = "office";
const HOST: &str = "broker.example";

/// An environment made of `pairs`.
fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn run_with(args: &[&str], env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<String>) {
    match parse("mqtt-forward", args, env) {
        Ok(Parsed::Run(config, warnings)) => (config, warnings),
        other => panic!("expected Run for {args:?}, got {other:?}"),
    }
}

fn run(args: &[&str]) -> (Config, Vec<String>) {
    run_with(args, &no_env)
}

fn error_with(args: &[&str], env: &dyn Fn(&str) -> Option<String>) -> String {
    match parse("mqtt-forward", args, env) {
        Err(err) => {
            assert_eq!(err.exit_code(), 2);
            let text = err.to_string();
            assert!(!text.contains('\n'), "multi-line error: {text:?}");
            assert!(!text.is_empty());
            text
        }
        other => panic!("expected an error for {args:?}, got {other:?}"),
    }
}

fn error(args: &[&str]) -> String {
    error_with(args, &no_env)
}

/// Server-mode args with the mandatory settings plus `extra`.
fn server<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-s", "--mqtt-host", HOST, "--server-side-id", ID];
    args.extend_from_slice(extra);
    args
}

/// Client-mode args with the mandatory settings plus `extra`.
fn client<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--mqtt-host", HOST, "--server-side-id", ID];
    args.extend_from_slice(extra);
    args
}

/// List-mode args with the mandatory settings plus `extra`.
fn list<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-l", "--mqtt-host", HOST];
    args.extend_from_slice(extra);
    args
}

fn is_random_client_id(id: &str) -> bool {
    id.strip_prefix("mqtt-forward-").is_some_and(|hex| {
        hex.len() == 12 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    })
}

/// A scratch directory with a readable PEM-named file inside.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "mqtt-forward-cli-test-{}-{tag}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self { dir }
    }

    /// A scratch file readable by its owner only (as a private key must be).
    fn file(&self, name: &str) -> String {
        self.file_with_mode(name, 0o600)
    }

    fn file_with_mode(&self, name: &str, mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.join(name);
        std::fs::write(&path, "-----BEGIN TEST-----\n").expect("write scratch file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("chmod scratch file");
        path.to_str().expect("utf-8 temp path").to_owned()
    }

    fn dir(&self) -> String {
        self.dir.to_str().expect("utf-8 temp path").to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn default_tuning() -> Tuning {
    Tuning {
        window_frames: DEFAULT_WINDOW,
        frame_data: DEFAULT_FRAME_DATA,
        probe_frame_size: true,
        peer_timeout: DEFAULT_PEER_TIMEOUT,
        max_sessions: DEFAULT_MAX_SESSIONS,
        max_buffer_memory: DEFAULT_MAX_BUFFER_MIB * 1024 * 1024,
    }
}

mod command_line;
mod credentials;
mod defaults;
mod environment;
mod files;
mod flags;
mod getopt;
mod help_and_version;
mod logging;
mod option_table;
mod profiles;
mod server_targets;
mod values;
mod warnings;
