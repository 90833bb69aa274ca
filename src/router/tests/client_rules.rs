//! The client router's rules, and the rules both share, on the pair.

use std::time::Duration;

use super::pair::{topics, Pair, Setup, ATTACKER, SERVER_ID};
use crate::protocol::abort::AbortCode;
use crate::protocol::instance::{self, Announcement, Challenged, CHALLENGE_LEN};
use crate::protocol::labels::INSTANCE_LABEL;
use crate::protocol::limits::{HEADER_LEN, LEGACY_FRAME_DATA};
use crate::protocol::topic::Direction;
use crate::reliable::session::CloseReason;
use crate::router::refusals::Refusal;
use crate::router::{NoAnswer, Router};
use crate::secure::psk::Psk;
use crate::secure::signed;

fn psk(byte: &str) -> Psk {
    Psk::parse(&byte.repeat(32)).expect("key")
}

fn keyed() -> Setup {
    Setup {
        psk: Some(psk("5a")),
        ..Setup::default()
    }
}

/// A keyed announcement of a server process, made with `key`.
fn keyed_announcement(key: &Psk, nonce: u8, started_ns: u64) -> Vec<u8> {
    let a = Announcement {
        nonce: [nonce; 16],
        started_ns,
    };
    signed::sign(
        &key.scoped("ssh", SERVER_ID),
        SERVER_ID,
        INSTANCE_LABEL,
        instance::with_published(a.encode(), started_ns + 5),
    )
}

#[test]
fn local_connections_beyond_max_sessions_are_refused_and_counted() {
    let mut pair = Pair::new(Setup {
        client_max_sessions: 2,
        ..Setup::default()
    });
    pair.connect();
    assert!(pair.open(None).is_some());
    let second = pair.open(None).expect("admitted");
    assert!(pair.open(None).is_none(), "a third one");
    assert_eq!(
        pair.client
            .common()
            .refusals
            .count(Refusal::ConnectionLimit),
        1
    );
    pair.clients.get_mut(&second).expect("open").finish = true;
    assert!(pair.run_until(Duration::from_secs(20), |p| !p.ended.is_empty()));
    assert!(pair.open(None).is_some(), "a slot was given back");
}

#[test]
fn sessions_beyond_the_subscription_limit_are_refused_only_toward_a_per_session_server_side() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    pair.client.set_subscription_limit(5, 3);
    let counters = pair.client.common().counters().clone();
    // Two sessions hold their own reply topic: the limit is reached.
    counters.own_topics.set(2);
    // Unknown layout, or a server side answering on the process's topic:
    // no session needs a subscription of its own.
    assert!(pair.open(None).is_some());
    counters.replies.answered(true);
    assert!(pair.open(None).is_some());
    // A server side that answers each session on its own topic.
    counters.replies.answered(false);
    assert!(pair.open(None).is_none());
    assert!(pair.open(None).is_none());
    assert_eq!(
        pair.client
            .common()
            .refusals
            .count(Refusal::SubscriptionLimit),
        2
    );
    counters.own_topics.set(1);
    assert!(pair.open(None).is_some(), "a subscription was given back");
}

/// An announcement of a server process of this version (with a
/// challenge), made with `key`.
fn challenged_announcement(key: &Psk, nonce: u8, started_ns: u64) -> Vec<u8> {
    let body = Challenged {
        announcement: Announcement {
            nonce: [nonce; 16],
            started_ns,
        },
        challenge: [nonce; CHALLENGE_LEN],
        answer: [0; CHALLENGE_LEN],
        published_ns: started_ns + 5,
    };
    signed::sign(
        &key.scoped("ssh", SERVER_ID),
        SERVER_ID,
        INSTANCE_LABEL,
        body.encode(),
    )
}

