//! One session's authenticated encryption: the handshake and the sealing and
//! opening of every frame. Sans-IO, like the session core it wraps: the
//! shell seals each frame the core produces and opens each payload before
//! the core sees it.
//!
//! The outer format of a keyed payload, its nonces and associated data are
//! in [`crate::protocol::keyed`]; the labels in [`crate::protocol::labels`].
//! `e_c`, `e_s` are fresh X25519 keys of this session; with `dh` their
//! shared secret and `id` the session id:
//!
//! ```text
//! K_hello = HKDF(psk; id, e_c; "hello")
//! proof   = HKDF(psk; id, e_c, e_s; "reply")[..16]
//! K_c2s   = HKDF(psk; dh, id, e_c, e_s; "c2s"),  K_s2c likewise with "s2c"
//! ```
//!
//! `psk` here is the server side's own key (`Psk::scoped`: the file's key
//! bound to the topic prefix and server-side-id), so frames made for one
//! server side are useless at another that shares the key file.
//!
//! The session keys need the PSK and both ephemeral secrets: a recorded
//! session's stream cannot be decrypted later even with the PSK (forward
//! secrecy), and replaying a recorded HELLO makes the server side pick a
//! new `e_s`, under which nothing else recorded opens. The HELLO itself
//! (an opening frame, with the client's target request if any, never
//! stream bytes) is under `K_hello`, from the PSK alone: whoever later
//! holds the PSK can read that request from a recording. The server side
//! dials only once a SEALED frame from the client proves it holds `e_c`'s
//! secret
//! ([`Channel::is_confirmed`]).

use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::rand::SystemRandom;

use super::keys::{aead_key, hello_key, nonce, proof_of, session_keys, AadBuf, Receiver, Sender};
pub use super::outer::Reject;
use super::outer::{parse, Outer};
use super::psk::Psk;
use super::replay::ReplayWindow;
use crate::protocol::frame::FrameBuf;
use crate::protocol::instance::Announcement;
use crate::protocol::keyed::{
    BASE_LEN, FORMAT, HELLO_BOUND_PREFIX_LEN, HELLO_PREFIX_LEN, KIND_HELLO, KIND_HELLO_BOUND,
    KIND_REPLY, KIND_REPLY_BOUND, KIND_SEALED, PROCESS_NONCE_LEN, PUBLIC_LEN,
    REPLY_BOUND_PREFIX_LEN, REPLY_PREFIX_LEN, TAG_LEN,
};
pub use crate::protocol::keyed::{MAX_OVERHEAD, SEALED_OVERHEAD};
use crate::protocol::labels::REPLY_LABEL;
use crate::protocol::topic::SessionId;

/// Which end of the session this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// One session's keys and counters.
#[derive(Debug)]
pub struct Channel {
    side: Side,
    psk: Psk,
    id: SessionId,
    /// The client's ephemeral secret, until the server side has answered.
    ephemeral: Option<EphemeralPrivateKey>,
    e_c: [u8; PUBLIC_LEN],
    e_s: Option<[u8; PUBLIC_LEN]>,
    /// The server's proof in its REPLY frames.
    proof: [u8; TAG_LEN],
    /// K_hello: the client sends with it, the server side opens with it.
    hello_send: Option<Sender>,
    hello_recv: Option<Receiver>,
    send: Option<Sender>,
    recv: Option<Receiver>,
    /// Server: the client has sent a SEALED frame. Client: the server side
    /// has answered.
    confirmed: bool,
    /// The server process the HELLO names: the client's choice (see
    /// [`Channel::bind_to`]), as the server side received it.
    named: Option<[u8; PROCESS_NONCE_LEN]>,
    /// Client: the process that answered a bound HELLO (authenticated).
    /// Server: this process, named in the REPLY to a bound HELLO.
    process: Option<Announcement>,
}

/// Why a client session has no key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSessionKey {
    /// The OS gave no randomness.
    NoRandom,
    /// The public key could not be computed.
    PublicKey,
}

impl std::fmt::Display for NoSessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoSessionKey::NoRandom => "no random source for a session key",
            NoSessionKey::PublicKey => "cannot compute a session key",
        })
    }
}

