//! The environment fallback: a flag's value if given, else its variable's
//! (from the option table) if set and not empty, with where it came from
//! for messages.

use std::fmt;

use super::checks::invalid;
use super::options::{Opt, ALLOW_REMOTE};
use super::CliError;
use crate::targets::{AllowList, AllowRule};

/// The environment lookup (injected, so that tests do not touch the real
/// environment).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

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

/// The value of the variable `name` if it is set and not empty.
#[must_use]
pub fn variable(env: Env<'_>, name: &'static str) -> Option<Given> {
    env(name)
        .filter(|value| !value.is_empty())
        .map(|value| Given {
            value,
            source: Source::Env(name),
        })
}

/// The flag's value if given (the flag is `-short/long`, or `long`
/// without a short form), else the environment variable `var`'s if set and
/// not empty.
#[must_use]
pub fn pick(
    short: Option<char>,
    long: &'static str,
    var: &'static str,
    flag: Option<String>,
    env: Env<'_>,
) -> Option<Given> {
    match flag {
        Some(value) => Some(Given {
            value,
            source: Source::Flag(short, long),
        }),
        None => variable(env, var),
    }
}

/// The `--allow-remote` rules (flags, else the environment variable, whose
/// rules are separated by commas or spaces) and where they came from, if
/// anywhere.
pub fn allow_rules(
    flags: Vec<String>,
    env: Env<'_>,
) -> Result<(AllowList, Option<Source>), CliError> {
    let (texts, source) = if !flags.is_empty() {
        (flags, const { Source::flag(&ALLOW_REMOTE) })
    } else {
        match variable(env, ALLOW_REMOTE.env) {
            Some(given) => (
                given
                    .value
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                given.source,
            ),
            None => return Ok((AllowList::default(), None)),
        }
    };
    let rules = texts
        .into_iter()
        .map(|value| {
            let given = Given { value, source };
            AllowRule::parse(&given.value).map_err(|why| invalid(&given, why))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((AllowList::new(rules), Some(source)))
}
