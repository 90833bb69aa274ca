//! TLS to the broker: turns the PEM files named on the command line into a
//! rustls client configuration, once, at start-up, so that a bad file is a
//! one-line error and exit 2 before any network activity.
//!
//! The crypto provider is *ring*: it cross-compiles for ARM and MIPS with
//! nothing but a C cross compiler (zig cc), whereas aws-lc-rs (rustls'
//! default) needs cmake, and for some targets bindgen, in the cross
//! toolchain. The TLS stack adds about 1.0 MB to the static x86_64 binary
//! (docs/router-builds.rst keeps the measured figure).
//!
//! Keys may be PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE
//! KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`); the first key in the file is used.
//! Without `--mqtt-root-ca` the broker is checked against the public web
//! roots of webpki-roots (the Mozilla list compiled in), so cloud brokers
//! work with no files at all; a build without the `web-roots` feature (the
//! router preset) needs `--mqtt-root-ca` and says so at start-up.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, InconsistentKeys, RootCertStore};

mod spki;

use crate::config::TlsFiles;

/// Which of the configured files a [`TlsError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `--mqtt-root-ca`.
    RootCa,
    /// `--mqtt-certificate`.
    Certificate,
    /// `--mqtt-private-key`.
    PrivateKey,
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::RootCa => "root CA file (--mqtt-root-ca)",
            FileRole::Certificate => "certificate file (--mqtt-certificate)",
            FileRole::PrivateKey => "private key file (--mqtt-private-key)",
        })
    }
}

/// Why the TLS configuration could not be built. `Display` is one line that
/// names the file and the reason.
#[derive(Debug)]
pub enum TlsError {
    /// The file could not be read.
    Read(FileRole, PathBuf, std::io::Error),
    /// The file is not valid PEM.
    Pem(FileRole, PathBuf, pem::Error),
    /// The file holds no PEM section of the expected kind.
    Empty(FileRole, PathBuf),
    /// The private key is encrypted (we have no passphrase to decrypt it).
    EncryptedKey(PathBuf),
    /// A CA certificate was rejected by the trust store (not a parsable
    /// X.509 certificate).
    BadCa(PathBuf, usize, rustls::Error),
    /// The client certificate and key could not be used together (the key is
    /// of an unsupported type, the certificate does not parse, or the key
    /// does not match the certificate).
    ClientAuth(PathBuf, PathBuf, rustls::Error),
    /// No `--mqtt-root-ca` in a build without the compiled-in public CAs
    /// (the `web-roots` feature is off, as in the router preset).
    #[cfg(not(feature = "web-roots"))]
    NoRoots,
    /// The TLS library refused the protocol versions (never expected).
    Setup(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read(role, path, e) => {
                write!(f, "cannot read {role} {}: {e}", path.display())
            }
            TlsError::Pem(role, path, e) => {
                write!(
                    f,
                    "{role} {} is not valid PEM: {}",
                    path.display(),
                    pem_problem(e)
                )
            }
            TlsError::EncryptedKey(path) => write!(
                f,
                "{} {} is encrypted, which is not supported; decrypt it with: \
                 openssl pkey -in {} -out key.pem",
                FileRole::PrivateKey,
                path.display(),
                path.display()
            ),
            TlsError::Empty(FileRole::PrivateKey, path) => write!(
                f,
                "{} {} holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)",
                FileRole::PrivateKey,
                path.display()
            ),
            TlsError::Empty(role, path) => {
                write!(f, "{role} {} holds no PEM certificate", path.display())
            }
            TlsError::BadCa(path, index, e) => write!(
                f,
                "{} {}: certificate #{} is not usable as a CA: {e}",
                FileRole::RootCa,
                path.display(),
                index + 1
            ),
            TlsError::ClientAuth(cert, key, e) => {
                let why = match e {
                    rustls::Error::InconsistentKeys(_) => "the private key does not match the \
                                                           certificate (the client certificate \
                                                           must come first in its file)"
                        .to_owned(),
                    rustls::Error::InvalidCertificate(_) => {
                        "the certificate is not a DER X.509 certificate in PEM".to_owned()
                    }
                    rustls::Error::General(why) => why.clone(),
                    other => other.to_string(),
                };
                write!(
                    f,
                    "cannot use certificate {} with private key {}: {why}",
                    cert.display(),
                    key.display()
                )
            }
            #[cfg(not(feature = "web-roots"))]
            TlsError::NoRoots => f.write_str(
                "this build has no compiled-in public CAs (built without the web-roots \
                 feature): give the broker's CA with --mqtt-root-ca",
            ),
            TlsError::Setup(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// A PEM parse error in words (the library's text shows raw byte arrays).
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "a section has no '-----END {}-----' line (truncated file?)",
            String::from_utf8_lossy(end_marker).trim()
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "malformed line '{}'",
            String::from_utf8_lossy(line)
                .chars()
                .take(80)
                .collect::<String>()
                .trim()
        ),
        pem::Error::Base64Decode(why) => format!("bad base64 ({why})"),
        other => other.to_string(),
    }
}

