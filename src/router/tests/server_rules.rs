//! The server router's rules, each shown on the pair.

use std::time::Duration;

use super::pair::{topics, Pair, Setup, ATTACKER, SERVER_ID};
use crate::protocol::abort::AbortCode;
use crate::protocol::frame::{self, decode, flags, Header, RemoteConfig};
use crate::protocol::instance::{self, Announcement, Challenged, CHALLENGE_LEN};
use crate::protocol::labels::INSTANCE_LABEL;
use crate::protocol::topic::{Direction, SessionId};
use crate::reliable::session::CloseReason;
use crate::router::refusals::{Refusal, MAX_ANSWERS_PER_SEC};
use crate::router::Router;
use crate::secure::psk::Psk;
use crate::secure::signed;

fn id(n: u8) -> SessionId {
    SessionId::from_random([0xa0 ^ n; 16])
}

/// A frame of this program that does not open a session (data, acked).
fn mid_session_frame() -> Vec<u8> {
    let header = Header {
        seq: 5,
        ack: Some(3),
        flags: flags::CAPABLE | flags::ACK_VALID,
        pad: 0,
    };
    frame::encode(&header, None, b"data")
}

/// What the server answered on session `id`'s reply topic.
fn answers(pair: &Pair, id: &SessionId) -> Vec<Vec<u8>> {
    pair.broker
        .published(&topics(false).session(id, Direction::ToClient))
        .into_iter()
        .map(|m| m.payload)
        .collect()
}

fn is_abort(payload: &[u8]) -> bool {
    decode(payload).is_ok_and(|f| frame::is_close(&f.header))
}

#[test]
fn a_frame_that_does_not_open_a_session_creates_none_and_is_answered_with_an_abort() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    let topic = topics(false).session(&id(1), Direction::ToServer);
    pair.broker
        .publish(ATTACKER, &topic, &mid_session_frame(), false);
    pair.step();
    assert!(pair.servers.is_empty(), "a session was created");
    assert_eq!(
        pair.server.common().refusals.count(Refusal::UnknownSession),
        1
    );
    let answered = answers(&pair, &id(1));
    assert_eq!(answered.len(), 1);
    assert!(is_abort(&answered[0]));
}

#[test]
fn an_opening_frame_opens_a_session_and_the_echo_comes_back_whole() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    let id = pair.open(None).expect("admitted");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let end = pair.clients.get_mut(&id).expect("open");
    end.to_send = data.clone();
    end.finish = true;
    assert!(pair.run_until(Duration::from_secs(30), |p| p.clients.is_empty()));
    assert_eq!(pair.ended, vec![(id, CloseReason::Finished)]);
    assert!(pair.run_until(Duration::from_secs(120), |p| p.servers.is_empty()));
    assert_eq!(pair.server_counters.in_use(), 0);
    assert_eq!(pair.client_counters.in_use(), 0);
}

#[test]
fn an_ended_session_is_never_reopened_and_its_stragglers_get_an_abort() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    let id = pair.open(None).expect("admitted");
    pair.clients.get_mut(&id).expect("open").finish = true;
    let opening = pair
        .broker
        .published(&topics(false).session(&id, Direction::ToServer));
    assert!(
        pair.run_until(Duration::from_secs(120), |p| p.servers.is_empty()
            && p.clients.is_empty())
    );
    // Its first frame, recorded and replayed.
    let opening = pair
        .broker
        .published(&topics(false).session(&id, Direction::ToServer))
        .into_iter()
        .chain(opening)
        .next()
        .expect("published");
    let before = answers(&pair, &id).len();
    pair.broker
        .publish(ATTACKER, &opening.topic, &opening.payload, false);
    pair.step();
    assert!(pair.servers.is_empty(), "reopened");
    let answered = answers(&pair, &id);
    assert_eq!(answered.len(), before + 1);
    assert!(is_abort(answered.last().expect("answer")));
    // A straggler is expected: answered, not counted.
    assert_eq!(
        pair.server.common().refusals.count(Refusal::UnknownSession),
        0
    );
}

#[test]
fn answers_to_unknown_sessions_are_bounded_per_second() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    for n in 0..250u32 {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&n.to_le_bytes());
        let topic = topics(false).session(&SessionId::from_random(b), Direction::ToServer);
        pair.broker
            .publish(ATTACKER, &topic, &mid_session_frame(), false);
    }
    pair.step();
    let aborts = pair.broker.published("ssh/pi/+/rx").len();
    assert_eq!(aborts, MAX_ANSWERS_PER_SEC as usize);
    assert_eq!(
        pair.server.common().refusals.count(Refusal::UnknownSession),
        250
    );
}

