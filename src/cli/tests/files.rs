//! The TLS and pre-shared key files.

use super::*;

#[test]
fn certificate_without_private_key_is_an_error() {
    let scratch = Scratch::new("cert-no-key");
    let cert = scratch.file("cert.pem");
    assert_eq!(
        error(&client(&["--mqtt-certificate", &cert])),
        "--mqtt-certificate is set but no private key is: set --mqtt-private-key or MQTT_FORWARD_PRIVATE_KEY"
    );
    let env = env_of(&[(opt::CERTIFICATE.env, &cert)]);
    assert!(error_with(&client(&[]), &env).starts_with("MQTT_FORWARD_CERTIFICATE is set but"));
}

#[test]
fn private_key_without_certificate_is_an_error() {
    let scratch = Scratch::new("key-no-cert");
    let key = scratch.file("key.pem");
    assert_eq!(
        error(&client(&["--mqtt-private-key", &key])),
        "--mqtt-private-key is set but no certificate is: set --mqtt-certificate or MQTT_FORWARD_CERTIFICATE"
    );
    let env = env_of(&[(opt::PRIVATE_KEY.env, &key)]);
    assert!(error_with(&client(&[]), &env).starts_with("MQTT_FORWARD_PRIVATE_KEY is set but"));
}

#[test]
fn missing_tls_files_are_errors_naming_flag_and_path() {
    let scratch = Scratch::new("missing-files");
    let cert = scratch.file("cert.pem");
    let key = scratch.file("key.pem");
    let gone = format!("{}/gone.pem", scratch.dir());
    assert_eq!(
        error(&client(&["--mqtt-root-ca", &gone])),
        format!("invalid --mqtt-root-ca '{gone}': no such file")
    );
    assert_eq!(
        error(&client(&[
            "--mqtt-certificate",
            &gone,
            "--mqtt-private-key",
            &key
        ])),
        format!("invalid --mqtt-certificate '{gone}': no such file")
    );
    assert_eq!(
        error(&client(&[
            "--mqtt-certificate",
            &cert,
            "--mqtt-private-key",
            &gone
        ])),
        format!("invalid --mqtt-private-key '{gone}': no such file")
    );
    let env = env_of(&[(opt::ROOT_CA.env, gone.as_str())]);
    assert_eq!(
        error_with(&client(&[]), &env),
        format!("invalid MQTT_FORWARD_ROOT_CA '{gone}': no such file")
    );
}

#[test]
fn a_private_key_readable_by_others_is_refused_saying_how_to_fix_it() {
    let scratch = Scratch::new("open-key");
    let cert = scratch.file("cert.pem");
    for mode in [0o644, 0o640, 0o604] {
        let key = scratch.file_with_mode(&format!("key-{mode:o}.pem"), mode);
        let e = error(&client(&[
            "--mqtt-certificate",
            &cert,
            "--mqtt-private-key",
            &key,
        ]));
        assert!(
            e.contains(&format!("permissions {mode:04o} are too open")),
            "{e}"
        );
        assert!(e.contains(&format!("chmod 600 {key}")), "{e}");
    }
    // The owner's own bits do not matter; the CA and certificate are public.
    let key = scratch.file_with_mode("key-400.pem", 0o400);
    let ca = scratch.file_with_mode("ca.pem", 0o644);
    run(&client(&[
        "--mqtt-root-ca",
        &ca,
        "--mqtt-certificate",
        &cert,
        "--mqtt-private-key",
        &key,
    ]));
}

#[test]
fn a_directory_as_tls_file_is_an_error() {
    let scratch = Scratch::new("dir-as-file");
    let dir = scratch.dir();
    assert_eq!(
        error(&client(&["--mqtt-root-ca", &dir])),
        format!("invalid --mqtt-root-ca '{dir}': not a regular file")
    );
}

#[test]
fn an_empty_tls_path_flag_is_an_error() {
    assert_eq!(
        error(&client(&["--mqtt-root-ca", ""])),
        "invalid --mqtt-root-ca '': the path must not be empty"
    );
}

#[test]
fn a_psk_file_is_read_at_start_up_and_must_be_private() {
    let dir = Scratch::new("psk");
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    let good = dir.file_with_mode("good.key", 0o600);
    std::fs::write(&good, key).unwrap();
    let (config, _) = run(&server(&["--psk-file", &good]));
    assert_eq!(config.psk, Some(Psk::parse(key).unwrap()));
    let env = env_of(&[(opt::PSK_FILE.env, good.as_str())]);
    let (config, _) = run_with(&client(&[]), &env);
    assert!(config.psk.is_some());
    let open = dir.file_with_mode("open.key", 0o644);
    std::fs::write(&open, key).unwrap();
    let e = error(&server(&["--psk-file", &open]));
    assert!(e.contains("too open") && e.contains("chmod 600"), "{e}");
    let short = dir.file_with_mode("short.key", 0o600);
    std::fs::write(&short, "abcd").unwrap();
    let e = error(&server(&["--psk-file", &short]));
    assert!(e.contains("--psk-file") && e.contains("too short"), "{e}");
    let missing = format!("{}/missing.key", dir.dir());
    let e = error(&server(&["--psk-file", &missing]));
    assert!(e.contains("no such file"), "{e}");
}
