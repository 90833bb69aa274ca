//! SIGTERM and SIGINT for the graceful stop, with nothing but `sigaction`:
//! the handler writes a byte into a socket pair that the smol side reads;
//! a second signal ends the process from the handler itself, so that it
//! works even if the stop hangs. (A signal crate cost 22 KB of the router
//! build's 1 MiB budget; this costs next to nothing.)

use std::io;
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use smol::Async;

/// Exit code of a process stopped by a second signal during its graceful
/// stop (the first one exits 0): 128 + SIGINT, as shells report Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The write end of the wake-up socket pair (-1 before [`install`]).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Signals received so far.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

/// Said on stderr by the handler when a second signal ends the process.
const SECOND_SIGNAL: &[u8] = b"mqtt-forward: second signal: exiting at once\n";

/// Runs in signal context: only async-signal-safe calls (write, _exit).
extern "C" fn on_signal(_signal: libc::c_int) {
    if RECEIVED.fetch_add(1, Ordering::SeqCst) > 0 {
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is
        // a static byte string.
        unsafe {
            libc::write(2, SECOND_SIGNAL.as_ptr().cast(), SECOND_SIGNAL.len());
            libc::_exit(EXIT_INTERRUPTED);
        }
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; a full (non-blocking)
        // socket just drops the byte, and one wake-up is enough.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// Installs the handler for SIGTERM and SIGINT; the returned socket becomes
/// readable at the first one.
pub fn install() -> io::Result<Async<UnixStream>> {
    let (read_end, write_end) = UnixStream::pair()?;
    write_end.set_nonblocking(true)?;
    // Kept open for the life of the process: the handler may write any time.
    WAKE_FD.store(write_end.into_raw_fd(), Ordering::SeqCst);
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler
        // only performs async-signal-safe operations.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Async::new(read_end)
}
