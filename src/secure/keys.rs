//! The AEAD keys of a session and what they are derived from: the sending
//! and receiving keys with their counters and replay windows, the nonce and
//! associated data of each frame, and the derivations from the PSK.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

use super::psk::Psk;
use super::replay::ReplayWindow;
use crate::protocol::keyed::{self, REPLY_PREFIX_LEN, TAG_LEN, TO_CLIENT, TO_SERVER};
use crate::protocol::labels::{C2S_LABEL, HELLO_LABEL, REPLY_LABEL, S2C_LABEL};
use crate::protocol::topic::{SessionId, SESSION_ID_LEN};

/// A sending key and its counter.
#[derive(Debug)]
pub(super) struct Sender {
    pub(super) key: LessSafeKey,
    pub(super) counter: u64,
}

/// A receiving key and its replay window.
#[derive(Debug)]
pub(super) struct Receiver {
    pub(super) key: LessSafeKey,
    pub(super) window: ReplayWindow,
}

pub(super) fn aead_key(bytes: &[u8; 32]) -> LessSafeKey {
    // A 32-byte key always fits ChaCha20-Poly1305.
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, bytes).unwrap_or_else(|_| unreachable!()))
}

/// The nonce of a frame (see [`keyed::nonce`]).
pub(super) fn nonce(kind: u8, counter: u64) -> Nonce {
    Nonce::assume_unique_for_key(keyed::nonce(kind, counter))
}

/// Bytes of the associated data at most: the longest outer header (a
/// REPLY's), the session id and the direction.
const MAX_AAD_LEN: usize = REPLY_PREFIX_LEN + SESSION_ID_LEN + 1;

/// The associated data: the outer header, the session id, the direction.
/// On the stack: it is built for every frame sealed or opened.
pub(super) struct AadBuf {
    bytes: [u8; MAX_AAD_LEN],
    len: usize,
}

impl AadBuf {
    pub(super) fn new(prefix: &[u8], id: &SessionId, to_server: bool) -> AadBuf {
        let mut aad = AadBuf {
            bytes: [0; MAX_AAD_LEN],
            len: 0,
        };
        for part in [
            prefix,
            id.as_str().as_bytes(),
            &[if to_server { TO_SERVER } else { TO_CLIENT }],
        ] {
            // A prefix is never longer than a REPLY's (see `parse`).
            let end = (aad.len + part.len()).min(MAX_AAD_LEN);
            aad.bytes[aad.len..end].copy_from_slice(&part[..end - aad.len]);
            aad.len = end;
        }
        aad
    }

    pub(super) fn get(&self) -> Aad<&[u8]> {
        Aad::from(&self.bytes[..self.len])
    }
}

/// The session keys both sides derive once they know both public keys.
pub(super) fn session_keys(
    psk: &Psk,
    dh: &[u8],
    id: &SessionId,
    e_c: &[u8],
    e_s: &[u8],
) -> ([u8; 32], [u8; 32]) {
    let id = id.as_str().as_bytes();
    (
        psk.derive(&[dh, id, e_c, e_s], C2S_LABEL),
        psk.derive(&[dh, id, e_c, e_s], S2C_LABEL),
    )
}

/// `K_hello`, from the PSK, the session id and the client's public key.
pub(super) fn hello_key(psk: &Psk, id: &SessionId, e_c: &[u8]) -> LessSafeKey {
    aead_key(&psk.derive(&[id.as_str().as_bytes(), e_c], HELLO_LABEL))
}

/// The proof in a server side's REPLY frames.
pub(super) fn proof_of(psk: &Psk, id: &SessionId, e_c: &[u8], e_s: &[u8]) -> [u8; TAG_LEN] {
    psk.tag(&[id.as_str().as_bytes(), e_c, e_s], REPLY_LABEL)
}
