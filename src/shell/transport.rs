//! The byte stream to the broker: plain TCP or TLS through rustls
//! (futures-rustls, on smol's `Async` socket), with the socket options the
//! connection's timing relies on.

use std::io;
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_rustls::client::TlsStream;
use rustls::pki_types::ServerName;
use smol::io::{AsyncRead, AsyncWrite};
use smol::Async;

/// Unsent bytes the kernel may hold before the socket stops being
/// writable (TCP_NOTSENT_LOWAT on Linux): what waits beyond this waits in
/// the program's own queues, where it can still be scheduled, instead of in
/// a send buffer the kernel grows to megabytes.
pub const UNSENT_LIMIT: usize = 32 * 1024;
/// TCP keep-alive probes after this long idle: a NAT mapping is kept warm
/// and a dead peer found even between MQTT keep-alives.
const TCP_KEEPALIVE: Duration = Duration::from_secs(30);

/// An open connection to the broker.
pub enum Transport {
    Plain(Async<TcpStream>),
    Tls(Box<TlsStream<Async<TcpStream>>>),
}

impl Transport {
    /// Connects to `host:port` (each address it resolves to in turn), then
    /// makes the TLS handshake when `tls` is given.
    pub async fn connect(
        host: &str,
        port: u16,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> io::Result<Transport> {
        let socket = tcp(host, port).await?;
        let Some(config) = tls else {
            return Ok(Transport::Plain(socket));
        };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let connector = futures_rustls::TlsConnector::from(config.clone());
        let stream = connector.connect(name, socket).await?;
        Ok(Transport::Tls(Box::new(stream)))
    }

    /// The TCP socket underneath.
    fn socket(&self) -> &Async<TcpStream> {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(s) => s.get_ref().0,
        }
    }

    /// Ready when the kernel holds fewer than [`UNSENT_LIMIT`] unsent bytes
    /// (on Linux; elsewhere when its send buffer has room).
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket().poll_writable(cx)
    }
}

/// A TCP connection to the first address of `host:port` that answers.
async fn tcp(host: &str, port: u16) -> io::Result<Async<TcpStream>> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in async_net::resolve((host, port)).await? {
        match Async::<TcpStream>::connect(addr).await {
            Ok(socket) => {
                tune(socket.get_ref());
                return Ok(socket);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// No Nagle delay (frames are whole packets, latency matters), TCP
/// keep-alive, and the unsent-bytes bound. Best effort: a platform without
/// one of them still works.
fn tune(socket: &TcpStream) {
    let sock = socket2::SockRef::from(socket);
    let _ = sock.set_tcp_nodelay(true);
    let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        let lowat = UNSENT_LIMIT as libc::c_int;
        // SAFETY: a valid socket, and an int option of the right size.
        let _ = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NOTSENT_LOWAT,
                (&lowat as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_close(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}
