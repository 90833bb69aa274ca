//! The help groups of the option table, and the lists derived from the
//! table when compiling: the environment variables and the getopt letters
//! and names.

use super::opt::Opt;
use super::options::OPTIONS;

/// A list derived from [`OPTIONS`].
#[derive(Clone, Copy)]
enum List {
    /// The environment variables.
    Variables,
    /// The long names of the options that take a value.
    ValuedLongs,
    /// The short letters of the options that take a value.
    ValuedShorts,
    /// The short letters of the switches.
    SwitchShorts,
}

/// Whether `opt` belongs in `list`.
const fn belongs(opt: &Opt, list: List) -> bool {
    match list {
        List::Variables => !opt.env.is_empty(),
        List::ValuedLongs => opt.takes_value(),
        List::ValuedShorts => opt.short.is_some() && opt.takes_value(),
        List::SwitchShorts => opt.short.is_some() && !opt.takes_value(),
    }
}

/// How many options belong in `list`.
const fn count(list: List) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < OPTIONS.len() {
        if belongs(&OPTIONS[i], list) {
            count += 1;
        }
        i += 1;
    }
    count
}

/// The variables or long names of the options in `list`, in table order.
const fn names<const N: usize>(list: List) -> [&'static str; N] {
    let mut names = [""; N];
    let mut count = 0;
    let mut i = 0;
    while i < OPTIONS.len() {
        if belongs(&OPTIONS[i], list) {
            names[count] = match list {
                List::Variables => OPTIONS[i].env,
                _ => OPTIONS[i].long,
            };
            count += 1;
        }
        i += 1;
    }
    names
}

/// The short letters of the options in `list`, in table order.
const fn letters<const N: usize>(list: List) -> [char; N] {
    let mut letters = [' '; N];
    let mut count = 0;
    let mut i = 0;
    while i < OPTIONS.len() {
        if let (true, Some(letter)) = (belongs(&OPTIONS[i], list), OPTIONS[i].short) {
            letters[count] = letter;
            count += 1;
        }
        i += 1;
    }
    letters
}

/// Every environment variable the program reads.
pub const ENV_VARS: [&str; count(List::Variables)] = names(List::Variables);

/// The long options that take a value (`--port`).
pub const LONG_VALUED: [&str; count(List::ValuedLongs)] = names(List::ValuedLongs);

/// The single-letter options that take a value (`-p`).
pub const SHORT_VALUED: [char; count(List::ValuedShorts)] = letters(List::ValuedShorts);

/// The single-letter switches (`-s`), as in the C original's getopt string.
pub const SHORT_SWITCHES: [char; count(List::SwitchShorts)] = letters(List::SwitchShorts);
