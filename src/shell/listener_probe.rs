//! What answers on the broker's port when the MQTT handshake failed in a
//! way that does not say (the peer closed, or sent something that is not
//! MQTT): one short blocking look with a fresh TCP connection. An SSH
//! server sends its banner first; an HTTP server, a TLS listener and an
//! MQTT broker each answer an MQTT CONNECT in their own way.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Longest the look takes per step (connect, first bytes, answer).
const STEP: Duration = Duration::from_millis(700);
/// An MQTT 3.1.1 CONNECT: clean session, keep-alive 60 s, empty client id.
const CONNECT: &[u8] = &[0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0];

/// What answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listener {
    /// An SSH server, with its banner line.
    Ssh(String),
    /// An HTTP server (a WebSocket listener, a web server).
    Http,
    /// A TLS listener.
    Tls,
    /// An MQTT broker over plain TCP.
    Mqtt,
}

/// Classifies the first bytes a listener sent.
pub fn classify(bytes: &[u8]) -> Option<Listener> {
    if bytes.starts_with(b"SSH-") {
        let line = bytes
            .split(|b| *b == b'\r' || *b == b'\n')
            .next()
            .unwrap_or(bytes);
        let shown: String = String::from_utf8_lossy(line).chars().take(60).collect();
        return Some(Listener::Ssh(shown));
    }
    if bytes.starts_with(b"HTTP/") {
        return Some(Listener::Http);
    }
    match bytes {
        // A TLS record (alert or handshake), version 3.x.
        [0x15 | 0x16, 0x03, ..] => Some(Listener::Tls),
        // CONNACK.
        [0x20, 0x02, ..] => Some(Listener::Mqtt),
        _ => None,
    }
}

/// Looks at `host:port`; `None` if nothing telling came back.
pub fn identify(host: &str, port: u16) -> Option<Listener> {
    let addr = (host, port).to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&addr, STEP).ok()?;
    stream.set_read_timeout(Some(STEP)).ok()?;
    let mut buf = [0u8; 256];
    // A server that speaks first (SSH).
    if let Ok(n @ 1..) = stream.read(&mut buf) {
        return classify(&buf[..n]);
    }
    stream.write_all(CONNECT).ok()?;
    match stream.read(&mut buf) {
        Ok(n @ 1..) => classify(&buf[..n]),
        _ => None,
    }
}

/// The sentence for a listener that is not what the configuration expects
/// (`tls`: TLS is on), or `None` when it is.
pub fn mismatch(listener: &Listener, port: u16, tls: bool) -> Option<String> {
    match listener {
        Listener::Ssh(banner) => Some(format!(
            "an SSH server answers on port {port} ({banner}), not an MQTT broker: is \
             --mqtt-port right?"
        )),
        Listener::Http => Some(format!(
            "an HTTP server answers on port {port}, not an MQTT broker over TCP (a WebSocket \
             listener? this program needs a plain or TLS MQTT listener): is --mqtt-port right?"
        )),
        Listener::Tls if !tls => Some(format!(
            "a TLS listener answers on port {port}: add --tls (and --mqtt-root-ca if the \
             broker's CA is your own)"
        )),
        Listener::Mqtt if tls => Some(format!(
            "a plain MQTT listener (no TLS) answers on port {port}: give --mqtt-port the \
             broker's TLS port (8883 by default)"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn first_bytes_tell_ssh_http_tls_and_mqtt_apart() {
        assert_eq!(
            classify(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
            Some(Listener::Ssh("SSH-2.0-OpenSSH_9.2p1 Debian-2".into()))
        );
        assert_eq!(
            classify(b"HTTP/1.1 400 Bad Request\r\n"),
            Some(Listener::Http)
        );
        assert_eq!(
            classify(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]),
            Some(Listener::Tls)
        );
        assert_eq!(classify(&[0x20, 0x02, 0x00, 0x00]), Some(Listener::Mqtt));
        assert_eq!(classify(b"220 smtp ready"), None);
        assert_eq!(classify(&[]), None);
    }

    #[test]
    fn a_local_ssh_banner_and_an_http_reply_are_recognised() {
        let ssh = TcpListener::bind("127.0.0.1:0").unwrap();
        let ssh_port = ssh.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = ssh.accept() {
                let _ = s.write_all(b"SSH-2.0-test\r\n");
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        assert_eq!(
            identify("127.0.0.1", ssh_port),
            Some(Listener::Ssh("SSH-2.0-test".into()))
        );
        let http = TcpListener::bind("127.0.0.1:0").unwrap();
        let http_port = http.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = http.accept() {
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            }
        });
        assert_eq!(identify("127.0.0.1", http_port), Some(Listener::Http));
        let msg = mismatch(&Listener::Tls, 8883, false).unwrap();
        assert!(msg.contains("add --tls"), "{msg}");
        assert_eq!(mismatch(&Listener::Mqtt, 1883, false), None);
    }

    #[test]
    fn a_plain_listener_under_tls_is_answered_with_the_tls_port_not_with_dropping_tls() {
        let msg = mismatch(&Listener::Mqtt, 1883, true).unwrap();
        assert!(msg.contains("TLS port"), "{msg}");
        assert!(!msg.contains("leave out"), "{msg}");
    }
}
