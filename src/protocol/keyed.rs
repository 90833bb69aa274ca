//! The outer format of a keyed payload (`--psk-file`; sealed and opened by
//! [`crate::secure::channel`]). The inner frame is the usual one.
//!
//! ```text
//! format (1 = 0x01) | kind | counter (u64 LE) | kind fields | ciphertext | tag (16)
//! kind 1 HELLO  (client, until answered): e_c (32)            key K_hello
//! kind 2 REPLY  (server, until confirmed): e_s (32), proof (16) key K_s2c
//! kind 3 SEALED (both, afterwards)                             K_c2s / K_s2c
//! kind 4 HELLO  naming the server process: e_c (32), challenge (16) K_hello
//! kind 5 REPLY  naming the answering process: e_s (32), nonce (16),
//!               started (u64 BE), proof (16)                   key K_s2c
//! ```
//!
//! Kinds 4 and 5 bind a session to one server process (see
//! [`KIND_HELLO_BOUND`], [`KIND_REPLY_BOUND`]); the fields are associated
//! data, so authenticated with the frame.
//!
//! ChaCha20-Poly1305; the nonce is `kind, 0, 0, 0, counter` ([`nonce`]);
//! the associated data is everything before the ciphertext, the session id
//! and the direction ([`TO_SERVER`] or [`TO_CLIENT`]). Every frame sealed
//! (retransmissions and acknowledgements too) takes the next counter of its
//! key, so a nonce never repeats under a key. `e_c`, `e_s` are fresh X25519
//! keys of the session; the keys and the proof derive from the PSK with the
//! labels of [`crate::protocol::labels`].

/// First byte of every keyed payload: the version of this format, so that a
/// later one can be told apart.
pub const FORMAT: u8 = 1;
/// Client to server, before the server side has answered: carries `e_c`.
pub const KIND_HELLO: u8 = 1;
/// Server to client, until the client has proven its key: carries `e_s`
/// and the proof that the server side holds the PSK.
pub const KIND_REPLY: u8 = 2;
/// Either way, once both hold the session keys.
pub const KIND_SEALED: u8 = 3;
/// A HELLO naming the server process it is for by one of its challenges
/// (the newest of its announcements the client saw; a new one every
/// `limits::CHALLENGE_PERIOD`). A server side serves HELLOs naming one of
/// its last two challenges within a budget of their own, so that HELLOs
/// recorded longer ago (naming an earlier challenge or process, or none)
/// cannot crowd out fresh clients. Sent only toward a server side that announces a challenge: an
/// earlier version does not know the kind.
pub const KIND_HELLO_BOUND: u8 = 4;
/// The REPLY to a [`KIND_HELLO_BOUND`]: it names the answering process
/// (nonce and start time), so that a client resets a session only for an
/// announcement of a process provably newer than the one serving it.
pub const KIND_REPLY_BOUND: u8 = 5;
/// Bytes naming a server process in a HELLO: one of its challenges.
pub const PROCESS_NONCE_LEN: usize = 16;
/// Bytes naming a server process in a REPLY: nonce and start time.
pub const PROCESS_LEN: usize = PROCESS_NONCE_LEN + 8;
/// Bytes of format, kind and counter (a u64, which no session exhausts).
pub const BASE_LEN: usize = 1 + 1 + 8;
/// Bytes of an X25519 public key.
pub const PUBLIC_LEN: usize = 32;
/// Bytes of a truncated tag (beacons, announcements, the REPLY's proof):
/// 128 bits, beyond guessing.
pub const TAG_LEN: usize = 16;
/// Bytes of the ChaCha20-Poly1305 tag.
pub const AEAD_TAG_LEN: usize = 16;
/// Bytes of the outer header of a HELLO: `e_c` after the base.
pub const HELLO_PREFIX_LEN: usize = BASE_LEN + PUBLIC_LEN;
/// Bytes of the outer header of a REPLY: `e_s` and the proof after the base.
pub const REPLY_PREFIX_LEN: usize = BASE_LEN + PUBLIC_LEN + TAG_LEN;
/// Bytes of the outer header of a bound HELLO: `e_c`, the process nonce.
pub const HELLO_BOUND_PREFIX_LEN: usize = HELLO_PREFIX_LEN + PROCESS_NONCE_LEN;
/// Bytes of the outer header of a bound REPLY: `e_s`, the process, proof.
pub const REPLY_BOUND_PREFIX_LEN: usize = REPLY_PREFIX_LEN + PROCESS_LEN;
/// Bytes a SEALED payload adds to the frame it carries.
pub const SEALED_OVERHEAD: usize = BASE_LEN + AEAD_TAG_LEN;
/// The most bytes any keyed payload adds to its frame (a bound REPLY).
pub const MAX_OVERHEAD: usize = REPLY_BOUND_PREFIX_LEN + AEAD_TAG_LEN;
/// The direction byte of the associated data of a frame to the server side.
pub const TO_SERVER: u8 = 1;
/// The direction byte of the associated data of a frame to the client.
pub const TO_CLIENT: u8 = 0;
/// Bytes of a ChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 12;

/// The nonce of the frame of `kind` sealed with `counter`: the kind, three
/// zero bytes, the counter (u64 LE). The counter alone never repeats under
/// a key; the kind separates them once more where kinds share a key (a
/// server side's REPLY and SEALED frames are both under `K_s2c`).
pub fn nonce(kind: u8, counter: u64) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[0] = kind;
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}
