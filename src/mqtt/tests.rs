//! The MQTT client on its own, on virtual time: packets in, packets out.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, PubRel, Publish, SubAck,
    SubscribeReasonCode,
};
use rumqttc::mqttbytes::QoS;

use super::*;

fn options(qos: QoS) -> Options {
    Options {
        client_id: "me".into(),
        login: None,
        qos,
        inflight: 4,
        max_packet: 1024,
        connect_timeout: Duration::from_secs(10),
        write_room: 16 * 1024,
    }
}

fn bytes(packet: Packet) -> BytesMut {
    let mut out = BytesMut::new();
    packet.write(&mut out, usize::MAX).unwrap();
    out
}

/// Takes what the client wrote, decoded.
fn sent(client: &mut Client) -> Vec<Packet> {
    let mut reader = Reader::new(usize::MAX >> 8);
    reader.push(client.transmit());
    let n = client.transmit().len();
    client.written(n);
    let mut packets = Vec::new();
    while let Some(Incoming::Packet(p)) = reader.next_packet().unwrap() {
        packets.push(p);
    }
    packets
}

fn feed(client: &mut Client, packet: Packet, now: Instant) {
    client.handle_bytes(&bytes(packet), now).unwrap();
}

/// A client connected at `now`, its CONNECT and restored SUBSCRIBE taken.
fn connected(qos: QoS, now: Instant) -> Client {
    let mut client = Client::new(options(qos), now);
    client.connect(now);
    feed(
        &mut client,
        Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, false)),
        now,
    );
    let _ = sent(&mut client);
    assert_eq!(client.poll_event(), Some(Event::Connected));
    client
}

fn publish(client: &mut Client, now: Instant) -> u16 {
    client
        .publish("t".into(), Bytes::from_static(b"x"), false, now)
        .unwrap();
    match sent(client).as_slice() {
        [Packet::Publish(p)] => p.pkid,
        other => panic!("{other:?}"),
    }
}

#[test]
fn packet_ids_in_use_are_never_handed_out_again() {
    let mut ids = IdSet::default();
    let first: Vec<u16> = (0..10).map(|_| ids.take().unwrap()).collect();
    assert_eq!(first, (1..=10).collect::<Vec<_>>());
    ids.remove(3);
    // The cycle goes on past the freed id, and wraps around skipping 0 and
    // every id still taken.
    for _ in 0..65_535 - 9 {
        let id = ids.take().unwrap();
        assert!(!first.contains(&id) || id == 3, "{id}");
    }
    assert_eq!(ids.take(), None);
    assert_eq!(ids.len(), 65_535);
    assert!(ids.remove(7));
    assert_eq!(ids.take(), Some(7));
}

#[test]
fn a_qos_2_id_stays_taken_until_pubcomp() {
    let now = Instant::now();
    let mut client = connected(QoS::ExactlyOnce, now);
    let id = publish(&mut client, now);
    feed(&mut client, Packet::PubRec(PubRec::new(id)), now);
    assert_eq!(sent(&mut client), vec![Packet::PubRel(PubRel::new(id))]);
    // Between PUBREC and PUBCOMP the id is still the broker's: a full
    // cycle of publishes never takes it.
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(publish(&mut client, now));
    }
    assert!(!ids.contains(&id), "{ids:?}");
    assert!(!client.can_publish(), "4 in flight is the limit");
    feed(&mut client, Packet::PubComp(PubComp::new(id)), now);
    assert!(client.can_publish());
    // A second PUBCOMP for it is counted, not a failure.
    feed(&mut client, Packet::PubComp(PubComp::new(id)), now);
    assert_eq!(client.unsolicited(), 1);
}

