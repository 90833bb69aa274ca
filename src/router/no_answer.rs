//! What a client session whose server side never answered says, as far as
//! the server side's announcement tells.

/// Why a client session may have had no answer, as far as the server
/// side's announcement tells (`P/S/instance`, retained).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoAnswer {
    /// Nothing known: not running, another broker or id, or an ACL.
    #[default]
    Unknown,
    /// This side has a key; the server side runs without one.
    ServerHasNoKey,
    /// The server side requires a key and this side has none.
    ServerNeedsKey,
    /// Both have keys, and they differ.
    KeysDiffer,
    /// Both hold the same key (the server side is simply not answering).
    SameKey,
}

impl NoAnswer {
    /// What to tell the user. Never advice that weakens a side (dropping a
    /// key): an unkeyed announcement may be forged, and the remedy is
    /// always to give both sides the same key.
    pub fn words(self) -> &'static str {
        match self {
            NoAnswer::ServerHasNoKey => {
                "no answer from the server side: a server side without a key answers on \
                 this id (its announcement is unkeyed, or someone forged one), and it \
                 ignores sessions with a key: give it the same --psk-file as this side"
            }
            NoAnswer::ServerNeedsKey => {
                "no answer from the server side: it requires --psk-file, and ignores \
                 sessions without its key: give this side the same key file"
            }
            NoAnswer::KeysDiffer => {
                "no answer from the server side: its --psk-file key differs from this side's \
                 (its announcement does not verify with this key): give both sides the same \
                 key file"
            }
            NoAnswer::Unknown | NoAnswer::SameKey => {
                "no answer from the server side: is it running (with the same --psk-file as \
                 this side, if either side has one) and connected to this broker with the \
                 same --server-side-id and --mqtt-topic-prefix? If it is, the broker may be \
                 denying this client's publishes on that prefix (check its ACL)"
            }
        }
    }
}
