//! The key file and the derivations from it.

use crate::secure::psk::*;

const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn the_hex_that_openssl_prints_is_accepted_with_whitespace_around() {
    let a = Psk::parse(HEX).unwrap();
    let b = Psk::parse(&format!("  \n{}\n\n", HEX.to_uppercase())).unwrap();
    assert_eq!(a, b);
    let other = Psk::parse(&HEX.replace("ff", "fe")).unwrap();
    assert_ne!(a, other);
    assert_eq!(format!("{a:?}"), "Psk(<redacted>)");
}

#[test]
fn short_odd_non_hex_and_empty_files_are_refused_in_words() {
    for (text, words) in [
        ("", "empty"),
        ("  \n", "empty"),
        (&HEX[..62], "too short"),
        (&HEX[..63], "odd"),
        ("zz", "hex"),
        ("correct horse battery staple", "hex"),
    ] {
        let e = Psk::parse(text).expect_err(text);
        assert!(e.to_string().contains(words), "{text:?}: {e}");
    }
    assert!(Psk::parse(&"ab".repeat(2000)).is_err());
}

#[test]
fn each_server_side_gets_its_own_key() {
    let psk = Psk::parse(HEX).unwrap();
    assert_ne!(psk.scoped("ssh", "a"), psk.scoped("ssh", "b"));
    assert_ne!(psk.scoped("ssh", "a"), psk.scoped("tun", "a"));
    assert_ne!(psk.scoped("ss", "ha"), psk.scoped("ssh", "a"));
    assert_eq!(psk.scoped("ssh", "a"), psk.scoped("ssh", "a"));
}

#[test]
fn tags_depend_on_every_part_the_label_and_the_key() {
    let psk = Psk::parse(HEX).unwrap();
    let t = psk.tag(&[b"a", b"b"], b"x");
    assert!(psk.verify(&[b"a", b"b"], b"x", &t));
    assert!(!psk.verify(&[b"a", b"c"], b"x", &t));
    assert!(!psk.verify(&[b"a", b"b"], b"y", &t));
    let other = Psk::parse(&HEX.replace("00", "01")).unwrap();
    assert!(!other.verify(&[b"a", b"b"], b"x", &t));
}