#[test]
fn an_incoming_qos_2_message_is_delivered_once_and_answered_in_both_phases() {
    let now = Instant::now();
    let mut client = connected(QoS::ExactlyOnce, now);
    let mut message = Publish::new("t", QoS::ExactlyOnce, b"m".to_vec());
    message.pkid = 9;
    feed(&mut client, Packet::Publish(message.clone()), now);
    message.dup = true;
    feed(&mut client, Packet::Publish(message.clone()), now);
    assert!(matches!(client.poll_event(), Some(Event::Message(_))));
    assert_eq!(client.poll_event(), None, "the duplicate is not delivered");
    feed(&mut client, Packet::PubRel(PubRel::new(9)), now);
    assert_eq!(
        sent(&mut client),
        vec![
            Packet::PubRec(PubRec::new(9)),
            Packet::PubRec(PubRec::new(9)),
            Packet::PubComp(PubComp::new(9))
        ]
    );
    // Released: the same id is a new message.
    feed(&mut client, Packet::Publish(message), now);
    assert!(matches!(client.poll_event(), Some(Event::Message(_))));
}

#[test]
fn a_suback_failure_names_the_refused_topics_only() {
    let now = Instant::now();
    let mut client = Client::new(options(QoS::AtLeastOnce), now);
    for topic in ["a", "b", "c"] {
        client.subscribe(topic.into(), now);
    }
    client.connect(now);
    feed(
        &mut client,
        Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, false)),
        now,
    );
    let packets = sent(&mut client);
    let Packet::Subscribe(subscribe) = &packets[1] else {
        panic!("{packets:?}")
    };
    let codes = vec![
        SubscribeReasonCode::Success(QoS::AtLeastOnce),
        SubscribeReasonCode::Failure,
        SubscribeReasonCode::Success(QoS::AtMostOnce),
    ];
    feed(
        &mut client,
        Packet::SubAck(SubAck::new(subscribe.pkid, codes)),
        now,
    );
    assert_eq!(client.poll_event(), Some(Event::Connected));
    assert_eq!(
        client.poll_event(),
        Some(Event::SubscribeRefused(vec!["b".into()]))
    );
}

#[test]
fn every_connect_restores_the_subscriptions_before_anything_else() {
    let now = Instant::now();
    let mut client = connected(QoS::AtLeastOnce, now);
    client.subscribe("one".into(), now);
    client.subscribe("two".into(), now);
    client.unsubscribe("one", now);
    let _ = sent(&mut client);
    let _ = publish(&mut client, now);
    // The connection drops; publishes wait until the next CONNACK.
    client.lost();
    assert_eq!(
        client.publish("t".into(), Bytes::new(), false, now),
        Err(Busy::Later)
    );
    client.connect(now);
    assert!(!client.can_publish(), "not before CONNACK");
    feed(
        &mut client,
        Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, false)),
        now,
    );
    client
        .publish("t".into(), Bytes::new(), false, now)
        .unwrap();
    let packets = sent(&mut client);
    assert!(matches!(packets[0], Packet::Connect(_)), "{packets:?}");
    let Packet::Subscribe(s) = &packets[1] else {
        panic!("{packets:?}")
    };
    let topics: Vec<&str> = s.filters.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(topics, ["two"]);
    assert!(matches!(packets[2], Packet::Publish(_)), "{packets:?}");
    // The clean session forgot what was in flight: the publish of the lost
    // connection waits for nothing, so the limit of 4 is free again.
    for _ in 0..3 {
        client
            .publish("t".into(), Bytes::new(), false, now)
            .unwrap();
    }
    assert!(!client.can_publish());
}

#[test]
fn a_refused_connection_says_why() {
    let now = Instant::now();
    let mut client = Client::new(options(QoS::AtMostOnce), now);
    client.connect(now);
    let refused = ConnAck::new(ConnectReturnCode::BadUserNamePassword, false);
    assert_eq!(
        client.handle_bytes(&bytes(Packet::ConnAck(refused)), now),
        Err(Failure::Refused(ConnectReturnCode::BadUserNamePassword))
    );
}

#[test]
fn no_connack_within_the_timeout_ends_the_attempt() {
    let now = Instant::now();
    let mut client = Client::new(options(QoS::AtMostOnce), now);
    client.connect(now);
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(10));
    assert_eq!(
        client.handle_timeout(deadline - Duration::from_millis(1)),
        Ok(())
    );
    assert!(matches!(
        client.handle_timeout(deadline),
        Err(Failure::NoConnAck(_))
    ));
}

