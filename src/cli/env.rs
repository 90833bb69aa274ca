//! The environment fallback: a flag's value if given, else its variable's
//! (from the option table) if set and not empty, with where it came from
//! for messages.

use super::checks::invalid;
pub use super::given::{Given, Source};
use super::options::ALLOW_REMOTE;
use super::CliError;
use crate::targets::{AllowList, AllowRule};

/// The environment lookup (injected, so that tests do not touch the real
/// environment).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

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