#[test]
fn refusals_are_summarised_once_per_period_and_then_forgotten() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    let topic = topics(false).session(&id(2), Direction::ToServer);
    pair.broker.publish(ATTACKER, &topic, b"not a frame", false);
    pair.step();
    assert_eq!(pair.server.common().refusals.count(Refusal::Undecodable), 1);
    let due = pair.server.poll_timeout().expect("a summary is due");
    assert!(due > pair.now);
    pair.run_for(Duration::from_secs(11));
    assert_eq!(pair.server.common().refusals.count(Refusal::Undecodable), 0);
    assert_eq!(pair.server.poll_timeout(), None);
}

#[test]
fn a_retained_opening_frame_opens_nothing() {
    let mut pair = Pair::new(Setup::default());
    let mut probe = Pair::new(Setup::default());
    probe.connect();
    let sid = probe.open(None).expect("admitted");
    probe.step();
    let opening = probe.broker.published("ssh/pi/+/tx").remove(0);
    // Planted before the server side subscribes: delivered retained.
    pair.broker
        .publish(ATTACKER, &opening.topic, &opening.payload, true);
    pair.connect();
    pair.step();
    assert!(pair.servers.is_empty() && pair.server.common().session(&sid).is_none());
    assert_eq!(pair.server.common().refusals.count(Refusal::Retained), 1);
}

#[test]
fn max_sessions_bounds_the_sessions_served_and_a_freed_slot_serves_again() {
    let mut pair = Pair::new(Setup {
        server_max_sessions: 2,
        ..Setup::default()
    });
    pair.connect();
    let ids: Vec<_> = (0..3).map(|_| pair.open(None).expect("admitted")).collect();
    pair.run_for(Duration::from_millis(50));
    assert_eq!(pair.servers.len(), 2);
    assert!(pair.server.common().refusals.count(Refusal::SessionLimit) > 0);
    let served: Vec<_> = ids
        .iter()
        .filter(|id| pair.servers.contains_key(id))
        .collect();
    let first = *served[0];
    pair.clients.get_mut(&first).expect("open").finish = true;
    // The third client retries its opening frame until a slot is free.
    assert!(
        pair.run_until(Duration::from_secs(20), |p| ids.iter().all(|id| {
            p.servers.contains_key(id) || p.ended.iter().any(|(e, _)| e == id)
        }))
    );
}

#[test]
fn a_target_no_rule_allows_is_refused_with_its_reason() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    let other = RemoteConfig {
        ip: None,
        port: Some(2222),
    };
    let id = pair.open(Some(other)).expect("admitted");
    assert!(pair.run_until(Duration::from_secs(10), |p| !p.ended.is_empty()));
    assert_eq!(
        pair.ended,
        vec![(id, CloseReason::PeerAborted(AbortCode::TargetNotAllowed))]
    );
    assert!(pair.servers.is_empty());
    assert_eq!(
        pair.server
            .common()
            .refusals
            .count(Refusal::TargetNotAllowed),
        1
    );
}

fn psk() -> Psk {
    Psk::parse(&"5a".repeat(32)).expect("key")
}

#[test]
fn with_a_key_only_an_authentic_hello_opens_a_session() {
    let mut pair = Pair::new(Setup {
        psk: Some(psk()),
        ..Setup::default()
    });
    pair.connect();
    let topic = topics(true).session(&id(3), Direction::ToServer);
    // An unsealed opening frame of this program, on the keyed topic.
    let mut probe = Pair::new(Setup::default());
    probe.connect();
    probe.open(None);
    probe.step();
    let plain = probe.broker.published("ssh/pi/+/tx").remove(0);
    pair.broker.publish(ATTACKER, &topic, &plain.payload, false);
    pair.step();
    assert!(pair.servers.is_empty());
    assert!(pair.broker.published("ssh/pi/+/krx").is_empty(), "answered");
    assert_eq!(
        pair.server
            .common()
            .refusals
            .count(Refusal::Unauthenticated),
        1
    );
    // A real keyed client opens, and its data goes through.
    let id = pair.open(None).expect("admitted");
    let end = pair.clients.get_mut(&id).expect("open");
    end.to_send = vec![42; 20_000];
    end.finish = true;
    assert!(pair.run_until(Duration::from_secs(30), |p| !p.ended.is_empty()));
    assert_eq!(pair.ended, vec![(id, CloseReason::Finished)]);
}

#[test]
fn replayed_hellos_hold_at_most_a_quarter_of_the_sessions_unconfirmed() {
    let mut pair = Pair::new(Setup {
        psk: Some(psk()),
        server_max_sessions: 8,
        ..Setup::default()
    });
    pair.connect();
    for _ in 0..3 {
        pair.open(None);
    }
    pair.step();
    let hellos = pair.broker.published("ssh/pi/+/ktx");
    // Only the HELLOs reach the server: the clients never hear back.
    let mut replay = Pair::new(Setup {
        psk: Some(psk()),
        server_max_sessions: 8,
        ..Setup::default()
    });
    replay.connect();
    for hello in &hellos {
        replay
            .broker
            .publish(ATTACKER, &hello.topic, &hello.payload, false);
    }
    replay.step();
    assert_eq!(replay.servers.len(), 2, "8 / 4 unconfirmed at most");
    assert_eq!(replay.server_counters.unconfirmed(), 2);
    assert!(replay.server.common().refusals.count(Refusal::SessionLimit) > 0);
}