#[test]
fn an_idle_connection_pings_after_the_keep_alive_and_lives_on_its_answer() {
    let start = Instant::now();
    let mut client = connected(QoS::AtLeastOnce, start);
    let mut now = start;
    // The restored SUBSCRIBE of nothing: the connection is idle at once.
    assert_eq!(client.poll_timeout(), Some(start + wire::KEEP_ALIVE));
    now += wire::KEEP_ALIVE;
    client.handle_timeout(now).unwrap();
    assert_eq!(sent(&mut client), vec![Packet::PingReq]);
    now += Duration::from_millis(40);
    feed(&mut client, Packet::PingResp, now);
    assert_eq!(client.rtt().map(|d| d.as_millis() <= 40), Some(true));
    assert_eq!(client.poll_timeout(), Some(start + 2 * wire::KEEP_ALIVE));
}

#[test]
fn a_silent_broker_with_data_in_flight_is_dead_within_seconds() {
    let start = Instant::now();
    let mut client = connected(QoS::AtLeastOnce, start);
    let _ = publish(&mut client, start);
    // Nothing comes back: a PINGREQ after 5 s (the minimum quiet time; the
    // CONNACK's round trip was zero), the end 3 s later.
    let probe = client.poll_timeout().unwrap();
    assert_eq!(probe, start + wire::QUIET_MIN);
    client.handle_timeout(probe).unwrap();
    assert_eq!(sent(&mut client), vec![Packet::PingReq]);
    let end = client.poll_timeout().unwrap();
    assert_eq!(end, probe + wire::PING_WAIT_MIN);
    assert_eq!(
        client.handle_timeout(end - Duration::from_millis(1)),
        Ok(())
    );
    assert_eq!(
        client.handle_timeout(end),
        Err(Failure::Silent(wire::QUIET_MIN + wire::PING_WAIT_MIN))
    );
}

#[test]
fn any_byte_from_the_broker_keeps_a_busy_connection_alive() {
    let start = Instant::now();
    let mut client = connected(QoS::AtLeastOnce, start);
    let id = publish(&mut client, start);
    let _ = publish(&mut client, start);
    // An acknowledgement every 4 s, one publish still unacknowledged each
    // time: the quiet time starts again at every byte read (until the
    // keep-alive asks for a PINGREQ, 20 s after the last write).
    let mut now = start;
    for _ in 0..4 {
        now += Duration::from_secs(4);
        assert_eq!(client.handle_timeout(now), Ok(()));
        feed(&mut client, Packet::PubAck(PubAck::new(id)), now);
        assert!(sent(&mut client).is_empty());
    }
    assert_eq!(client.poll_timeout(), Some(start + wire::KEEP_ALIVE));
}