#[test]
fn a_keyed_server_restart_resets_the_sessions_but_a_recorded_announcement_does_not() {
    let mut pair = Pair::started(keyed(), 1_000_000);
    pair.connect();
    pair.step();
    let id = pair.open(None).expect("admitted");
    pair.run_for(Duration::from_millis(100));
    assert_eq!(pair.server_counters.in_use(), 1);
    let key = psk("5a");
    let older = challenged_announcement(&key, 1, 500);
    pair.broker
        .publish(ATTACKER, "ssh/pi/instance", &older, false);
    pair.run_for(Duration::from_millis(100));
    assert!(pair.ended.is_empty(), "an older process's announcement");
    let newer = challenged_announcement(&key, 9, 2_000_000_000_000);
    pair.broker
        .publish(ATTACKER, "ssh/pi/instance", &newer, false);
    assert!(pair.run_until(Duration::from_secs(5), |p| !p.ended.is_empty()));
    assert_eq!(pair.ended[0].0, id);
    assert_eq!(pair.ended[0].1, CloseReason::LocalAbort);
    // Replaying the same newer one again changes nothing.
    let id2 = pair.open(None).expect("admitted");
    pair.run_for(Duration::from_millis(100));
    pair.broker
        .publish(ATTACKER, "ssh/pi/instance", &newer, false);
    pair.run_for(Duration::from_millis(200));
    assert!(pair.clients.contains_key(&id2));
}

#[test]
fn replaying_genuine_announcements_never_resets_a_session_of_the_process_serving_it() {
    let key = psk("5a");
    let mut pair = Pair::started(keyed(), 1_000_000);
    pair.connect_server();
    pair.step();
    let genuine = pair.broker.retained("ssh/pi/instance").expect("announced");
    // An old process's announcement planted retained over it: the client's
    // first view of the server side is that process.
    // (Twice: the server side answers the first one's challenge with its
    // own announcement again, once per connect.)
    let old = challenged_announcement(&key, 1, 500);
    for _ in 0..2 {
        pair.broker.publish(ATTACKER, "ssh/pi/instance", &old, true);
        pair.step();
    }
    assert_eq!(pair.broker.retained("ssh/pi/instance"), Some(old.clone()));
    pair.connect_client();
    pair.step();
    let id = pair.open(None).expect("admitted");
    pair.run_for(Duration::from_millis(200));
    assert!(pair.servers.contains_key(&id), "served");
    // Replays of the genuine announcement of the process serving it, and
    // of the old one, change nothing.
    for payload in [&genuine, &old, &genuine] {
        pair.broker
            .publish(ATTACKER, "ssh/pi/instance", payload, false);
        pair.run_for(Duration::from_millis(200));
    }
    assert!(pair.ended.is_empty(), "{:?}", pair.ended);
    assert!(pair.clients.contains_key(&id));
}

#[test]
fn the_server_announcement_tells_what_to_say_when_it_never_answers() {
    let cases = [
        (None, None, NoAnswer::Unknown),
        (Some("5a"), None, NoAnswer::ServerHasNoKey),
        (None, Some("5a"), NoAnswer::ServerNeedsKey),
        (Some("5a"), Some("6b"), NoAnswer::KeysDiffer),
        (Some("5a"), Some("5a"), NoAnswer::SameKey),
    ];
    for (client_key, server_key, said) in cases {
        let mut pair = Pair::new(Setup {
            psk: client_key.map(psk),
            ..Setup::default()
        });
        let payload = match server_key {
            Some(k) => keyed_announcement(&psk(k), 1, 10),
            None => Announcement {
                nonce: [1; 16],
                started_ns: 10,
            }
            .encode(),
        };
        pair.broker
            .publish(ATTACKER, "ssh/pi/instance", &payload, true);
        pair.connect_client();
        pair.step();
        assert_eq!(
            pair.client_counters.no_answer.get(),
            said,
            "{client_key:?} {server_key:?}"
        );
    }
}

/// Advice that would weaken a side: running without a key, or without TLS.
const WEAKENING: [&str; 7] = [
    "neither",
    "none",
    "run without",
    "runs without",
    "leave out",
    "remove",
    "drop",
];

