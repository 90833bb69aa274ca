//! Why a broker connection failed, and its one-line explanation. The
//! cause may be nested (a TLS alert inside an I/O error); the user needs
//! the innermost cause and what to check.

use std::error::Error as StdError;
use std::io;

use rumqttc::mqttbytes::v4::ConnectReturnCode;
use rustls::{AlertDescription, CertificateError};

use super::listener_probe::{mismatch, Listener};
use super::CONNECT_TIMEOUT;
use crate::config::{BrokerConfig, BrokerNode};
use crate::mqtt::Failure;

/// Why a connection to the broker ended or could not be made.
#[derive(Debug)]
pub enum ConnectionError {
    /// The name lookup, the socket or TLS failed.
    Io(io::Error),
    /// No TCP connection and TLS handshake within [`CONNECT_TIMEOUT`].
    Timeout,
    /// The broker closed the connection.
    Closed,
    /// The MQTT client ended it (refused, silent, malformed).
    Mqtt(Failure),
}

impl std::fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionError::Io(e) => e.fmt(f),
            ConnectionError::Timeout => write!(
                f,
                "no answer within {}",
                super::words::Span(CONNECT_TIMEOUT)
            ),
            ConnectionError::Closed => write!(f, "the broker closed the connection"),
            ConnectionError::Mqtt(e) => e.fmt(f),
        }
    }
}

impl StdError for ConnectionError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectionError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Describes `e` for the log: the root cause, with a hint where the cause
/// points at a setting of `cx` or at `node` (the broker host tried).
/// `connecting`: the error ended a connection
/// attempt (rather than an established connection).
///
/// `look` finds out what answers on the broker's port (see
/// [`super::listener_probe`]); it is called only when the failure leaves
/// that open: the handshake ended without an MQTT or TLS answer.
pub fn describe(
    e: &ConnectionError,
    node: &BrokerNode,
    cx: &BrokerConfig,
    connecting: bool,
    look: &mut dyn FnMut() -> Option<Listener>,
) -> String {
    match e {
        ConnectionError::Mqtt(Failure::Refused(code)) => return refused(*code),
        ConnectionError::Timeout | ConnectionError::Mqtt(Failure::NoConnAck(_)) => {
            return format!(
                "no answer within {} (is --mqtt-port right, and plain or TLS as the \
                 broker's listener expects? a firewall dropping packets?)",
                super::words::Span(CONNECT_TIMEOUT)
            )
        }
        ConnectionError::Mqtt(Failure::Read(_)) if connecting => {
            // Not an MQTT answer at all.
            let found = look().and_then(|l| mismatch(&l, node.port, cx.tls.is_some()));
            return found.unwrap_or_else(|| e.to_string());
        }
        ConnectionError::Mqtt(other) => return other.to_string(),
        _ => {}
    }
    let tls_error = find_tls_error(e);
    let unclear = match tls_error {
        // Not a TLS answer at all.
        Some(rustls::Error::InvalidMessage(_)) => true,
        Some(_) => false,
        None => !refused_by_os(e),
    };
    if connecting && unclear {
        if let Some(line) = look().and_then(|l| mismatch(&l, node.port, cx.tls.is_some())) {
            return line;
        }
    }
    match tls_error {
        Some(tls) => tls_hint(tls, &node.host, cx),
        None if connecting && closed_by_peer(e) => {
            let expected = if cx.tls.is_some() {
                "a plain MQTT listener? (--tls is on)"
            } else {
                "a TLS listener? (add --tls)"
            };
            format!(
                "{} (the broker closed the connection during the handshake: is {} the \
                 port of {expected})",
                innermost(e),
                node.port
            )
        }
        None => innermost(e),
    }
}

/// Whether a client certificate is configured.
fn has_client_cert(cx: &BrokerConfig) -> bool {
    cx.tls.as_ref().is_some_and(|tls| tls.certificate.is_some())
}

/// True if nothing listens (the TCP connection itself was refused) or the
/// host is unknown: then there is nothing to look at.
fn refused_by_os(e: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if matches!(
                io.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::HostUnreachable
            ) || io.raw_os_error().is_none() && io.to_string().contains("lookup")
            {
                return true;
            }
        }
        current = err.source();
    }
    false
}