#[test]
fn an_oversized_publish_is_acknowledged_and_skipped_across_reads() {
    let now = Instant::now();
    let mut client = connected(QoS::AtLeastOnce, now);
    let mut big = Publish::new("big/topic", QoS::AtLeastOnce, vec![0x55; 1 << 20]);
    big.pkid = 77;
    let mut stream = bytes(Packet::Publish(big));
    stream.extend_from_slice(&bytes(Packet::Publish(Publish::new(
        "small",
        QoS::AtMostOnce,
        b"ok".to_vec(),
    ))));
    // One byte at a time: the header, the topic and the id arrive in
    // separate reads, and nothing of the payload is kept.
    let mut largest = 0;
    for byte in stream.chunks(1) {
        client.handle_bytes(byte, now).unwrap();
        largest = largest.max(client_buffered(&client));
    }
    assert!(largest < 64, "buffered {largest} bytes");
    assert_eq!(client.poll_event(), Some(Event::Oversized));
    match client.poll_event() {
        Some(Event::Message(p)) => assert_eq!(&p.payload[..], b"ok"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sent(&mut client), vec![Packet::PubAck(PubAck::new(77))]);
}

fn client_buffered(client: &Client) -> usize {
    client.buffered()
}

#[test]
fn an_oversized_packet_other_than_publish_ends_the_connection() {
    let now = Instant::now();
    let mut client = connected(QoS::AtLeastOnce, now);
    let codes = vec![SubscribeReasonCode::Failure; 2000];
    let result = client.handle_bytes(&bytes(Packet::SubAck(SubAck::new(1, codes))), now);
    assert!(
        matches!(
            result,
            Err(Failure::Read(ReadError::TooLarge { packet_type: 9, .. }))
        ),
        "{result:?}"
    );
}

#[test]
fn a_publish_over_the_packet_limit_is_refused_before_it_is_queued() {
    let now = Instant::now();
    let mut client = connected(QoS::AtLeastOnce, now);
    let payload = Bytes::from(vec![0; 2000]);
    assert_eq!(
        client.publish("t".into(), payload, false, now),
        Err(Busy::TooLarge)
    );
    assert!(client.transmit().is_empty());
}

#[test]
fn disconnect_is_written_after_everything_queued_before_it() {
    let now = Instant::now();
    let mut client = connected(QoS::AtMostOnce, now);
    client
        .publish("t".into(), Bytes::from_static(b"x"), false, now)
        .unwrap();
    client.disconnect(now);
    assert!(!client.is_closed(), "still to be written");
    let packets = sent(&mut client);
    assert!(matches!(
        packets.as_slice(),
        [Packet::Publish(_), Packet::Disconnect]
    ));
    assert!(client.is_closed());
}

#[test]
fn an_oversized_publish_whose_topic_overruns_it_is_malformed() {
    let mut reader = Reader::new(300);
    // PUBLISH QoS 1, remaining length 400, a topic of 65,535 bytes.
    reader.push(&[0x32, 0x90, 0x03, 0xff, 0xff]);
    assert!(matches!(reader.next_packet(), Err(ReadError::Malformed(_))));
}

/// Runs `client` for `secs` seconds from `start`, answering every PINGREQ
/// at once and nothing else; returns the events reported.
fn answer_pings_only(client: &mut Client, start: Instant, secs: u64) -> Vec<Event> {
    let mut events = Vec::new();
    let end = start + Duration::from_secs(secs);
    while let Some(due) = client.poll_timeout().filter(|&d| d <= end) {
        client.handle_timeout(due).unwrap();
        for packet in sent(client) {
            if packet == Packet::PingReq {
                feed(client, Packet::PingResp, due);
            }
        }
        events.extend(std::iter::from_fn(|| client.poll_event()));
    }
    events
}

#[test]
fn a_broker_that_answers_pings_but_no_qos_2_publish_is_said_once_after_10_s() {
    let start = Instant::now();
    let mut client = connected(QoS::ExactlyOnce, start);
    let _ = publish(&mut client, start);
    let events = answer_pings_only(&mut client, start, 60);
    assert_eq!(events, vec![Event::Qos2Unanswered(wire::QOS2_SILENCE)]);
    // At QoS 1 an unanswered publish is the liveness rules' business only.
    let mut client = connected(QoS::AtLeastOnce, start);
    let _ = publish(&mut client, start);
    assert_eq!(answer_pings_only(&mut client, start, 60), vec![]);
}

#[test]
fn a_slow_qos_2_answer_within_10_s_is_not_taken_for_a_missing_one() {
    let start = Instant::now();
    let mut client = connected(QoS::ExactlyOnce, start);
    let id = publish(&mut client, start);
    assert!(answer_pings_only(&mut client, start, 9).is_empty());
    let t = start + Duration::from_secs(9);
    feed(&mut client, Packet::PubRec(PubRec::new(id)), t);
    let _ = sent(&mut client);
    // PUBCOMP 9 s after PUBREC: each answer restarts the wait.
    assert!(answer_pings_only(&mut client, t, 9).is_empty());
    feed(
        &mut client,
        Packet::PubComp(PubComp::new(id)),
        t + Duration::from_secs(9),
    );
    assert!(answer_pings_only(&mut client, t, 120).is_empty());
}