/// The PEM label of a PKCS#8 key encrypted with a passphrase.
const ENCRYPTED_KEY_LABEL: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";

fn read(role: FileRole, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read(role, path.to_owned(), e))
}

/// Every certificate in a PEM file, in order; at least one.
fn certificates(role: FileRole, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(role, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(role, path.to_owned(), e))?;
    if certs.is_empty() {
        return Err(TlsError::Empty(role, path.to_owned()));
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let role = FileRole::PrivateKey;
    let bytes = read(role, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound
            if bytes
                .windows(ENCRYPTED_KEY_LABEL.len())
                .any(|w| w == ENCRYPTED_KEY_LABEL) =>
        {
            TlsError::EncryptedKey(path.to_owned())
        }
        pem::Error::NoItemsFound => TlsError::Empty(role, path.to_owned()),
        other => TlsError::Pem(role, path.to_owned(), other),
    })
}

/// The trust anchors: the CAs of `root_ca`, or the public web roots.
fn roots(root_ca: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match root_ca {
        Some(path) => {
            for (index, cert) in certificates(FileRole::RootCa, path)?
                .into_iter()
                .enumerate()
            {
                store
                    .add(cert)
                    .map_err(|e| TlsError::BadCa(path.to_owned(), index, e))?;
            }
        }
        #[cfg(feature = "web-roots")]
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        #[cfg(not(feature = "web-roots"))]
        None => return Err(TlsError::NoRoots),
    }
    Ok(store)
}

/// Builds the client configuration for `files`: server authentication
/// against the given CAs (or the web roots), plus a client certificate when
/// both certificate and key are given (the command line guarantees that
/// they come together).
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, TlsError> {
    // The client files first: a problem with them is named even in a build
    // that also lacks the roots.
    let client_auth = match (&files.certificate, &files.private_key) {
        (Some(cert_path), Some(key_path)) => Some((
            certificates(FileRole::Certificate, cert_path)?,
            private_key(key_path)?,
            cert_path,
            key_path,
        )),
        _ => None,
    };
    let roots = roots(files.root_ca.as_deref())?;
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?
            .with_root_certificates(roots);
    let config = match client_auth {
        Some((chain, key, cert_path, key_path)) => {
            let certified = certified_key(chain, key, builder.crypto_provider())
                .map_err(|e| TlsError::ClientAuth(cert_path.clone(), key_path.clone(), e))?;
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The client certificate chain with its key, once the key is known to
/// match the certificate. rustls checks that with its certificate parser,
/// which refuses X.509 v1 (as made by `openssl x509 -req` without
/// extensions, mosquitto-tls(7)'s recipe); the broker accepts those, so the
/// match is then checked on the certificate's public key alone.
fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, rustls::Error> {
    let signing_key = provider.key_provider.load_private_key(key)?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(e @ rustls::Error::InconsistentKeys(_)) => Err(e),
        Err(e) => {
            let cert = certified.end_entity_cert()?;
            let Some(cert_spki) = spki::subject_public_key_info(cert) else {
                return Err(e);
            };
            match certified.key.public_key() {
                Some(key_spki) if key_spki.as_ref() != cert_spki => {
                    Err(InconsistentKeys::KeyMismatch.into())
                }
                _ => Ok(certified),
            }
        }
    }
}

#[cfg(test)]
mod tests;
