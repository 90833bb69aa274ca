//! A value the user gave, and where it came from (a flag or an environment
//! variable), for messages.

use std::fmt;

use super::opt::Opt;

/// Where a value came from: a flag or an environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A flag: `-p/--port`, or `--mqtt-host` for one without short form.
    Flag(Option<char>, &'static str),
    /// An environment variable.
    Env(&'static str),
}

impl Source {
    /// The flag `opt` itself.
    #[must_use]
    pub const fn flag(opt: &Opt) -> Source {
        Source::Flag(opt.short, opt.long)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Source::Flag(Some(letter), long) => write!(f, "-{letter}/{long}"),
            Source::Flag(None, name) | Source::Env(name) => f.write_str(name),
        }
    }
}

/// A user-supplied value and where it came from, for error messages and
/// warnings.
#[derive(Debug, Clone)]
pub struct Given {
    /// The value as given.
    pub value: String,
    /// The flag or variable that gave it.
    pub source: Source,
}