impl Channel {
    /// A client session's channel: a fresh ephemeral key, ready to send
    /// HELLO frames. Fails only without a random source.
    pub fn client(psk: &Psk, id: &SessionId) -> Result<Channel, NoSessionKey> {
        let rng = SystemRandom::new();
        let ephemeral =
            EphemeralPrivateKey::generate(&X25519, &rng).map_err(|_| NoSessionKey::NoRandom)?;
        let public = ephemeral
            .compute_public_key()
            .map_err(|_| NoSessionKey::PublicKey)?;
        let mut e_c = [0u8; PUBLIC_LEN];
        e_c.copy_from_slice(public.as_ref());
        Ok(Channel {
            side: Side::Client,
            psk: psk.clone(),
            id: *id,
            ephemeral: Some(ephemeral),
            e_c,
            e_s: None,
            proof: [0; TAG_LEN],
            hello_send: Some(Sender {
                key: hello_key(psk, id, &e_c),
                counter: 0,
            }),
            hello_recv: None,
            send: None,
            recv: None,
            confirmed: false,
            named: None,
            process: None,
        })
    }

    /// Client, before the server side has answered: the HELLOs name the
    /// server process by this challenge (the newest of its authentic
    /// announcements), so that it serves them in its budget for fresh
    /// clients and names itself in its REPLY.
    pub fn bind_to(&mut self, challenge: [u8; PROCESS_NONCE_LEN]) {
        if self.side == Side::Client && self.send.is_none() {
            self.named = Some(challenge);
        }
    }

    /// Client: the server process that answered, if it named itself (a
    /// server side of this version answering a bound HELLO).
    pub fn server_process(&self) -> Option<Announcement> {
        self.process
    }

    /// Client: an authentic announcement of server process `a`, newer than
    /// any seen before. True if this session was served by an earlier
    /// process, which is gone with the session (reset it); a HELLO not
    /// answered yet names `challenge` (`a`'s, if it has one) from now on. A session whose server side did
    /// not name itself (an earlier version) is left to its timeouts: only
    /// a process provably newer than the one serving it resets it.
    pub fn announced(
        &mut self,
        a: Announcement,
        challenge: Option<[u8; PROCESS_NONCE_LEN]>,
    ) -> bool {
        if self.side != Side::Client {
            return false;
        }
        if self.send.is_none() {
            self.named = challenge;
            return false;
        }
        self.process
            .is_some_and(|p| p.nonce != a.nonce && a.started_ns > p.started_ns)
    }

    /// Server: the process the client's HELLO names, if any.
    pub fn named(&self) -> Option<[u8; PROCESS_NONCE_LEN]> {
        self.named
    }

    /// Server: answers a bound HELLO naming `own`, this process.
    pub fn answer_as(&mut self, own: Announcement) {
        if self.side == Side::Server && self.named.is_some() {
            self.process = Some(own);
        }
    }

    /// The server side's channel for a session opened by `payload`, which
    /// must be an authentic HELLO; its frame is written to `plain`. Nothing
    /// is allocated for a payload that does not verify.
    pub fn accept(
        psk: &Psk,
        id: &SessionId,
        payload: &[u8],
        plain: &mut Vec<u8>,
    ) -> Result<Channel, Reject> {
        let outer = parse(payload)?;
        if outer.kind != KIND_HELLO && outer.kind != KIND_HELLO_BOUND {
            return Err(Reject::Unexpected);
        }
        let e_c_bytes = outer.public.ok_or(Reject::Malformed)?;
        let mut hello = Receiver {
            key: hello_key(psk, id, e_c_bytes),
            window: ReplayWindow::default(),
        };
        open_with(&mut hello, &outer, id, true, plain)?;
        let rng = SystemRandom::new();
        let ephemeral =
            EphemeralPrivateKey::generate(&X25519, &rng).map_err(|_| Reject::Unexpected)?;
        let public = ephemeral
            .compute_public_key()
            .map_err(|_| Reject::Unexpected)?;
        let mut e_s = [0u8; PUBLIC_LEN];
        e_s.copy_from_slice(public.as_ref());
        let mut e_c = [0u8; PUBLIC_LEN];
        e_c.copy_from_slice(e_c_bytes);
        let keys =
            agreement::agree_ephemeral(ephemeral, &UnparsedPublicKey::new(&X25519, &e_c), |dh| {
                session_keys(psk, dh, id, &e_c, &e_s)
            })
            .map_err(|_| Reject::Unauthenticated)?;
        Ok(Channel {
            side: Side::Server,
            psk: psk.clone(),
            id: *id,
            ephemeral: None,
            e_c,
            e_s: Some(e_s),
            proof: proof_of(psk, id, &e_c, &e_s),
            hello_send: None,
            hello_recv: Some(hello),
            send: Some(Sender {
                key: aead_key(&keys.1),
                counter: 0,
            }),
            recv: Some(Receiver {
                key: aead_key(&keys.0),
                window: ReplayWindow::default(),
            }),
            confirmed: false,
            named: outer.process.and_then(|p| p.try_into().ok()),
            process: None,
        })
    }

