//! The outer header of a keyed payload, parsed (the format is in
//! [`crate::protocol::keyed`]).

use crate::protocol::keyed::{
    AEAD_TAG_LEN, BASE_LEN, FORMAT, KIND_HELLO, KIND_HELLO_BOUND, KIND_REPLY, KIND_REPLY_BOUND,
    KIND_SEALED, PROCESS_LEN, PROCESS_NONCE_LEN, PUBLIC_LEN, TAG_LEN,
};

/// Why a payload was not opened. The payload is dropped and counted; it is
/// never answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Not a keyed payload of this format (too short, unknown format or kind).
    Malformed,
    /// The tag or the proof does not verify: forged, corrupted, or made
    /// with another key.
    Unauthenticated,
    /// Its counter was seen already, or is too old.
    Replayed,
    /// A kind that this side does not accept now.
    Unexpected,
}

/// The parsed outer header of a keyed payload.
pub(super) struct Outer<'a> {
    pub(super) kind: u8,
    pub(super) counter: u64,
    /// `e_c` (HELLO) or `e_s` (REPLY).
    pub(super) public: Option<&'a [u8]>,
    /// The REPLY's proof.
    pub(super) proof: Option<&'a [u8]>,
    /// The server process a bound HELLO names (its nonce) or a bound REPLY
    /// answers from (nonce and start time).
    pub(super) process: Option<&'a [u8]>,
    /// Everything before the ciphertext.
    pub(super) prefix: &'a [u8],
    /// Ciphertext and tag.
    pub(super) sealed: &'a [u8],
}

/// Splits a keyed payload into its outer header and sealed part; rejects
/// an unknown format or kind and a payload too short for its kind.
pub(super) fn parse(payload: &[u8]) -> Result<Outer<'_>, Reject> {
    let base = payload.get(..BASE_LEN).ok_or(Reject::Malformed)?;
    if base[0] != FORMAT {
        return Err(Reject::Malformed);
    }
    let kind = base[1];
    let counter = u64::from_le_bytes(base[2..10].try_into().map_err(|_| Reject::Malformed)?);
    // The bytes after `e_c`/`e_s` naming a process, then the proof's.
    let (process, proof) = match kind {
        KIND_HELLO => (0, 0),
        KIND_HELLO_BOUND => (PROCESS_NONCE_LEN, 0),
        KIND_REPLY => (0, TAG_LEN),
        KIND_REPLY_BOUND => (PROCESS_LEN, TAG_LEN),
        KIND_SEALED => (0, 0),
        _ => return Err(Reject::Malformed),
    };
    let public = if kind == KIND_SEALED { 0 } else { PUBLIC_LEN };
    let extra = public + process + proof;
    let prefix_len = BASE_LEN + extra;
    if payload.len() < prefix_len + AEAD_TAG_LEN {
        return Err(Reject::Malformed);
    }
    let (prefix, sealed) = payload.split_at(prefix_len);
    Ok(Outer {
        kind,
        counter,
        public: (public > 0).then(|| &prefix[BASE_LEN..BASE_LEN + PUBLIC_LEN]),
        process: (process > 0).then(|| &prefix[BASE_LEN + public..BASE_LEN + public + process]),
        proof: (proof > 0).then(|| &prefix[BASE_LEN + public + process..]),
        prefix,
        sealed,
    })
}