/// True if the deepest cause is the peer closing or resetting the connection.
fn closed_by_peer(e: &ConnectionError) -> bool {
    if matches!(e, ConnectionError::Closed) {
        return true;
    }
    let mut current: Option<&(dyn StdError + 'static)> = Some(e);
    let mut kind = None;
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            kind = Some(io.kind());
        }
        current = err.source();
    }
    matches!(
        kind,
        Some(
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::UnexpectedEof
        )
    )
}

fn refused(code: ConnectReturnCode) -> String {
    match code {
        ConnectReturnCode::BadUserNamePassword => {
            "the broker refused the user name or password (--mqtt-username, --mqtt-password)"
                .to_owned()
        }
        ConnectReturnCode::NotAuthorized => {
            "the broker refused the connection: not authorized (check --mqtt-username, \
             --mqtt-password or the client certificate)"
                .to_owned()
        }
        ConnectReturnCode::BadClientId => {
            "the broker refused the client id (--client-id, or --server-side-id on the server side)"
                .to_owned()
        }
        ConnectReturnCode::RefusedProtocolVersion => {
            "the broker refused MQTT 3.1.1 (the protocol version this program speaks)".to_owned()
        }
        ConnectReturnCode::ServiceUnavailable => {
            "the broker refused the connection: service unavailable".to_owned()
        }
        ConnectReturnCode::Success => "the broker accepted the connection".to_owned(),
    }
}

/// The first rustls error in the chain of causes, including one wrapped in
/// an `io::Error` (how futures-rustls reports handshake failures).
fn find_tls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = err
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(inner);
        }
        current = err.source();
    }
    None
}

