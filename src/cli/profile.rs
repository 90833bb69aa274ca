//! `--broker-profile`: a cloud broker's documented limits fill in the
//! publishing caps, the subscription limit and the frame size the flags
//! left unset; QoS 2 toward a broker without it is refused; one line says
//! what was applied.

use super::checks::{integer_in, MAX_SUBSCRIPTIONS_LIMIT};
use super::env::Given;
use super::CliError;
use crate::mqtt::pacing::{frame_cap, Caps};
use crate::mqtt::profiles::{self, Profile};
use crate::protocol::frame::MAX_CONFIG_LEN;
use crate::protocol::limits::{HEADER_LEN, MAX_FRAME_DATA, MIN_FRAME_DATA};
use crate::secure::channel::MAX_OVERHEAD;

/// Bytes of a frame's payload that are not stream bytes at most: the
/// header, a remote-config block, and the sealing of `--psk-file`.
const FRAME_OVERHEAD: usize = HEADER_LEN + MAX_CONFIG_LEN + MAX_OVERHEAD;

/// What a profile and the flags decide together.
pub struct Limits {
    /// The publishing caps.
    pub caps: Caps,
    /// Subscriptions one connection may hold.
    pub subscriptions: Option<usize>,
    /// Stream bytes per frame.
    pub frame_data: usize,
    /// The line to say at start-up, if a profile applies.
    pub line: Option<String>,
}

/// The flags' own values, before a profile fills in the rest.
pub struct ProfileFlags<'a> {
    /// `--broker-profile`.
    pub profile: Option<&'a Given>,
    /// `--mqtt-max-subs`.
    pub subscriptions: Option<&'a Given>,
    /// `--mqtt-qos`, if given.
    pub qos: Option<u8>,
    /// `--frame-size` was given.
    pub frame_size_given: bool,
}

/// Applies the profile `given` names to `caps` and `frame_data` (the
/// values of the flags, which win).
pub fn apply(given: &ProfileFlags<'_>, caps: Caps, frame_data: usize) -> Result<Limits, CliError> {
    let subscriptions = given
        .subscriptions
        .map(|g| integer_in(g, 1, MAX_SUBSCRIPTIONS_LIMIT).map(|n| n as usize))
        .transpose()?;
    let profile = match given.profile {
        None => None,
        Some(g) if g.value == "none" => None,
        Some(g) => Some(profiles::find(&g.value).ok_or_else(|| {
            super::checks::invalid(g, format_args!("must be one of {}", profiles::names()))
        })?),
    };
    let Some(profile) = profile else {
        return Ok(Limits {
            caps,
            subscriptions,
            frame_data: within_bandwidth(frame_data, caps),
            line: None,
        });
    };
    if given.qos == Some(2) && !profile.qos2 {
        return Err(CliError::new(format!(
            "--mqtt-qos 2 cannot work with --broker-profile {}: {} does not support QoS 2; \
             use --mqtt-qos 1",
            profile.name, profile.service
        )));
    }
    let largest = (profile.max_message - FRAME_OVERHEAD).max(MIN_FRAME_DATA);
    let caps = Caps {
        publishes: caps.publishes.or(profile.publishes),
        bytes: caps.bytes.or(profile.bytes),
    };
    let frame_data = if given.frame_size_given {
        frame_data
    } else {
        frame_data.min(largest)
    };
    let limits = Limits {
        caps,
        subscriptions: subscriptions.or(profile.subscriptions),
        frame_data: within_bandwidth(frame_data, caps),
        line: None,
    };
    Ok(Limits {
        line: Some(describe(&profile, &limits)),
        ..limits
    })
}

/// Frames fit the bandwidth cap's burst (a tenth of a second of it).
fn within_bandwidth(frame_data: usize, caps: Caps) -> usize {
    match caps.bytes {
        Some(bytes) => frame_data.min(frame_cap(bytes).clamp(MIN_FRAME_DATA, MAX_FRAME_DATA)),
        None => frame_data,
    }
}

/// `broker profile aws-iot (AWS IoT Core): at most 100 publishes/s, ...`.
fn describe(profile: &Profile, limits: &Limits) -> String {
    let mut parts = Vec::new();
    if let Some(n) = limits.caps.publishes {
        parts.push(format!("{n} publishes/s"));
    }
    if let Some(bytes) = limits.caps.bytes {
        parts.push(format!("{} bytes/s", group(bytes)));
    }
    if let Some(n) = limits.subscriptions {
        parts.push(format!("{n} subscriptions"));
    }
    parts.push(format!(
        "frames of {} bytes",
        group(limits.frame_data as u64)
    ));
    let qos = if profile.qos2 { "" } else { ", no QoS 2" };
    format!(
        "broker profile {} ({}): at most {}{qos} (flags given override it)",
        profile.name,
        profile.service,
        parts.join(", ")
    )
}

/// `524288` as `524,288`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
