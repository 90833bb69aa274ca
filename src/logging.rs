//! The log: simple_logger's line format (timestamp when built with the
//! `timestamps` feature, level, `[source]`, message) on stderr, with this
//! program's lines tagged `[mqtt-forward]` instead of a Rust module path
//! (`[mqtt_forward::shell::server]` means nothing to a user or to syslog).
//! Other crates' lines keep their own name. Every line's message is
//! escaped ([`Printable`]): topics, ids and banners from the broker reach
//! the terminal or the journal as text, never as control sequences.

use log::{LevelFilter, Log, Metadata, Record};
use simple_logger::SimpleLogger;

use crate::printable::Printable;

/// What this program's lines show as their source.
const PROGRAM: &str = "mqtt-forward";
/// The module-path prefix of this program's own log records.
const OWN_TARGET_PREFIX: &str = "mqtt_forward";

/// simple_logger, with this program's record targets replaced.
struct ProgramLogger(SimpleLogger);

impl Log for ProgramLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        let target = if record.target().starts_with(OWN_TARGET_PREFIX) {
            PROGRAM
        } else {
            record.target()
        };
        self.0.log(
            &Record::builder()
                .args(format_args!("{}", Printable(record.args())))
                .level(record.level())
                .target(target)
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// Installs the logger at `level`, with or without timestamps (once; a
/// second call changes nothing). A build without the `timestamps` feature
/// has none.
pub fn init(level: LevelFilter, timestamps: bool) {
    let inner = SimpleLogger::new().with_level(level);
    #[cfg(feature = "timestamps")]
    let inner = if timestamps {
        inner
    } else {
        inner.without_timestamps()
    };
    #[cfg(not(feature = "timestamps"))]
    let _ = timestamps;
    let max = inner.max_level();
    if log::set_boxed_logger(Box::new(ProgramLogger(inner))).is_ok() {
        log::set_max_level(max);
    }
}
