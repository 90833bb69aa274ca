//! End-to-end authentication and encryption between two instances of this
//! program holding the same pre-shared key (`--psk-file`): the key file
//! ([`psk`]), and each session's handshake and sealed frames ([`channel`]).
//! Pure code on *ring* (which rustls links already), no I/O.

pub mod channel;
mod keys;
mod outer;
pub mod psk;
mod replay;
pub mod signed;

#[cfg(test)]
mod tests;
