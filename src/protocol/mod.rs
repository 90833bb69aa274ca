//! The wire protocol: frame codec, topic layout and shared limits. Pure code,
//! no I/O.

pub mod abort;
pub mod frame;
pub mod instance;
pub mod limits;
pub mod topic;
