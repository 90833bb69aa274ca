//! Tests of the wire protocol: abort codes, the frame codec against the C
//! original's layout and malformed input, instance announcements, the
//! timestamps, topic names and session ids.

mod abort;
mod frame;
mod instance;
mod sack;
mod stamps;
mod topic;
