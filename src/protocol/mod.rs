//! The wire protocol: frame codec, flags, topic layout, the keyed payload
//! format, the labels of keys and tags, and shared limits, each with the
//! reason it is what it is. Pure code, no I/O.

pub mod abort;
pub mod codec;
pub mod flags;
pub mod frame;
pub mod instance;
pub mod keyed;
pub mod labels;
pub mod limits;
pub mod remote_config;
pub mod sack;
pub mod stamps;
pub mod topic;

#[cfg(test)]
mod tests;
