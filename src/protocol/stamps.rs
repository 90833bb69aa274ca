//! Timestamps in the `pad` field of frames between two instances of this
//! program ([`flags::TIMESTAMP`], [`flags::ECHO`]), after TCP's (RFC 7323)
//! and QUIC's acknowledgement delay: every frame says when it was sent and
//! echoes the newest timestamp received, advanced by how long that frame
//! was held before this one went out. So every frame gives its receiver a
//! round trip of the path alone: no ambiguity after a retransmission
//! (Karn's rule discards those samples), and nothing of the time a slow
//! local reader kept frames unacknowledged. The delay-based window
//! (`reliable::congestion`) runs on these samples.
//!
//! Both halves are milliseconds modulo 2^16 of the sender's own clock (a
//! session's age): only differences on one clock are ever taken, and a
//! round trip over [`MAX_SAMPLE`] is discarded (a stale echo, or a wrap).
//! A peer that sends no [`flags::ECHO`] (an earlier version) leaves the
//! sender with its acknowledgement round trips, as before.

use std::time::Duration;

use super::flags;

/// The longest round trip taken from an echo: well inside the 65.5 s the
/// 16-bit clock wraps in.
pub const MAX_SAMPLE: Duration = Duration::from_secs(30);

/// The two halves of a frame's `pad` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    /// The sender's clock when it sent the frame, in ms (mod 2^16).
    pub sent: u16,
    /// The newest timestamp received, plus how long it was held, in ms.
    pub echo: Option<u16>,
}

impl Stamps {
    /// The flags and `pad` value carrying these stamps.
    pub fn to_wire(self) -> (u32, u32) {
        let echo_flag = if self.echo.is_some() { flags::ECHO } else { 0 };
        let pad = u32::from(self.sent) | u32::from(self.echo.unwrap_or(0)) << 16;
        (flags::TIMESTAMP | echo_flag, pad)
    }

    /// The stamps of a frame with `flags` and `pad`, if it carries any (a
    /// close frame never does: its `pad` is the abort code).
    pub fn from_wire(flags: u32, pad: u32) -> Option<Stamps> {
        let close =
            flags & (flags::DISCONNECT | flags::NO_DATA) == flags::DISCONNECT | flags::NO_DATA;
        if flags & flags::TIMESTAMP == 0 || flags & flags::CAPABLE == 0 || close {
            return None;
        }
        Some(Stamps {
            sent: pad as u16,
            echo: (flags & flags::ECHO != 0).then_some((pad >> 16) as u16),
        })
    }
}

/// A clock reading in the wire's unit: whole milliseconds, mod 2^16.
pub fn clock(age: Duration) -> u16 {
    age.as_millis() as u16
}

/// The round trip an echo gives, read at `now` (on the same clock), if
/// plausible.
pub fn round_trip(now: u16, echo: u16) -> Option<Duration> {
    let rtt = Duration::from_millis(u64::from(now.wrapping_sub(echo)));
    (rtt <= MAX_SAMPLE).then_some(rtt)
}