/// The message of the deepest error in the chain of causes.
fn innermost(e: &(dyn StdError + 'static)) -> String {
    let mut deepest = e;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    deepest.to_string()
}

fn tls_hint(e: &rustls::Error, host: &str, cx: &BrokerConfig) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "TLS: the broker's certificate is not signed by a trusted CA (check --mqtt-root-ca)"
                .to_owned()
        }
        E::InvalidCertificate(CertificateError::NotValidForName)
        | E::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => format!(
            "TLS: the broker's certificate is not valid for the host name '{host}' (--mqtt-host)"
        ),
        E::InvalidCertificate(CertificateError::Expired)
        | E::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            "TLS: the broker's certificate has expired".to_owned()
        }
        E::InvalidCertificate(CertificateError::NotValidYet)
        | E::InvalidCertificate(CertificateError::NotValidYetContext { .. }) => {
            "TLS: the broker's certificate is not valid yet (check this machine's clock)".to_owned()
        }
        E::AlertReceived(AlertDescription::CertificateRequired) => format!(
            "TLS: the broker requires a client certificate (--mqtt-certificate, \
             --mqtt-private-key) ({e})"
        ),
        E::AlertReceived(AlertDescription::HandshakeFailure) if !has_client_cert(cx) => format!(
            "TLS: the broker refused the handshake; it may require a client certificate \
             (--mqtt-certificate, --mqtt-private-key) or a TLS version or cipher we lack ({e})"
        ),
        E::AlertReceived(AlertDescription::HandshakeFailure) => format!(
            "TLS: the broker refused the handshake (our client certificate, or no common \
             TLS version or cipher) ({e})"
        ),
        E::AlertReceived(
            AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied,
        ) => format!("TLS: the broker refused our client certificate ({e})"),
        other => format!("TLS: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsFiles;

    /// A plain broker config; `tls` and `cert` switch TLS and a client
    /// certificate on.
    fn config(tls: bool, cert: bool) -> BrokerConfig {
        BrokerConfig {
            nodes: vec![node()],
            client_id: "id".to_owned(),
            qos: 1,
            caps: Default::default(),
            max_subscriptions: None,
            tls: tls.then(|| TlsFiles {
                root_ca: None,
                certificate: cert.then(|| "cert.pem".into()),
                private_key: cert.then(|| "key.pem".into()),
            }),
            username: None,
            password: None,
        }
    }

    fn node() -> BrokerNode {
        BrokerNode {
            host: "broker.example".to_owned(),
            port: 8883,
        }
    }

    fn tls_io(e: rustls::Error) -> ConnectionError {
        ConnectionError::Io(io::Error::new(io::ErrorKind::InvalidData, e))
    }

    #[test]
    fn an_untrusted_broker_certificate_points_at_the_root_ca_flag() {
        let e = tls_io(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        let text = describe(&e, &node(), &config(false, false), true, &mut || None);
        assert!(text.contains("not signed by a trusted CA"), "{text}");
        assert!(text.contains("--mqtt-root-ca"), "{text}");
    }

    #[test]
    fn a_name_mismatch_names_the_configured_host() {
        let e = tls_io(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ));
        let text = describe(&e, &node(), &config(false, false), true, &mut || None);
        assert!(
            text.contains("not valid for the host name 'broker.example'"),
            "{text}"
        );
    }

    #[test]
    fn a_required_client_certificate_points_at_the_certificate_flags() {
        let e = tls_io(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired,
        ));
        assert!(
            describe(&e, &node(), &config(false, false), true, &mut || None)
                .contains("--mqtt-certificate")
        );
    }

    #[test]
    fn refused_credentials_name_the_credential_flags_only() {
        let e = ConnectionError::Mqtt(Failure::Refused(ConnectReturnCode::BadUserNamePassword));
        let text = describe(&e, &node(), &config(false, false), true, &mut || None);
        assert!(text.contains("user name or password"), "{text}");
    }

    #[test]
    fn a_handshake_failure_hints_at_the_certificate_only_when_none_is_configured() {
        let e = tls_io(rustls::Error::AlertReceived(
            AlertDescription::HandshakeFailure,
        ));
        assert!(
            describe(&e, &node(), &config(false, false), true, &mut || None)
                .contains("may require a client certificate")
        );
        let text = describe(&e, &node(), &config(true, true), true, &mut || None);
        assert!(text.contains("our client certificate"), "{text}");
        assert!(!text.contains("may require"), "{text}");
    }

    #[test]
    fn a_timeout_names_the_limit_and_what_to_check() {
        let text = describe(
            &ConnectionError::Timeout,
            &node(),
            &config(false, false),
            true,
            &mut || None,
        );
        assert!(text.contains("no answer within 10 s"), "{text}");
        assert!(text.contains("--mqtt-port"), "{text}");
    }

    #[test]
    fn a_reset_while_connecting_asks_whether_the_listener_is_tls_or_plain() {
        let e = ConnectionError::Io(io::Error::from(io::ErrorKind::ConnectionReset));
        let text = describe(&e, &node(), &config(false, false), true, &mut || None);
        assert!(
            text.contains("is 8883 the port of a TLS listener? (add --tls)"),
            "{text}"
        );
        assert!(
            describe(&e, &node(), &config(true, false), true, &mut || None)
                .contains("a plain MQTT listener? (--tls is on)")
        );
        // A connection that was up and then reset is just a dropped link.
        assert!(
            !describe(&e, &node(), &config(false, false), false, &mut || None).contains("listener")
        );
    }

    #[test]
    fn what_answers_on_the_port_is_said_when_the_handshake_does_not_tell() {
        let reset = ConnectionError::Io(io::Error::from(io::ErrorKind::UnexpectedEof));
        let ssh = || Some(Listener::Ssh("SSH-2.0-x".into()));
        let text = describe(&reset, &node(), &config(false, false), true, &mut { ssh });
        assert!(text.contains("an SSH server answers on port"), "{text}");
        // Not looked at once connected, nor when nothing listens.
        let mut looked = false;
        let _ = describe(&reset, &node(), &config(false, false), false, &mut || {
            looked = true;
            None
        });
        let refused = ConnectionError::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        let _ = describe(&refused, &node(), &config(false, false), true, &mut || {
            looked = true;
            None
        });
        assert!(!looked);
    }

    #[test]
    fn plain_io_errors_keep_their_message() {
        let e = ConnectionError::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(
            describe(&e, &node(), &config(false, false), true, &mut || None),
            io::Error::from(io::ErrorKind::ConnectionRefused).to_string()
        );
    }
}