/// An unkeyed announcement as a server process publishes it.
fn announced(nonce: u8, started_ns: u64) -> Vec<u8> {
    Announcement {
        nonce: [nonce; 16],
        started_ns,
    }
    .encode()
}

/// A keyed announcement of another process answering `answer`.
fn keyed_announced(nonce: u8, started_ns: u64, answer: [u8; CHALLENGE_LEN]) -> Vec<u8> {
    let body = Challenged {
        announcement: Announcement {
            nonce: [nonce; 16],
            started_ns,
        },
        challenge: [nonce; CHALLENGE_LEN],
        answer,
        published_ns: started_ns,
    };
    signed::sign(
        &psk().scoped("ssh", SERVER_ID),
        SERVER_ID,
        INSTANCE_LABEL,
        body.encode(),
    )
}

/// The challenge of the server side's retained announcement.
fn current_challenge(pair: &Pair) -> [u8; CHALLENGE_LEN] {
    let retained = pair.broker.retained("ssh/pi/instance").expect("announced");
    let body = &retained[..instance::CHALLENGED_LEN];
    Challenged::decode(body)
        .expect("a challenged announcement")
        .challenge
}

/// Another process with this id connects between two of ours: what the
/// broker hands the server side at each (re)connect.
fn take_overs(pair: &mut Pair, other: &[u8], times: usize) {
    for _ in 0..times {
        pair.broker
            .publish(ATTACKER, "ssh/pi/instance", other, true);
        pair.connect_server();
        pair.step();
    }
}

#[test]
fn without_a_key_a_suspected_twin_is_reported_and_the_side_keeps_serving() {
    let mut pair = Pair::started(Setup::default(), 2_000);
    pair.connect();
    pair.step();
    take_overs(&mut pair, &announced(1, 1_000), 6);
    assert!(pair.stopped.is_none(), "no stop on what anyone can forge");
    assert!(pair.open(None).is_some(), "it serves");
}

#[test]
fn a_stale_announcement_at_the_first_connect_is_not_a_twin() {
    let mut pair = Pair::started(Setup::default(), 2_000);
    pair.broker
        .publish(ATTACKER, "ssh/pi/instance", &announced(1, 1_000), true);
    pair.connect();
    for _ in 0..4 {
        pair.connect_server();
        pair.step();
    }
    assert!(pair.stopped.is_none());
}

#[test]
fn with_a_key_only_a_live_twin_answering_this_process_makes_the_newer_stop() {
    let setup = Setup {
        psk: Some(psk()),
        ..Setup::default()
    };
    let mut pair = Pair::started(setup.clone(), 2_000);
    pair.connect();
    pair.step();
    // Recorded announcements of another process, answering challenges this
    // process never made; and an unkeyed forgery.
    take_overs(&mut pair, &keyed_announced(1, 1_000, [7; CHALLENGE_LEN]), 4);
    take_overs(&mut pair, &announced(1, 1_000), 4);
    assert!(pair.stopped.is_none(), "a recording or a forgery");
    // A live twin that started first answers the current challenge.
    let live = keyed_announced(1, 1_000, current_challenge(&pair));
    take_overs(&mut pair, &live, 1);
    let twin = pair.stopped.take().expect("stops");
    assert_eq!(twin.other.started_ns, 1_000);
}

#[test]
fn with_a_key_a_live_newer_twin_is_answered_so_that_it_gets_its_proof() {
    let setup = Setup {
        psk: Some(psk()),
        ..Setup::default()
    };
    let mut pair = Pair::started(setup, 2_000);
    pair.connect();
    pair.step();
    let live = keyed_announced(9, 3_000, current_challenge(&pair));
    take_overs(&mut pair, &live, 1);
    assert!(pair.stopped.is_none(), "this one started first");
    let retained = pair.broker.retained("ssh/pi/instance").expect("announced");
    let ours = Challenged::decode(&retained[..instance::CHALLENGED_LEN]).unwrap();
    assert_eq!(
        ours.answer, [9; CHALLENGE_LEN],
        "the twin's challenge answered"
    );
}

#[test]
fn the_announcement_is_retained_at_every_connect_and_beacons_follow_the_link() {
    let mut pair = Pair::new(Setup {
        beacon: true,
        ..Setup::default()
    });
    assert_eq!(pair.server.poll_timeout(), None, "no beacon while down");
    pair.connect();
    assert!(pair.broker.retained("ssh/pi/instance").is_some());
    pair.run_for(Duration::from_millis(6_100));
    assert_eq!(pair.broker.published("ssh/pi/beacon/rx").len(), 3);
    pair.disconnect();
    assert_eq!(pair.server.poll_timeout(), None);
}

