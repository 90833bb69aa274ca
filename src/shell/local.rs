//! The local end of a session: an accepted or dialed TCP connection, or
//! (`--stdio`, for `ssh -o ProxyCommand`) this process's stdin and stdout.
//! Enums rather than trait objects: the router build, which has no
//! `--stdio` (its [`Pipe`] has no values), keeps plain TCP calls (trait
//! objects cost it 10 KB).

use std::io;
use std::net::Shutdown;
use std::time::Duration;

use smol::io::{AsyncReadExt, AsyncWriteExt};

use super::stdio::Pipe;

/// The reading half.
pub enum Reader {
    Tcp(async_net::TcpStream),
    Stdin(Pipe),
}

/// The writing half.
pub enum Writer {
    Tcp(async_net::TcpStream),
    Stdout(Pipe),
}

impl Reader {
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Reader::Tcp(s) => s.read(buf).await,
            Reader::Stdin(s) => s.read(buf).await,
        }
    }
}

impl Writer {
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Writer::Tcp(s) => s.write(buf).await,
            Writer::Stdout(s) => s.write(buf).await,
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::Tcp(s) => s.flush().await,
            Writer::Stdout(s) => s.flush().await,
        }
    }
}

/// A readable and a writable half, closed separately.
pub struct LocalStream {
    reader: Option<Reader>,
    writer: Option<Writer>,
}

impl LocalStream {
    /// A TCP connection.
    pub fn tcp(stream: async_net::TcpStream) -> LocalStream {
        LocalStream {
            reader: Some(Reader::Tcp(stream.clone())),
            writer: Some(Writer::Tcp(stream)),
        }
    }

    /// Standard input and output (`--stdio`).
    pub fn pipes(stdin: Pipe, stdout: Pipe) -> LocalStream {
        LocalStream {
            reader: Some(Reader::Stdin(stdin)),
            writer: Some(Writer::Stdout(stdout)),
        }
    }

    /// The reading and the writing half, each while open.
    pub fn halves(&mut self) -> (Option<&mut Reader>, Option<&mut Writer>) {
        (self.reader.as_mut(), self.writer.as_mut())
    }

    /// The peer's stream ended: flush and close the writing half (a TCP
    /// half-close; stdout is closed).
    pub async fn close_write(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            let _ = writer.flush().await;
            if let Writer::Tcp(socket) = &writer {
                let _ = socket.shutdown(Shutdown::Write);
            }
        }
    }

    /// The session is over: close everything at once, and reset a TCP
    /// connection unless `graceful` (its peer must not mistake a cut-off
    /// stream for a complete one).
    pub async fn close(&mut self, graceful: bool) {
        if let Some(Reader::Tcp(socket)) = &self.reader {
            if graceful {
                let _ = socket.shutdown(Shutdown::Both);
            } else {
                let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
            }
        } else if let Some(writer) = &mut self.writer {
            let _ = writer.flush().await;
        }
        self.reader = None;
        self.writer = None;
    }
}
