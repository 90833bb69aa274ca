//! Abort codes on the wire.

use crate::protocol::abort::*;

#[test]
fn every_code_round_trips_and_unknown_ones_are_unspecified() {
    for code in [
        AbortCode::Unspecified,
        AbortCode::TargetNotAllowed,
        AbortCode::TargetRefused,
        AbortCode::TargetUnreachable,
        AbortCode::Stopping,
    ] {
        assert_eq!(AbortCode::from_wire(code.to_wire()), code);
    }
    assert_eq!(AbortCode::from_wire(99), AbortCode::Unspecified);
    assert_eq!(AbortCode::from_wire(u32::MAX), AbortCode::Unspecified);
}
