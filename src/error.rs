//! Why the program stops with an error, and the exit status for each: the
//! one place that decides it. `Display` is one line without the program
//! name; print it as `mqtt-forward: {err}`.

use std::fmt;

use crate::cli::{CliError, EXIT_USAGE};
use crate::shell::RunError;
use crate::tls::TlsError;

/// Every error that ends the program.
#[derive(Debug)]
pub enum Error {
    /// A bad flag, value, environment variable or file (exit 2).
    Usage(CliError),
    /// The TLS files could not be used (a start-up error: exit 2).
    Tls(TlsError),
    /// A failure after start-up (its own exit status).
    Run(RunError),
}

impl Error {
    /// The process exit status.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(e) => e.exit_code(),
            Error::Tls(_) => EXIT_USAGE,
            Error::Run(e) => e.exit_code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(e) => e.fmt(f),
            Error::Tls(e) => e.fmt(f),
            Error::Run(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<CliError> for Error {
    fn from(e: CliError) -> Self {
        Error::Usage(e)
    }
}

impl From<TlsError> for Error {
    fn from(e: TlsError) -> Self {
        Error::Tls(e)
    }
}

impl From<RunError> for Error {
    fn from(e: RunError) -> Self {
        Error::Run(e)
    }
}
