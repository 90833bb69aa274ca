//! The pre-shared key (`--psk-file`) and every key derived from it. The
//! file holds at least [`MIN_SECRET_BYTES`] random bytes as hex digits (what
//! `openssl rand -hex 32` prints); whitespace around and between digits is
//! ignored. The secret is never used directly: HKDF-SHA256 (from *ring*)
//! turns it, and whatever a derivation binds (session id, ephemeral keys),
//! into each key.

use std::fmt;
use std::path::Path;

use ring::hkdf;

use crate::protocol::labels::{PSK_DOMAIN, PSK_LABEL, SERVER_SIDE_LABEL};

/// Fewest secret bytes accepted: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// Most secret bytes accepted (a larger file is not a key file).
const MAX_SECRET_BYTES: usize = 1024;
/// Bytes of every derived key and tag source.
pub const KEY_LEN: usize = 32;
/// Bytes of a truncated tag (see [`crate::protocol::keyed::TAG_LEN`]).
pub use crate::protocol::keyed::TAG_LEN;

/// The pre-shared key, as derived from the file's secret. Never printed.
#[derive(Clone)]
pub struct Psk {
    key: [u8; KEY_LEN],
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(<redacted>)")
    }
}

impl PartialEq for Psk {
    fn eq(&self, other: &Psk) -> bool {
        same(&self.key, &other.key)
    }
}

impl Eq for Psk {}

/// Compares two byte strings in time that depends only on their length.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `ring::hkdf` output length type for [`KEY_LEN`] bytes.
struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

/// HKDF-SHA256 with `salt`: extract from `parts` (each preceded by its
/// length, so that no two lists of parts give the same input), expand with
/// `label`.
fn derive(salt: &[u8], parts: &[&[u8]], label: &[u8]) -> [u8; KEY_LEN] {
    let mut ikm = Vec::with_capacity(parts.iter().map(|p| 4 + p.len()).sum());
    for part in parts {
        ikm.extend_from_slice(&(part.len() as u32).to_le_bytes());
        ikm.extend_from_slice(part);
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
    let mut out = [0u8; KEY_LEN];
    // Expanding 32 bytes from SHA-256 cannot fail (the limit is 255 x 32).
    if let Ok(okm) = prk.expand(&[label], KeyLen) {
        let _ = okm.fill(&mut out);
    }
    out
}

/// What is wrong with a key file; `Display` says it in words, with how to
/// make a good one.
#[derive(Debug)]
pub enum KeyFileError {
    /// Nothing but whitespace.
    Empty,
    /// Something other than hex digits.
    NotHex,
    /// Half a byte too many.
    OddDigits,
    /// Too few bytes (how many).
    TooShort(usize),
    /// Longer than any key file.
    TooLong,
    /// Not UTF-8 text.
    NotText,
    /// It cannot be read.
    Unreadable(std::io::Error),
}

impl std::fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MAKE: &str = "make the file with `openssl rand -hex 32` (64 hex digits)";
        match self {
            KeyFileError::Empty => {
                f.write_str("the file is empty: make one with `openssl rand -hex 32`")
            }
            KeyFileError::NotHex => write!(f, "not hex digits: {MAKE}"),
            KeyFileError::OddDigits => f.write_str("an odd number of hex digits"),
            KeyFileError::TooShort(bytes) => write!(
                f,
                "{bytes} bytes is too short: at least {MIN_SECRET_BYTES} random bytes \
                 ({} hex digits; `openssl rand -hex 32`)",
                2 * MIN_SECRET_BYTES
            ),
            KeyFileError::TooLong => {
                write!(f, "longer than {MAX_SECRET_BYTES} bytes: not a key file")
            }
            KeyFileError::NotText => write!(f, "not text: {MAKE}"),
            KeyFileError::Unreadable(e) => e.fmt(f),
        }
    }
}

impl Psk {
    /// Parses the key file's text: hex digits, at least 32 bytes.
    pub fn parse(text: &str) -> Result<Psk, KeyFileError> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.is_empty() {
            return Err(KeyFileError::Empty);
        }
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(KeyFileError::NotHex);
        }
        if digits.len() % 2 != 0 {
            return Err(KeyFileError::OddDigits);
        }
        let bytes = digits.len() / 2;
        if bytes < MIN_SECRET_BYTES {
            return Err(KeyFileError::TooShort(bytes));
        }
        if bytes > MAX_SECRET_BYTES {
            return Err(KeyFileError::TooLong);
        }
        let secret: Vec<u8> = digits
            .chunks(2)
            .map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1]))
            .collect();
        Ok(Psk {
            key: derive(PSK_DOMAIN, &[&secret], PSK_LABEL),
        })
    }

    /// Reads and parses the key file at `path` (its permissions are checked
    /// by the command line).
    pub fn load(path: &Path) -> Result<Psk, KeyFileError> {
        let text = std::fs::read(path).map_err(KeyFileError::Unreadable)?;
        let text = std::str::from_utf8(&text).map_err(|_| KeyFileError::NotText)?;
        Psk::parse(text)
    }

    /// The key of one server side: every key and tag of its sessions,
    /// beacons and announcements derives from this, so that frames made
    /// for one server side (prefix and id) are useless at another that
    /// shares the key file.
    pub fn scoped(&self, prefix: &str, server_id: &str) -> Psk {
        Psk {
            key: self.derive(
                &[prefix.as_bytes(), server_id.as_bytes()],
                SERVER_SIDE_LABEL,
            ),
        }
    }

    /// A key derived from the PSK, binding `parts`, for `label`.
    pub fn derive(&self, parts: &[&[u8]], label: &[u8]) -> [u8; KEY_LEN] {
        derive(&self.key, parts, label)
    }

    /// A tag over `parts` for `label`: only holders of the PSK can make it.
    pub fn tag(&self, parts: &[&[u8]], label: &[u8]) -> [u8; TAG_LEN] {
        let full = self.derive(parts, label);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    /// True if `tag` is [`Self::tag`] of `parts` and `label`.
    pub fn verify(&self, parts: &[&[u8]], label: &[u8], tag: &[u8]) -> bool {
        same(&self.tag(parts, label), tag)
    }
}

fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit.wrapping_sub(b'A').wrapping_add(10) & 0x0f,
    }
}
