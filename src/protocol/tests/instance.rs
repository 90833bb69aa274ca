//! Instance announcements on the wire.

use crate::protocol::instance::*;

#[test]
fn an_announcement_round_trips_and_anything_else_is_rejected() {
    let a = Announcement {
        nonce: [7; 16],
        started_ns: 1_700_000_000_123_456_789,
    };
    let bytes = a.encode();
    assert_eq!(bytes.len(), LEN);
    assert_eq!(Announcement::decode(&bytes), Some(a));
    assert_eq!(Announcement::decode(&[]), None);
    assert_eq!(Announcement::decode(&bytes[..LEN - 1]), None);
    let mut other_version = bytes.clone();
    other_version[4] = 2;
    assert_eq!(Announcement::decode(&other_version), None);
}

#[test]
fn exactly_one_of_two_processes_is_the_older() {
    let a = Announcement {
        nonce: [1; 16],
        started_ns: 5,
    };
    let b = Announcement {
        nonce: [2; 16],
        started_ns: 5,
    };
    assert!(a.is_older_than(&b) != b.is_older_than(&a));
    let later = Announcement {
        nonce: [0; 16],
        started_ns: 6,
    };
    assert!(a.is_older_than(&later) && !later.is_older_than(&a));
}

#[test]
fn a_challenged_announcement_round_trips_and_other_lengths_are_rejected() {
    let c = Challenged {
        announcement: Announcement {
            nonce: [3; 16],
            started_ns: 42,
        },
        challenge: [4; CHALLENGE_LEN],
        answer: [5; CHALLENGE_LEN],
        published_ns: 43,
    };
    let bytes = c.encode();
    assert_eq!(bytes.len(), CHALLENGED_LEN);
    assert_eq!(Challenged::decode(&bytes), Some(c));
    assert_eq!(Announcement::decode(&bytes[..LEN]), Some(c.announcement));
    assert_eq!(Challenged::decode(&bytes[..KEYED_LEN]), None);
    assert_eq!(Challenged::decode(&[0; CHALLENGED_LEN]), None);
}
