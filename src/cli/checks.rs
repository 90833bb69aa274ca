//! Value checks: every value given on the command line or in the
//! environment is parsed here, and a bad one becomes a one-line
//! [`CliError`] naming its flag or variable and the value.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::given::Given;
use super::quote::shown;
use super::{host, CliError};
use crate::protocol::limits::MAX_TOPIC_LEVEL_LEN;

/// An MQTT UTF-8 string (such as the client id) is at most this many bytes.
pub const MAX_MQTT_STRING_LEN: usize = 65_535;

/// `invalid <source> '<value>': <reason>`.
pub fn invalid(given: &Given, reason: impl fmt::Display) -> CliError {
    CliError::new(format!(
        "invalid {} '{}': {reason}",
        given.source,
        shown(&given.value)
    ))
}

/// A decimal integer in `min..=max`.
pub fn integer_in(given: &Given, min: u64, max: u64) -> Result<u64, CliError> {
    given
        .value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| invalid(given, format_args!("must be an integer in {min}..{max}")))
}

/// A decimal integer in `min..=max`, as a `usize`.
pub fn usize_in(given: &Given, min: usize, max: usize) -> Result<usize, CliError> {
    let too_big = || invalid(given, format_args!("must be an integer in {min}..{max}"));
    let min64 = u64::try_from(min).map_err(|_| too_big())?;
    let max64 = u64::try_from(max).map_err(|_| too_big())?;
    let n = integer_in(given, min64, max64)?;
    usize::try_from(n).map_err(|_| too_big())
}

/// A TCP port: 1..65535.
pub fn parse_port(given: &Given) -> Result<u16, CliError> {
    let n = integer_in(given, 1, u64::from(u16::MAX))?;
    u16::try_from(n).map_err(|_| invalid(given, "must be an integer in 1..65535"))
}

/// An MQTT QoS: 0, 1 or 2.
pub fn parse_qos(given: &Given) -> Result<u8, CliError> {
    match given.value.as_str() {
        "0" => Ok(0),
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err(invalid(given, "must be 0, 1 or 2")),
    }
}

/// Smallest `--mqtt-max-bandwidth`, bytes per second: frames are cut to a
/// tenth of it, and below a KiB the headers would be most of each.
pub const MIN_BANDWIDTH: u64 = 10 * 1024;
/// Largest `--mqtt-max-bandwidth` (10 GiB/s).
pub const MAX_BANDWIDTH: u64 = 10 << 30;
/// Largest `--mqtt-max-rate`, publishes per second.
pub const MAX_PUBLISH_RATE: u64 = 1_000_000;
/// Largest `--mqtt-max-subs`.
pub const MAX_SUBSCRIPTIONS_LIMIT: u64 = 1_000_000;

/// Bytes per second: digits with an optional `k` or `m` (times 1024, as
/// curl's `--limit-rate`), in [`MIN_BANDWIDTH`]..[`MAX_BANDWIDTH`].
pub fn parse_bandwidth(given: &Given) -> Result<u64, CliError> {
    let text = given.value.as_str();
    let (digits, scale) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1024),
        Some((i, 'm' | 'M')) => (&text[..i], 1024 * 1024),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| (MIN_BANDWIDTH..=MAX_BANDWIDTH).contains(n))
        .ok_or_else(|| {
            invalid(
                given,
                "must be bytes per second from 10k to 10240m (a number, k or m: times 1024)",
            )
        })
}

/// The IPv4 address a client asks the server side to dial.
pub fn parse_remote_ip(given: &Given) -> Result<Ipv4Addr, CliError> {
    let text = given.value.as_str();
    match text.parse::<Ipv4Addr>() {
        // The wire format encodes "no address" as 0, so 0.0.0.0 could not
        // reach the server side.
        Ok(ip) if ip.is_unspecified() => Err(invalid(
            given,
            "0.0.0.0 cannot be sent (the wire format uses it for 'not set')",
        )),
        Ok(ip) => Ok(ip),
        Err(_) if is_ipv6_literal(text) => Err(invalid(
            given,
            "IPv6 is not supported by the wire format; give an IPv4 address",
        )),
        Err(_) => Err(invalid(given, "must be an IPv4 address such as 192.0.2.10")),
    }
}

/// Whether `text` is an IPv6 address, bracketed or not.
fn is_ipv6_literal(text: &str) -> bool {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    inner.parse::<Ipv6Addr>().is_ok()
}

/// A host name or IP literal, not resolved here (see [`host::check`]).
pub fn check_host(given: &Given) -> Result<String, CliError> {
    host::check(&given.value).map_err(|why| invalid(given, why))
}

/// A single MQTT topic level: the topic prefix or the server-side-id.
pub fn check_topic_level(given: &Given) -> Result<(), CliError> {
    check_text(
        given,
        MAX_TOPIC_LEVEL_LEN,
        &['/', '+', '#', '\0'],
        "'/', '+', '#' or NUL",
    )
}

/// An MQTT UTF-8 string field (client id, user name): non-empty, short
/// enough, no NUL.
pub fn check_mqtt_string(given: &Given) -> Result<(), CliError> {
    check_text(given, MAX_MQTT_STRING_LEN, &['\0'], "NUL")
}

/// A non-empty value of at most `max_len` bytes containing none of
/// `forbidden` (named `forbidden_names` in the error).
fn check_text(
    given: &Given,
    max_len: usize,
    forbidden: &[char],
    forbidden_names: &str,
) -> Result<(), CliError> {
    let value = given.value.as_str();
    if value.is_empty() {
        return Err(invalid(given, "must not be empty"));
    }
    if value.len() > max_len {
        return Err(invalid(
            given,
            format_args!("must be at most {max_len} bytes"),
        ));
    }
    if value.contains(forbidden) {
        return Err(invalid(
            given,
            format_args!("must not contain {forbidden_names}"),
        ));
    }
    Ok(())
}