    /// Server: the client has proven its key (a SEALED frame opened), so
    /// the session may dial. Client: the server side has answered.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed
    }

    /// The kind of the next frame this side seals.
    fn next_kind(&self) -> u8 {
        match self.side {
            Side::Client if self.send.is_none() && self.named.is_some() => KIND_HELLO_BOUND,
            Side::Client if self.send.is_none() => KIND_HELLO,
            Side::Server if !self.confirmed && self.process.is_some() => KIND_REPLY_BOUND,
            Side::Server if !self.confirmed => KIND_REPLY,
            _ => KIND_SEALED,
        }
    }

    /// Bytes the next sealed frame starts with, before its plaintext: the
    /// caller leaves that many bytes in front of the frame it encodes.
    pub fn prefix_len(&self) -> usize {
        match self.next_kind() {
            KIND_HELLO => HELLO_PREFIX_LEN,
            KIND_HELLO_BOUND => HELLO_BOUND_PREFIX_LEN,
            KIND_REPLY => REPLY_PREFIX_LEN,
            KIND_REPLY_BOUND => REPLY_BOUND_PREFIX_LEN,
            _ => BASE_LEN,
        }
    }

    /// Seals the frame in `buf` after [`Self::prefix_len`] placeholder
    /// bytes, in place: writes the outer header, encrypts, appends the tag.
    /// False (nothing to publish) only if the key's counter is exhausted.
    pub fn seal<B: AsMut<[u8]> + FrameBuf>(&mut self, buf: &mut B) -> bool {
        let kind = self.next_kind();
        let prefix_len = self.prefix_len();
        let to_server = self.side == Side::Client;
        let hello = kind == KIND_HELLO || kind == KIND_HELLO_BOUND;
        let bytes = buf.as_mut();
        if bytes.len() < prefix_len {
            return false;
        }
        write_fields(&mut bytes[BASE_LEN..prefix_len], kind, self.fields(hello));
        let sender = if hello {
            self.hello_send.as_mut()
        } else {
            self.send.as_mut()
        };
        let Some(sender) = sender else {
            return false;
        };
        let counter = sender.counter;
        let Some(next) = counter.checked_add(1) else {
            return false;
        };
        sender.counter = next;
        bytes[0] = FORMAT;
        bytes[1] = kind;
        bytes[2..10].copy_from_slice(&counter.to_le_bytes());
        let (prefix, plain) = bytes.split_at_mut(prefix_len);
        let aad = AadBuf::new(prefix, &self.id, to_server);
        let Ok(tag) = sender
            .key
            .seal_in_place_separate_tag(nonce(kind, counter), aad.get(), plain)
        else {
            return false;
        };
        buf.put(tag.as_ref());
        true
    }

    /// Opens a payload from the peer into `plain` (cleared first).
    pub fn open(&mut self, payload: &[u8], plain: &mut Vec<u8>) -> Result<(), Reject> {
        let outer = parse(payload)?;
        let from_server = self.side == Side::Client;
        match (self.side, outer.kind) {
            (Side::Server, KIND_HELLO | KIND_HELLO_BOUND) => {
                if outer.public.is_none_or(|e| e != self.e_c) {
                    return Err(Reject::Unauthenticated);
                }
                let hello = self.hello_recv.as_mut().ok_or(Reject::Unexpected)?;
                open_with(hello, &outer, &self.id, true, plain)
            }
            (Side::Server, KIND_SEALED) => {
                let recv = self.recv.as_mut().ok_or(Reject::Unexpected)?;
                open_with(recv, &outer, &self.id, true, plain)?;
                self.confirmed = true;
                Ok(())
            }
            (Side::Client, KIND_REPLY | KIND_REPLY_BOUND) => {
                let e_s = outer.public.ok_or(Reject::Malformed)?;
                if self.recv.is_none() {
                    self.handshake(e_s, outer.proof.unwrap_or_default())?;
                } else if self.e_s.is_none_or(|known| known != e_s) {
                    return Err(Reject::Unauthenticated);
                }
                let recv = self.recv.as_mut().ok_or(Reject::Unexpected)?;
                open_with(recv, &outer, &self.id, !from_server, plain)?;
                // Authenticated with the frame (associated data).
                if let Some(process) = outer.process.and_then(process_of) {
                    self.process = Some(process);
                }
                self.confirmed = true;
                Ok(())
            }
            (Side::Client, KIND_SEALED) => {
                let recv = self.recv.as_mut().ok_or(Reject::Unexpected)?;
                open_with(recv, &outer, &self.id, !from_server, plain)
            }
            _ => Err(Reject::Unexpected),
        }
    }

    /// Client: the first REPLY. Its proof is checked before the ephemeral
    /// secret (usable once) is spent, so that a forged REPLY cannot spoil
    /// the handshake.
    fn handshake(&mut self, e_s: &[u8], proof: &[u8]) -> Result<(), Reject> {
        if !self.psk.verify(
            &[self.id.as_str().as_bytes(), &self.e_c, e_s],
            REPLY_LABEL,
            proof,
        ) {
            return Err(Reject::Unauthenticated);
        }
        let ephemeral = self.ephemeral.take().ok_or(Reject::Unexpected)?;
        let (psk, id, e_c) = (&self.psk, &self.id, &self.e_c);
        let keys =
            agreement::agree_ephemeral(ephemeral, &UnparsedPublicKey::new(&X25519, e_s), |dh| {
                session_keys(psk, dh, id, e_c, e_s)
            })
            .map_err(|_| Reject::Unauthenticated)?;
        let mut known = [0u8; PUBLIC_LEN];
        known.copy_from_slice(e_s);
        self.e_s = Some(known);
        self.send = Some(Sender {
            key: aead_key(&keys.0),
            counter: 0,
        });
        self.recv = Some(Receiver {
            key: aead_key(&keys.1),
            window: ReplayWindow::default(),
        });
        self.hello_send = None;
        Ok(())
    }
}

