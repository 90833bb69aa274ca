//! Beacons and instance announcements of a server side with a key: the
//! usual payload followed by a [`TAG_LEN`]-byte tag that binds it to the
//! server-side-id under the PSK. A listener with the key shows only servers
//! whose tag verifies; one without the key sees that a key is announced.
//! The labels are [`BEACON_LABEL`] and [`INSTANCE_LABEL`].
//! A tag proves who made the payload, not when: a recorded beacon can be
//! replayed (it shows a server as present), which no key prevents.

use super::psk::{Psk, TAG_LEN};
#[cfg(doc)]
use crate::protocol::labels::{BEACON_LABEL, INSTANCE_LABEL};

/// What a payload that may carry a tag turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed<'a> {
    /// Exactly `len` bytes: no key announced.
    Plain(&'a [u8]),
    /// `len` bytes and a tag that verifies with our key.
    Ours(&'a [u8]),
    /// `len` bytes and a tag we cannot verify (another key, or we have none).
    Foreign(&'a [u8]),
    /// Neither length.
    Invalid,
}

/// Appends the tag of `payload` for `server_id` and `label`.
pub fn sign(psk: &Psk, server_id: &str, label: &[u8], mut payload: Vec<u8>) -> Vec<u8> {
    let tag = psk.tag(&[server_id.as_bytes(), &payload], label);
    payload.extend_from_slice(&tag);
    payload
}

/// Classifies `payload`, whose untagged form is `len` bytes long.
pub fn classify<'a>(
    psk: Option<&Psk>,
    server_id: &str,
    label: &[u8],
    len: usize,
    payload: &'a [u8],
) -> Signed<'a> {
    if payload.len() == len {
        return Signed::Plain(payload);
    }
    if payload.len() != len + TAG_LEN {
        return Signed::Invalid;
    }
    let (body, tag) = payload.split_at(len);
    match psk {
        Some(psk) if psk.verify(&[server_id.as_bytes(), body], label, tag) => Signed::Ours(body),
        _ => Signed::Foreign(body),
    }
}
