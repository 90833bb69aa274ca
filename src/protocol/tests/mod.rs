//! Tests of the wire protocol beyond each file's own: the frame codec
//! against the C original's layout, and malformed input.

mod frame;
