//! mqtt-forward: forward TCP connections (typically SSH) between two
//! networks whose only common point is an MQTT broker.
//!
//! The library holds everything; `src/main.rs` is the command-line entry
//! point. The library exists so that the fuzz targets (`test/fuzz/`) and
//! benchmarks can drive the sans-IO core (`protocol`, `reliable`) directly.

pub mod cli;
pub mod config;
pub mod error;
pub mod logging;
pub mod mqtt;
pub mod printable;
pub mod protocol;
pub mod reliable;
pub mod router;
pub mod secure;
pub mod shell;
pub mod targets;
pub mod tls;
