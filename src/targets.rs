//! Which targets a server side dials: its own `-a`/`-p` always, anything
//! else a client asks for (`--remote-ip`/`--remote-port`) only when an
//! `--allow-remote` rule matches. Default deny: a server side is not an open
//! relay for whoever can publish on the broker.

use std::fmt;
use std::net::Ipv4Addr;

/// The host part of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// An IPv4 range `address/prefix` (a single address is `/32`).
    V4Net { net: u32, prefix: u8 },
    /// A host name or IPv6 literal, compared as text (case-insensitive):
    /// the wire format carries only IPv4 addresses, so a name matches only
    /// the server's own `-a` asked for with another port.
    Name(String),
}

/// One `--allow-remote` rule: `HOST:PORT`, `HOST:*`, `A.B.C.D/N:PORT`...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    host: HostPattern,
    /// `None` for `*`.
    port: Option<u16>,
}

/// The rules of a server side, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowList(Vec<AllowRule>);

/// A target a client asked for, resolved against the server's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested<'a> {
    /// The host to dial as text: the requested IPv4 address, or the
    /// server's `-a`.
    pub host: &'a str,
    /// The requested IPv4 address, if the client named one.
    pub ip: Option<Ipv4Addr>,
    /// The port to dial.
    pub port: u16,
}

/// What is wrong with an `--allow-remote` rule; `Display` says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// Not `HOST:PORT` or `HOST:*`.
    Shape,
    /// The port is not 1..65535 or `*`.
    Port,
    /// The range is not an IPv4 `address/prefix`.
    Range,
    /// The prefix length is not 0..32.
    PrefixLength,
    /// The host is not an address, a range or a name.
    Host,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleError::Shape => "must be HOST:PORT or HOST:* (e.g. 192.168.1.0/24:22)",
            RuleError::Port => "the port must be 1..65535 or *",
            RuleError::Range => "a range must be an IPv4 address/prefix such as 10.0.0.0/8",
            RuleError::PrefixLength => "the prefix length must be 0..32",
            RuleError::Host => "the host must be an IPv4 address, a range or a host name",
        })
    }
}

impl AllowRule {
    /// Parses one rule; the error says what is wrong, in words.
    pub fn parse(text: &str) -> Result<AllowRule, RuleError> {
        let (host, port) = text.rsplit_once(':').ok_or(RuleError::Shape)?;
        let port = match port {
            "*" => None,
            p => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or(RuleError::Port)?,
            ),
        };
        let host = if let Some((addr, prefix)) = host.split_once('/') {
            let addr: Ipv4Addr = addr.parse().map_err(|_| RuleError::Range)?;
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|p| *p <= 32)
                .ok_or(RuleError::PrefixLength)?;
            HostPattern::V4Net {
                net: u32::from(addr) & mask(prefix),
                prefix,
            }
        } else if let Ok(addr) = host.parse::<Ipv4Addr>() {
            HostPattern::V4Net {
                net: u32::from(addr),
                prefix: 32,
            }
        } else {
            let name = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            let valid = !name.is_empty()
                && name.len() <= 253
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
            if !valid {
                return Err(RuleError::Host);
            }
            HostPattern::Name(name.to_ascii_lowercase())
        };
        Ok(AllowRule { host, port })
    }

    fn permits(&self, target: &Requested<'_>) -> bool {
        if self.port.is_some_and(|p| p != target.port) {
            return false;
        }
        let ip = target.ip.or_else(|| target.host.parse().ok());
        match &self.host {
            HostPattern::V4Net { net, prefix } => {
                ip.is_some_and(|ip| u32::from(ip) & mask(*prefix) == *net)
            }
            HostPattern::Name(name) => {
                target.ip.is_none() && target.host.eq_ignore_ascii_case(name)
            }
        }
    }
}

/// The network mask of a prefix length.
fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostPattern::V4Net { net, prefix: 32 } => write!(f, "{}", Ipv4Addr::from(*net))?,
            HostPattern::V4Net { net, prefix } => write!(f, "{}/{prefix}", Ipv4Addr::from(*net))?,
            HostPattern::Name(name) if name.contains(':') => write!(f, "[{name}]")?,
            HostPattern::Name(name) => f.write_str(name)?,
        }
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => f.write_str(":*"),
        }
    }
}

impl AllowList {
    /// A list of rules.
    pub fn new(rules: Vec<AllowRule>) -> AllowList {
        AllowList(rules)
    }

    /// True if any rule matches `target`.
    pub fn permits(&self, target: &Requested<'_>) -> bool {
        self.0.iter().any(|rule| rule.permits(target))
    }

    /// True when no rule is given (only the server's own target).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: &str, port: u16) -> Requested<'_> {
        Requested {
            host,
            ip: host.parse().ok(),
            port,
        }
    }

    fn list(rules: &[&str]) -> AllowList {
        AllowList::new(rules.iter().map(|r| AllowRule::parse(r).unwrap()).collect())
    }

    #[test]
    fn an_empty_list_permits_nothing() {
        assert!(!AllowList::default().permits(&req("127.0.0.1", 22)));
    }

    #[test]
    fn an_address_rule_matches_its_port_or_any_port() {
        let l = list(&["10.0.0.5:80", "10.0.0.6:*"]);
        assert!(l.permits(&req("10.0.0.5", 80)));
        assert!(!l.permits(&req("10.0.0.5", 81)));
        assert!(l.permits(&req("10.0.0.6", 1)));
        assert!(l.permits(&req("10.0.0.6", 65535)));
        assert!(!l.permits(&req("10.0.0.7", 80)));
    }

    #[test]
    fn a_range_rule_matches_the_addresses_in_it() {
        let l = list(&["192.168.1.77/24:22"]);
        assert!(l.permits(&req("192.168.1.1", 22)));
        assert!(l.permits(&req("192.168.1.254", 22)));
        assert!(!l.permits(&req("192.168.2.1", 22)));
        assert!(!l.permits(&req("192.168.1.1", 23)));
        assert!(list(&["0.0.0.0/0:*"]).permits(&req("8.8.8.8", 53)));
        assert_eq!(
            list(&["192.168.1.77/24:22"]).to_string(),
            "192.168.1.0/24:22"
        );
    }

    #[test]
    fn a_name_rule_matches_the_servers_own_host_with_another_port_only() {
        let l = list(&["Router.LAN:*"]);
        let own = Requested {
            host: "router.lan",
            ip: None,
            port: 80,
        };
        assert!(l.permits(&own));
        // An address that happens to be the name's is not resolved.
        assert!(!l.permits(&req("192.168.1.1", 80)));
        assert!(list(&["[::1]:8080"]).permits(&Requested {
            host: "::1",
            ip: None,
            port: 8080
        }));
    }

    #[test]
    fn malformed_rules_are_refused_in_words() {
        for bad in [
            "",
            "10.0.0.1",
            "10.0.0.1:",
            "10.0.0.1:0",
            "10.0.0.1:65536",
            "10.0.0.1:x",
            "10.0.0.0/33:22",
            "10.0.0/8:22",
            ":22",
            "a b:22",
            "10.0.0.0/x:*",
        ] {
            let e = AllowRule::parse(bad).expect_err(bad);
            let e = e.to_string();
            assert!(!e.is_empty() && !e.contains('\n'), "{bad}: {e}");
        }
    }
}
