//! Why a session was aborted, carried between two instances of this program
//! in the otherwise unused `pad` field of the close frame (see
//! [`crate::protocol::frame::close_header`]). The C original never reads
//! `pad`; a close frame without [`crate::protocol::frame::flags::CAPABLE`]
//! carries no code.

use std::fmt;

/// A reason code. Unknown codes from a newer peer read as
/// [`AbortCode::Unspecified`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AbortCode {
    /// No reason given (a C peer, an older instance, a reset TCP peer).
    #[default]
    Unspecified,
    /// The server side refused the requested target: not its own `-a`/`-p`
    /// and not enabled by `--allow-remote`.
    TargetNotAllowed,
    /// The target refused the TCP connection (nothing listens there).
    TargetRefused,
    /// The target did not answer, or could not be reached or resolved.
    TargetUnreachable,
    /// The other side is stopping (a signal).
    Stopping,
}

impl AbortCode {
    /// The value on the wire.
    pub fn to_wire(self) -> u32 {
        match self {
            AbortCode::Unspecified => 0,
            AbortCode::TargetNotAllowed => 1,
            AbortCode::TargetRefused => 2,
            AbortCode::TargetUnreachable => 3,
            AbortCode::Stopping => 4,
        }
    }

    /// The code for a wire value.
    pub fn from_wire(value: u32) -> AbortCode {
        match value {
            1 => AbortCode::TargetNotAllowed,
            2 => AbortCode::TargetRefused,
            3 => AbortCode::TargetUnreachable,
            4 => AbortCode::Stopping,
            _ => AbortCode::Unspecified,
        }
    }

    /// The code for a failed dial.
    pub fn from_dial_error(error: &std::io::Error) -> AbortCode {
        match error.kind() {
            std::io::ErrorKind::ConnectionRefused => AbortCode::TargetRefused,
            _ => AbortCode::TargetUnreachable,
        }
    }
}

impl fmt::Display for AbortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AbortCode::Unspecified => "aborted by the other side",
            AbortCode::TargetNotAllowed => {
                "the server side does not allow this target (see its --allow-remote)"
            }
            AbortCode::TargetRefused => "the target refused the connection",
            AbortCode::TargetUnreachable => "the target could not be reached",
            AbortCode::Stopping => "the other side is stopping",
        })
    }
}
