//! Tagged beacons and announcements.

use crate::protocol::labels::BEACON_LABEL;
use crate::secure::psk::{Psk, TAG_LEN};
use crate::secure::signed::*;

#[test]
fn a_signed_payload_verifies_only_with_its_key_and_server_id() {
    let psk = Psk::parse(&"ab".repeat(32)).unwrap();
    let other = Psk::parse(&"cd".repeat(32)).unwrap();
    let signed = sign(&psk, "pi", BEACON_LABEL, vec![1, 2, 3]);
    assert_eq!(signed.len(), 3 + TAG_LEN);
    assert_eq!(
        classify(Some(&psk), "pi", BEACON_LABEL, 3, &signed),
        Signed::Ours(&[1, 2, 3])
    );
    assert_eq!(
        classify(Some(&other), "pi", BEACON_LABEL, 3, &signed),
        Signed::Foreign(&[1, 2, 3])
    );
    assert_eq!(
        classify(Some(&psk), "router", BEACON_LABEL, 3, &signed),
        Signed::Foreign(&[1, 2, 3])
    );
    assert_eq!(
        classify(None, "pi", BEACON_LABEL, 3, &signed),
        Signed::Foreign(&[1, 2, 3])
    );
    assert_eq!(
        classify(Some(&psk), "pi", BEACON_LABEL, 3, &[1, 2, 3]),
        Signed::Plain(&[1, 2, 3])
    );
    assert_eq!(
        classify(Some(&psk), "pi", BEACON_LABEL, 3, &[1]),
        Signed::Invalid
    );
}