#[test]
fn a_full_broker_queue_drops_the_routers_own_messages_and_counts_them() {
    let mut pair = Pair::new(Setup::default());
    pair.connect();
    pair.step();
    for n in 10..13 {
        let topic = topics(false).session(&id(n), Direction::ToServer);
        let frame = mid_session_frame();
        let msg = crate::router::Message {
            topic: &topic,
            payload: &frame,
            retain: false,
        };
        let _ = pair.server.handle_message(&msg, pair.now);
    }
    pair.broker.limit(super::pair::SERVER, 1);
    let link = pair.broker.link(super::pair::SERVER);
    // Each abort goes to the session's topic and its client process's (a
    // frame of this program, of either version): 6 queued, 1 taken.
    assert_eq!(crate::router::flush(pair.server.common_mut(), &link), Ok(5));
    assert_eq!(pair.broker.published("ssh/pi/+/rx").len(), 1);
}

#[test]
fn a_flood_of_openings_opens_a_burst_then_fifty_sessions_a_second_and_legitimate_ones_get_in() {
    use crate::protocol::limits::{NEW_SESSIONS_BURST, NEW_SESSIONS_PER_SEC};
    let mut pair = Pair::new(Setup {
        client_max_sessions: 4096,
        server_max_sessions: 4096,
        ..Setup::default()
    });
    pair.connect();
    let ids: Vec<_> = (0..NEW_SESSIONS_BURST as usize + 200)
        .map(|_| pair.open(None).expect("admitted"))
        .collect();
    pair.step();
    let burst = NEW_SESSIONS_BURST as usize;
    assert_eq!(pair.servers.len(), burst, "the burst at once");
    assert!(pair.server.common().refusals.count(Refusal::OpeningRate) > 0);
    pair.run_for(Duration::from_secs(1));
    let later = pair.servers.len() - burst;
    assert!(
        later <= NEW_SESSIONS_PER_SEC as usize + 1,
        "{later} more in a second"
    );
    // The clients retry their openings: every one is served in the end.
    assert!(pair.run_until(Duration::from_secs(60), |p| ids
        .iter()
        .all(|id| p.servers.contains_key(id))));
}

#[test]
fn hellos_recorded_before_a_restart_cannot_crowd_out_a_client_naming_the_new_process() {
    let setup = Setup {
        psk: Some(psk()),
        server_max_sessions: 8,
        ..Setup::default()
    };
    // Recorded from an earlier server process: they name it.
    let mut earlier = Pair::started(setup.clone(), 1_000);
    earlier.connect();
    earlier.step();
    for _ in 0..6 {
        earlier.open(None);
    }
    earlier.step();
    let hellos = earlier.broker.published("ssh/pi/+/ktx");
    assert!(hellos.len() >= 6);
    // The restarted process: the replays fill the budget of HELLOs that
    // do not name it (8 / 4)...
    let mut pair = Pair::started(setup, 2_000);
    pair.connect();
    pair.step();
    for hello in &hellos {
        pair.broker
            .publish(ATTACKER, &hello.topic, &hello.payload, false);
    }
    pair.step();
    assert_eq!(pair.server_counters.unconfirmed(), 2, "replays held apart");
    // ...while a client that saw its announcement gets in at once (a
    // session id of its own).
    pair.next_id = 100;
    let id = pair.open(None).expect("admitted");
    pair.step();
    assert!(pair.servers.contains_key(&id), "a fresh client served");
    assert_eq!(pair.server_counters.unconfirmed_bound(), 1);
}

#[test]
fn a_hello_naming_a_challenge_two_periods_old_is_not_taken_for_a_fresh_client() {
    use crate::protocol::limits::CHALLENGE_PERIOD;
    let mut pair = Pair::started(
        Setup {
            psk: Some(psk()),
            ..Setup::default()
        },
        2_000,
    );
    pair.connect();
    pair.step();
    let first = current_challenge(&pair);
    assert!(pair.server.names_us(Some(first)));
    pair.advance(CHALLENGE_PERIOD);
    pair.step();
    let second = current_challenge(&pair);
    assert_ne!(first, second, "a fresh challenge announced");
    assert!(pair.server.names_us(Some(first)) && pair.server.names_us(Some(second)));
    pair.advance(CHALLENGE_PERIOD);
    pair.step();
    assert!(!pair.server.names_us(Some(first)), "recorded too long ago");
    assert_eq!(
        pair.client_counters.server_challenge.get(),
        Some(current_challenge(&pair)),
        "new HELLOs name the newest"
    );
}
