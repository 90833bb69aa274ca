//! Tests of the keyed layer: the handshake and sealed frames end to end in
//! memory (`channel`), the key file and its derivations (`psk`), tagged
//! beacons and announcements (`signed`).

mod channel;
mod psk;
mod signed;
