//! Start-up errors of the TLS configuration. The working paths (every key
//! form, mutual TLS, refusals by the broker) are exercised against a real
//! mosquitto in test/tls.rs with certificates made by test/gen-certs.sh.

use super::*;

/// A file in a fresh temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        let dir = std::env::temp_dir().join(format!(
            "mqtt-forward-tls-unit-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn files(root_ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> TlsFiles {
    TlsFiles {
        root_ca: root_ca.map(Path::to_owned),
        certificate: cert.map(Path::to_owned),
        private_key: key.map(Path::to_owned),
    }
}

fn error_of(files: &TlsFiles) -> String {
    match client_config(files) {
        Ok(_) => panic!("expected an error for {files:?}"),
        Err(e) => e.to_string(),
    }
}

/// Not a certificate: a PEM section whose base64 decodes to garbage DER.
const GARBAGE_CERT_PEM: &str =
    "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END CERTIFICATE-----\n";

#[cfg(feature = "web-roots")]
#[test]
fn no_files_means_the_public_web_roots_are_trusted() {
    let config = client_config(&files(None, None, None)).expect("web roots");
    assert!(!config.client_auth_cert_resolver.has_certs());
    assert!(
        roots(None).unwrap().len() > 100,
        "webpki-roots has 100+ roots"
    );
}

#[cfg(not(feature = "web-roots"))]
#[test]
fn without_web_roots_a_missing_root_ca_is_a_one_line_start_up_error() {
    let e = error_of(&files(None, None, None));
    assert!(e.contains("--mqtt-root-ca"), "{e}");
    assert!(e.contains("web-roots"), "{e}");
    assert!(!e.contains('\n'));
}

#[test]
fn a_missing_root_ca_file_is_named_in_the_error() {
    let missing = Path::new("/nonexistent/mqtt-forward/ca.pem");
    let e = error_of(&files(Some(missing), None, None));
    assert!(
        e.starts_with(
            "cannot read root CA file (--mqtt-root-ca) /nonexistent/mqtt-forward/ca.pem: "
        ),
        "{e}"
    );
    assert!(!e.contains('\n'));
}

#[test]
fn a_root_ca_file_without_certificates_is_refused() {
    let f = TempFile::new("empty-ca.pem", b"just some text, no PEM\n");
    let e = error_of(&files(Some(&f.0), None, None));
    assert!(e.ends_with("holds no PEM certificate"), "{e}");
    assert!(e.contains("empty-ca.pem"), "{e}");
}

#[test]
fn a_root_ca_with_broken_base64_is_refused_as_invalid_pem() {
    let f = TempFile::new(
        "broken-ca.pem",
        b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    );
    let e = error_of(&files(Some(&f.0), None, None));
    assert!(e.contains("is not valid PEM"), "{e}");
}

#[test]
fn a_root_ca_that_is_not_x509_is_refused() {
    let f = TempFile::new("garbage-ca.pem", GARBAGE_CERT_PEM.as_bytes());
    let e = error_of(&files(Some(&f.0), None, None));
    assert!(e.contains("certificate #1 is not usable as a CA"), "{e}");
}

#[test]
fn a_key_file_without_a_key_is_refused_naming_the_accepted_forms() {
    let cert = TempFile::new("cert.pem", GARBAGE_CERT_PEM.as_bytes());
    let key = TempFile::new("key.pem", GARBAGE_CERT_PEM.as_bytes());
    let e = error_of(&files(None, Some(&cert.0), Some(&key.0)));
    assert!(e.contains("private key file (--mqtt-private-key)"), "{e}");
    assert!(
        e.ends_with("holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)"),
        "{e}"
    );
}

// The pairing is checked once the roots are in place; without web-roots that
// needs a CA file (test/tls.rs covers real certificates in every build).
#[cfg(feature = "web-roots")]
#[test]
fn a_garbage_key_is_refused_with_both_file_names() {
    let cert = TempFile::new("cert2.pem", GARBAGE_CERT_PEM.as_bytes());
    let key = TempFile::new(
        "key2.pem",
        b"-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END PRIVATE KEY-----\n",
    );
    let e = error_of(&files(None, Some(&cert.0), Some(&key.0)));
    assert!(e.starts_with("cannot use certificate "), "{e}");
    assert!(e.contains("cert2.pem") && e.contains("key2.pem"), "{e}");
}

#[test]
fn an_unreadable_certificate_file_is_named() {
    let key = TempFile::new("key3.pem", b"");
    let e = error_of(&files(
        None,
        Some(Path::new("/nonexistent/c.pem")),
        Some(&key.0),
    ));
    assert!(
        e.starts_with("cannot read certificate file (--mqtt-certificate) /nonexistent/c.pem"),
        "{e}"
    );
}

#[test]
fn a_truncated_pem_section_is_explained_in_words() {
    let f = TempFile::new(
        "truncated-ca.pem",
        b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODw==\n",
    );
    let e = error_of(&files(Some(&f.0), None, None));
    assert!(e.contains("has no '-----END CERTIFICATE-----' line"), "{e}");
    assert!(!e.contains('['), "raw bytes in {e}");
}

#[test]
fn an_encrypted_key_is_refused_with_how_to_decrypt_it() {
    let cert = TempFile::new("cert4.pem", GARBAGE_CERT_PEM.as_bytes());
    let key = TempFile::new(
        "key4.pem",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let e = error_of(&files(None, Some(&cert.0), Some(&key.0)));
    assert!(e.contains("is encrypted"), "{e}");
    assert!(e.contains("openssl pkey -in"), "{e}");
}
