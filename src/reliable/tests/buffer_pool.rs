//! The pool of frame buffers.

use crate::reliable::buffer_pool::*;

#[test]
fn buffers_are_reused_rather_than_allocated_again() {
    let mut pool = BufferPool::default();
    let a = pool.filled(b"hello");
    let ptr = a.as_ptr();
    pool.give_back(a);
    let b = pool.filled(b"bye");
    assert_eq!(b, b"bye");
    assert_eq!(b.as_ptr(), ptr);
}
