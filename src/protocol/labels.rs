//! The labels of every key and tag derived from the pre-shared key
//! (`--psk-file`; see [`crate::secure::psk`]). Each use of the key has its
//! own label, so that a tag or key made for one use is worthless for any
//! other: a beacon's tag is not an announcement's, a HELLO's key is not a
//! session key. Both sides must use the same ones: they are part of the
//! protocol.

/// The salt that turns the file's secret into the PSK: this program and
/// version 1 of its key format, so that the same file used elsewhere gives
/// other keys.
pub const PSK_DOMAIN: &[u8] = b"mqtt-forward psk v1";
/// The PSK itself, derived from the file's secret under [`PSK_DOMAIN`].
pub const PSK_LABEL: &[u8] = b"psk";
/// One server side's key, bound to its topic prefix and server-side-id.
pub const SERVER_SIDE_LABEL: &[u8] = b"server side";
/// The tag of a server side's beacon (`-b`).
pub const BEACON_LABEL: &[u8] = b"beacon";
/// The tag of a server side's instance announcement.
pub const INSTANCE_LABEL: &[u8] = b"instance";
/// A server side's live challenge in its keyed announcement, one per
/// connect (see `src/router/twins.rs`).
pub const CHALLENGE_LABEL: &[u8] = b"challenge";
/// `K_hello`, the key of a client's HELLO frames.
pub const HELLO_LABEL: &[u8] = b"hello";
/// The proof in a server side's REPLY frames.
pub const REPLY_LABEL: &[u8] = b"reply";
/// The session key from client to server side.
pub const C2S_LABEL: &[u8] = b"c2s";
/// The session key from server side to client.
pub const S2C_LABEL: &[u8] = b"s2c";
