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

#[test]
fn a_client_process_reads_its_replies_on_one_filter_and_no_other_process_s() {
    let t = Topics::new("ssh", "pi").with_instance(0x00ab_12cd);
    let id = SessionId::of_instance(0x00ab_12cd, [0x0f; 12]);
    let x = format!("00ab12cd{}", "0f".repeat(12));
    assert_eq!(id.as_str(), x);
    assert_eq!(t.instance_filter_for(0x00ab_12cd), "ssh/pi/+/rx/00ab12cd");
    assert_eq!(
        t.session_to_instance(&id),
        format!("ssh/pi/{x}/rx/00ab12cd")
    );
    assert_eq!(
        t.parse(&format!("ssh/pi/{x}/rx/00ab12cd")),
        Some(Incoming::Session(id, Direction::ToClient))
    );
    assert!(Topics::is_instance_reply(&format!(
        "ssh/pi/{x}/rx/00ab12cd"
    )));
    assert!(!Topics::is_instance_reply(&format!("ssh/pi/{x}/rx")));
    // Another process's replies, the wrong direction, a sixth level.
    assert_eq!(t.parse(&format!("ssh/pi/{x}/rx/00ab12ce")), None);
    assert_eq!(t.parse(&format!("ssh/pi/{x}/tx/00ab12cd")), None);
    assert_eq!(t.parse(&format!("ssh/pi/{x}/rx/00ab12cd/x")), None);
    assert_eq!(t.parse("ssh/pi/beacon/rx/00ab12cd"), None);
    // Without an instance, no five-level topic is ours.
    let plain = Topics::new("ssh", "pi");
    assert_eq!(plain.parse(&format!("ssh/pi/{x}/rx/00ab12cd")), None);
    let keyed = Topics::new("ssh", "pi").with_key(true).with_instance(7);
    assert_eq!(keyed.instance_filter_for(7), "ssh/pi/+/krx/00000007");
    assert_eq!(
        keyed.parse(&format!("ssh/pi/{x}/krx/00000007")),
        Some(Incoming::Session(id, Direction::ToClient))
    );
    assert_eq!(keyed.parse(&format!("ssh/pi/{x}/rx/00000007")), None);
}

#[test]
fn a_server_side_answers_a_client_process_on_its_topic_only_when_the_opening_frame_names_it() {
    use crate::protocol::flags;
    use crate::protocol::frame::Header;
    let id = SessionId::of_instance(0x1234_5678, [9; 12]);
    let header = |flags, pad| Header {
        seq: 0,
        ack: None,
        flags,
        pad,
    };
    let named = flags::CAPABLE | flags::OPENING | flags::INSTANCE;
    assert_eq!(
        ReplyTo::of(&id, &header(named, 0x1234_5678)),
        ReplyTo::Instance
    );
    // A number that is not the id's, an opening without a number (an
    // earlier version), the C original: the session's own topic.
    assert_eq!(ReplyTo::of(&id, &header(named, 0x1234_5679)), ReplyTo::Own);
    let earlier = flags::CAPABLE | flags::OPENING;
    assert_eq!(ReplyTo::of(&id, &header(earlier, 0)), ReplyTo::Own);
    assert_eq!(ReplyTo::of(&id, &header(flags::NO_DATA, 0)), ReplyTo::Own);
    // A running session's frame this side does not know: either version.
    assert_eq!(ReplyTo::of(&id, &header(flags::CAPABLE, 0)), ReplyTo::Both);
    let t = Topics::new("ssh", "pi");
    assert_eq!(
        t.replies(&id, ReplyTo::Both),
        vec![
            format!("ssh/pi/{id}/rx"),
            format!("ssh/pi/{id}/rx/12345678")
        ]
    );
}

#[test]
fn a_probe_topic_is_named_by_its_token_and_no_session_filter_matches_it() {
    let t = Topics::new("ssh", "pi");
    let token = ProbeToken::from_random([0xc3; PROBE_TOKEN_BYTES]);
    let topic = t.probe(&token);
    assert_eq!(
        topic,
        format!("ssh/pi/probe/{}", "c3".repeat(PROBE_TOKEN_BYTES))
    );
    assert_eq!(t.parse(&topic), None);
    assert_eq!(t.with_key(true).parse(&topic), None);
}