/// Checks the counter, opens `outer` with `recv` into `plain`, and marks the
/// counter seen.
fn open_with(
    recv: &mut Receiver,
    outer: &Outer<'_>,
    id: &SessionId,
    to_server: bool,
    plain: &mut Vec<u8>,
) -> Result<(), Reject> {
    if !recv.window.is_fresh(outer.counter) {
        return Err(Reject::Replayed);
    }
    plain.clear();
    plain.extend_from_slice(outer.sealed);
    let aad = AadBuf::new(outer.prefix, id, to_server);
    let len = recv
        .key
        .open_in_place(nonce(outer.kind, outer.counter), aad.get(), plain)
        .map_err(|_| Reject::Unauthenticated)?
        .len();
    plain.truncate(len);
    recv.window.mark(outer.counter);
    Ok(())
}

/// What a HELLO or REPLY carries after the base header, for
/// [`write_fields`].
struct Fields<'a> {
    public: &'a [u8; PUBLIC_LEN],
    named: Option<[u8; PROCESS_NONCE_LEN]>,
    process: Option<Announcement>,
    proof: &'a [u8; TAG_LEN],
}

impl Channel {
    /// The fields of this side's HELLO (`hello`) or REPLY.
    fn fields(&self, hello: bool) -> Fields<'_> {
        Fields {
            public: if hello {
                &self.e_c
            } else {
                self.e_s.as_ref().unwrap_or(&self.e_c)
            },
            named: self.named,
            process: self.process,
            proof: &self.proof,
        }
    }
}

/// Writes the fields of a frame of `kind` into `out` (the prefix after the
/// base header, as long as the kind's): `e_c` or `e_s`, the process named
/// if bound, the proof of a REPLY.
fn write_fields(out: &mut [u8], kind: u8, fields: Fields<'_>) {
    if kind == KIND_SEALED || out.len() < PUBLIC_LEN {
        return;
    }
    let (public, rest) = out.split_at_mut(PUBLIC_LEN);
    public.copy_from_slice(fields.public);
    let rest = match (kind, fields.named, fields.process) {
        (KIND_HELLO_BOUND, Some(nonce), _) => {
            rest[..PROCESS_NONCE_LEN].copy_from_slice(&nonce);
            &mut rest[PROCESS_NONCE_LEN..]
        }
        (KIND_REPLY_BOUND, _, Some(own)) => {
            let (named, rest) = rest.split_at_mut(PROCESS_NONCE_LEN + 8);
            named[..PROCESS_NONCE_LEN].copy_from_slice(&own.nonce);
            named[PROCESS_NONCE_LEN..].copy_from_slice(&own.started_ns.to_be_bytes());
            rest
        }
        _ => rest,
    };
    if matches!(kind, KIND_REPLY | KIND_REPLY_BOUND) && rest.len() >= TAG_LEN {
        rest[..TAG_LEN].copy_from_slice(fields.proof);
    }
}

/// The process a bound REPLY names.
fn process_of(bytes: &[u8]) -> Option<Announcement> {
    let (nonce, started) = bytes.split_at_checked(PROCESS_NONCE_LEN)?;
    Some(Announcement {
        nonce: nonce.try_into().ok()?,
        started_ns: u64::from_be_bytes(started.try_into().ok()?),
    })
}
