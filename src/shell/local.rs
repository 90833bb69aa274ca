//! The local end of a session: an accepted or dialed TCP connection, or
//! (`--stdio`, for `ssh -o ProxyCommand`) this process's stdin and stdout.

use std::fs::File;
use std::net::Shutdown;
use std::os::fd::FromRawFd;
use std::pin::Pin;
use std::time::Duration;

use smol::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use smol::Unblock;

/// A readable and a writable half, closed separately.
pub struct LocalStream {
    reader: Option<Pin<Box<dyn AsyncRead>>>,
    writer: Option<Pin<Box<dyn AsyncWrite>>>,
    /// The TCP socket, for the half-close and the reset.
    socket: Option<async_net::TcpStream>,
}

impl LocalStream {
    /// A TCP connection.
    pub fn tcp(stream: async_net::TcpStream) -> LocalStream {
        LocalStream {
            reader: Some(Box::pin(stream.clone())),
            writer: Some(Box::pin(stream.clone())),
            socket: Some(stream),
        }
    }

    /// Standard input and output, through blocking reads and writes on a
    /// helper thread: they may be pipes, a terminal or a file, which the
    /// reactor cannot all poll. Closing the writing half closes fd 1, so
    /// that the reader (ssh) sees the end of the stream.
    pub fn stdio() -> LocalStream {
        // SAFETY: fds 0 and 1 are open for the process's life, and nothing
        // else in this program reads stdin or writes stdout in --stdio mode
        // (logs go to stderr); these Files become their only owners.
        let (stdin, stdout) = unsafe { (File::from_raw_fd(0), File::from_raw_fd(1)) };
        LocalStream {
            reader: Some(Box::pin(Unblock::new(stdin))),
            writer: Some(Box::pin(Unblock::new(stdout))),
            socket: None,
        }
    }

    /// The reading and the writing half, each while open.
    #[allow(clippy::type_complexity)]
    pub fn halves(
        &mut self,
    ) -> (
        Option<&mut Pin<Box<dyn AsyncRead>>>,
        Option<&mut Pin<Box<dyn AsyncWrite>>>,
    ) {
        (self.reader.as_mut(), self.writer.as_mut())
    }

    /// The peer's stream ended: flush and close the writing half.
    pub async fn close_write(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            let _ = writer.flush().await;
            match &self.socket {
                Some(socket) => {
                    let _ = socket.shutdown(Shutdown::Write);
                }
                None => {
                    let _ = writer.close().await;
                }
            }
        }
    }

    /// The session is over: close everything at once, and reset a TCP
    /// connection unless `graceful` (its peer must not mistake a cut-off
    /// stream for a complete one).
    pub async fn close(&mut self, graceful: bool) {
        if let Some(socket) = &self.socket {
            if graceful {
                let _ = socket.shutdown(Shutdown::Both);
            } else {
                let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
            }
        } else if let Some(mut writer) = self.writer.take() {
            let _ = writer.close().await;
        }
        self.reader = None;
        self.writer = None;
        self.socket = None;
    }
}
