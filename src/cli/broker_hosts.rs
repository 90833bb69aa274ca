//! `--mqtt-host`'s list, `host[:port][,host[:port]...]`: the nodes of a
//! broker cluster or a bridged pair, tried in order. Each host is checked
//! like a single one (`host.rs`); an IPv6 literal with a port is written in
//! brackets (`[::1]:1884`), a bare one takes the default port.

use super::host;

/// Nodes a list may name: enough for any cluster a client is given the
/// nodes of (beyond that, a load balancer or DNS name is the way), few
/// enough that one round of attempts stays short.
pub const MAX_BROKER_NODES: usize = 16;

/// One entry of the list: the host (an IPv6 literal without brackets) and
/// its port if the entry names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub host: String,
    pub port: Option<u16>,
}

/// The entries of `text`, or why it is not a list of hosts (one line,
/// naming the entry at fault).
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    let mut entries: Vec<Entry> = Vec::new();
    for raw in text.split(',') {
        let item = raw.trim();
        let entry = entry(item).map_err(|why| {
            if text.contains(',') {
                format!("entry '{item}': {why}")
            } else {
                why.to_owned()
            }
        })?;
        if entries.contains(&entry) {
            return Err(format!("'{item}' is listed twice"));
        }
        entries.push(entry);
    }
    if entries.len() > MAX_BROKER_NODES {
        return Err(format!(
            "names {} hosts; at most {MAX_BROKER_NODES}",
            entries.len()
        ));
    }
    Ok(entries)
}

/// One `host[:port]`.
fn entry(item: &str) -> Result<Entry, &'static str> {
    if item.is_empty() {
        return Err("an empty host (two commas, or a comma at an end)");
    }
    let (host_part, port_part) = split_port(item);
    let port = port_part.map(port).transpose()?;
    Ok(Entry {
        host: host::check(host_part)?,
        port,
    })
}

/// `host` and `port` of `host:port` or `[v6]:port`; a bare IPv6 literal
/// (two colons or more) has no port.
fn split_port(item: &str) -> (&str, Option<&str>) {
    if item.starts_with('[') {
        if let Some(end) = item.find("]:") {
            return (&item[..=end], Some(&item[end + 2..]));
        }
        return (item, None);
    }
    match item.split_once(':') {
        Some((host, port)) if !port.contains(':') => (host, Some(port)),
        _ => (item, None),
    }
}

fn port(text: &str) -> Result<u16, &'static str> {
    text.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or("the port after ':' must be an integer in 1..65535")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<(String, Option<u16>)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.host, e.port))
            .collect()
    }

    #[test]
    fn a_single_host_is_a_list_of_one_without_a_port() {
        assert_eq!(hosts("broker.lan"), [("broker.lan".to_owned(), None)]);
        assert_eq!(hosts("::1"), [("::1".to_owned(), None)]);
        assert_eq!(hosts("[::1]"), [("::1".to_owned(), None)]);
    }

    #[test]
    fn entries_may_name_their_own_ports_and_spaces_around_them_are_ignored() {
        assert_eq!(
            hosts("node-a:1884, node-b ,[fe80::1]:1885,10.0.0.3:1883"),
            [
                ("node-a".to_owned(), Some(1884)),
                ("node-b".to_owned(), None),
                ("fe80::1".to_owned(), Some(1885)),
                ("10.0.0.3".to_owned(), Some(1883)),
            ]
        );
    }

    #[test]
    fn bad_entries_are_named_in_the_error() {
        for (text, needle) in [
            ("a,,b", "entry '': an empty host"),
            ("a,", "entry '': an empty host"),
            ("a:0", "port after ':'"),
            ("a:99999", "port after ':'"),
            ("a:x", "port after ':'"),
            ("a,b:70000", "entry 'b:70000'"),
            ("a,bad host", "entry 'bad host'"),
            ("[::1]:1884,[::1]:1884", "'[::1]:1884' is listed twice"),
            ("", "must not be empty"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn a_list_holds_at_most_the_bound() {
        let ok: Vec<String> = (0..MAX_BROKER_NODES).map(|i| format!("n{i}")).collect();
        assert_eq!(parse(&ok.join(",")).unwrap().len(), MAX_BROKER_NODES);
        let too_many: Vec<String> = (0..=MAX_BROKER_NODES).map(|i| format!("n{i}")).collect();
        assert!(parse(&too_many.join(","))
            .unwrap_err()
            .contains("at most 16"));
    }
}
