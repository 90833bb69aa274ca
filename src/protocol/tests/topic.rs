//! Topic names and session ids.

use crate::protocol::topic::*;

#[test]
fn session_ids_are_32_lowercase_hex_digits() {
    let id = SessionId::from_random([0xab; 16]);
    assert_eq!(id.as_str(), "ab".repeat(16));
    assert_eq!(SessionId::parse(id.as_str()), Some(id));
    assert_eq!(SessionId::parse(&"AB".repeat(16)), None);
    assert_eq!(SessionId::parse(&"ab".repeat(15)), None);
    assert_eq!(SessionId::parse(&"zz".repeat(16)), None);
    assert_eq!(SessionId::parse(""), None);
}

#[test]
fn topics_follow_the_c_layout() {
    let t = Topics::new("ssh", "pi");
    let id = SessionId::from_random([1; 16]);
    let x = "01".repeat(16);
    assert_eq!(
        t.session(&id, Direction::ToServer),
        format!("ssh/pi/{x}/tx")
    );
    assert_eq!(
        t.session(&id, Direction::ToClient),
        format!("ssh/pi/{x}/rx")
    );
    assert_eq!(t.server_filter(), "ssh/pi/+/tx");
    assert_eq!(t.beacon(), "ssh/pi/beacon/rx");
    assert_eq!(Topics::beacon_filter("ssh"), "ssh/+/beacon/rx");
}

#[test]
fn incoming_topics_are_classified_and_foreign_ones_ignored() {
    let t = Topics::new("ssh", "pi");
    let x = "0f".repeat(16);
    let id = SessionId::parse(&x).unwrap();
    assert_eq!(
        t.parse(&format!("ssh/pi/{x}/tx")),
        Some(Incoming::Session(id, Direction::ToServer))
    );
    assert_eq!(
        t.parse(&format!("ssh/pi/{x}/rx")),
        Some(Incoming::Session(id, Direction::ToClient))
    );
    assert_eq!(
        t.parse("ssh/other/beacon/rx"),
        Some(Incoming::Beacon("other"))
    );
    assert_eq!(t.parse(&format!("ssh/other/{x}/tx")), None);
    assert_eq!(t.parse(&format!("xx/pi/{x}/tx")), None);
    assert_eq!(t.parse(&format!("ssh/pi/{x}/zz")), None);
    assert_eq!(t.parse(&format!("ssh/pi/{x}/tx/more")), None);
    assert_eq!(t.parse("ssh/pi/not-an-id/tx"), None);
    assert_eq!(t.parse("ssh/pi"), None);
    assert_eq!(t.parse(&format!("ssh/pi/{x}/ktx")), None);
}

#[test]
fn keyed_sessions_use_their_own_suffixes_and_only_those() {
    let t = Topics::new("ssh", "pi").with_key(true);
    let x = "0f".repeat(16);
    let id = SessionId::parse(&x).unwrap();
    assert_eq!(
        t.session(&id, Direction::ToServer),
        format!("ssh/pi/{x}/ktx")
    );
    assert_eq!(
        t.session(&id, Direction::ToClient),
        format!("ssh/pi/{x}/krx")
    );
    assert_eq!(t.server_filter(), "ssh/pi/+/ktx");
    assert_eq!(
        t.parse(&format!("ssh/pi/{x}/krx")),
        Some(Incoming::Session(id, Direction::ToClient))
    );
    assert_eq!(t.parse(&format!("ssh/pi/{x}/tx")), None);
    assert_eq!(t.parse(&format!("ssh/pi/{x}/rx")), None);
}
