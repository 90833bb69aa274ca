//! Syntax of a host given on the command line (`-a`, `--mqtt-host`): an IP
//! literal or a host name that could exist, checked before any network
//! activity. Whether the name resolves is known only later.

use std::net::{IpAddr, Ipv6Addr};

/// The host to use (an IPv6 literal without its brackets), or why `text`
/// cannot be one.
pub fn check(text: &str) -> Result<String, &'static str> {
    if text.is_empty() {
        return Err("must not be empty");
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return match inner.parse::<Ipv6Addr>() {
            Ok(_) => Ok(inner.to_owned()),
            Err(_) => Err("not a valid IPv6 address"),
        };
    }
    if text.parse::<IpAddr>().is_ok() {
        return Ok(text.to_owned());
    }
    if text.contains(':') {
        return Err("not a valid IPv6 address");
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("not a valid IPv4 address (four numbers 0..255, such as 192.168.1.10)");
    }
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.len() > 253 {
        return Err("a host name is at most 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("a host name is dot-separated labels of 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("a host name has only letters, digits, '-' and '.'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a host name label does not start or end with '-'");
        }
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_and_host_names_pass() {
        for ok in [
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "localhost",
            "broker.example.net",
            "my-pi",
            "node_1.lan",
            "example.com.",
            "a1.b2",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        assert_eq!(check("[::1]").unwrap(), "::1");
    }

    #[test]
    fn malformed_addresses_and_names_are_refused_in_words() {
        for bad in [
            "",
            "1.2.3.999",
            "1.2.3",
            "256.0.0.1",
            "[::g]",
            "::g",
            "a..b",
            "-a.b",
            "a-.b",
            "a b",
            "host/x",
            "x".repeat(64).as_str(),
            "1.2.3.4.5",
        ] {
            let e = check(bad).expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
    }
}