#[test]
fn no_message_of_a_keyed_side_advises_dropping_its_key() {
    // Whatever announcement anyone publishes: none, an unkeyed one (forged
    // or not), one made with another key, with the same key, or garbage.
    let unkeyed = Announcement {
        nonce: [1; 16],
        started_ns: 10,
    }
    .encode();
    let announcements = [
        None,
        Some(unkeyed),
        Some(keyed_announcement(&psk("6b"), 1, 10)),
        Some(keyed_announcement(&psk("5a"), 1, 10)),
        Some(vec![0xff; 7]),
    ];
    let mut said = Vec::new();
    for payload in announcements {
        let mut pair = Pair::new(keyed());
        if let Some(payload) = &payload {
            pair.broker
                .publish(ATTACKER, "ssh/pi/instance", payload, true);
        }
        pair.connect_client();
        pair.step();
        said.push(pair.client_counters.no_answer.get());
    }
    assert!(said.contains(&NoAnswer::ServerHasNoKey), "{said:?}");
    for words in said.iter().map(|s| s.words()) {
        for advice in WEAKENING {
            assert!(!words.contains(advice), "{advice:?} in: {words}");
        }
    }
}

#[test]
fn no_message_without_an_answer_advises_weakening_either_side() {
    let all = [
        NoAnswer::Unknown,
        NoAnswer::ServerHasNoKey,
        NoAnswer::ServerNeedsKey,
        NoAnswer::KeysDiffer,
        NoAnswer::SameKey,
    ];
    for words in all.map(NoAnswer::words) {
        for advice in WEAKENING {
            assert!(!words.contains(advice), "{advice:?} in: {words}");
        }
        assert!(words.contains("same"), "no remedy in: {words}");
    }
}

#[test]
fn frames_are_never_routed_to_a_session_of_another_topic_or_retained() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    // A forged abort, retained on the topic of the next session before it
    // subscribes: stale by definition.
    let next = crate::protocol::topic::SessionId::from_random([1; 16]);
    let reply = topics(false).session(&next, Direction::ToClient);
    let abort = crate::protocol::frame::close_frame(AbortCode::Stopping);
    pair.broker.publish(ATTACKER, &reply, &abort, true);
    // And one on a topic no session of this side has.
    let other = "ssh/other/ffffffffffffffffffffffffffffffff/rx";
    pair.broker.publish(ATTACKER, other, &abort, false);
    let id = pair.open(None).expect("admitted");
    assert_eq!(id, next);
    pair.run_for(Duration::from_millis(50));
    assert!(
        pair.ended.is_empty(),
        "a retained frame reached the session"
    );
    assert_eq!(pair.client.common().refusals.count(Refusal::Retained), 1);
}

#[test]
fn a_restored_link_resends_at_once_what_was_lost() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    let id = pair.open(None).expect("admitted");
    pair.run_for(Duration::from_millis(50));
    pair.disconnect();
    pair.clients.get_mut(&id).expect("open").to_send = b"typed while down".to_vec();
    pair.run_for(Duration::from_millis(20));
    pair.connect();
    // A few rounds, well within any retransmission timer.
    for _ in 0..4 {
        pair.step();
        pair.advance(Duration::from_millis(1));
    }
    let echoed = &pair.clients[&id].received;
    assert_eq!(echoed, b"typed while down");
}

#[test]
fn a_smaller_frame_limit_from_the_broker_makes_sessions_send_smaller_frames() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    pair.client.common_mut().frame_limit(LEGACY_FRAME_DATA);
    let id = pair.open(None).expect("admitted");
    let end = pair.clients.get_mut(&id).expect("open");
    end.to_send = vec![1; 50_000];
    end.finish = true;
    assert!(pair.run_until(Duration::from_secs(30), |p| !p.ended.is_empty()));
    let largest = pair
        .broker
        .published("ssh/pi/+/tx")
        .iter()
        .map(|m| m.payload.len())
        .max()
        .expect("published");
    assert!(largest <= LEGACY_FRAME_DATA + HEADER_LEN, "{largest} bytes");
    assert_eq!(pair.ended[0].1, CloseReason::Finished);
}
