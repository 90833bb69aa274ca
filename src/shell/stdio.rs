//! `--stdio`: the client side carries one session over stdin and stdout
//! (for `ssh -o ProxyCommand`), whose end ends the program. Without the
//! `stdio` feature (the router build) nothing here exists: the types that
//! would carry the session's end have no values, so the code that handles
//! it is left out, and asking for `--stdio` is an error.

use std::io;

use super::RunError;

/// True in builds with `--stdio` (the broker connection then says why it
/// is down in words, for the one session's last line).
pub const ENABLED: bool = cfg!(feature = "stdio");

/// How a session ended, in words (`--stdio`'s one session is the
/// program's: it says why itself, in one line).
#[derive(Debug, Clone)]
pub struct SessionEnd {
    /// Both streams ended normally.
    pub graceful: bool,
    /// The server side never answered.
    pub no_answer: bool,
    /// Why, for a person.
    pub words: String,
}

/// Who hears how a session ended, instead of the log.
#[cfg(feature = "stdio")]
pub struct OnEnd(Box<dyn FnOnce(SessionEnd)>);

/// Nobody: no session's end is told without `--stdio`.
#[cfg(not(feature = "stdio"))]
pub enum OnEnd {}

impl OnEnd {
    /// Tells how the session ended.
    pub fn tell(self, end: SessionEnd) {
        #[cfg(feature = "stdio")]
        (self.0)(end);
        #[cfg(not(feature = "stdio"))]
        match (self, end) {}
    }
}

/// Where the one session's end is told.
#[cfg(feature = "stdio")]
pub struct Single(smol::channel::Receiver<SessionEnd>);

/// No single session without `--stdio`.
#[cfg(not(feature = "stdio"))]
pub enum Single {}

impl Single {
    /// Waits for the session's end (for ever once told).
    pub async fn ended(&self) -> SessionEnd {
        #[cfg(feature = "stdio")]
        match self.0.recv().await {
            Ok(end) => end,
            Err(_) => smol::future::pending().await,
        }
        #[cfg(not(feature = "stdio"))]
        match *self {}
    }
}

/// Standard input or output, polled by the reactor like a socket.
#[cfg(feature = "stdio")]
pub struct Pipe(smol::Async<std::fs::File>);

/// No pipes without `--stdio`.
#[cfg(not(feature = "stdio"))]
pub enum Pipe {}

impl Pipe {
    /// Reads what is there.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "stdio")]
        return smol::io::AsyncReadExt::read(&mut self.0, buf).await;
        #[cfg(not(feature = "stdio"))]
        {
            let _ = buf;
            match *self {}
        }
    }

    /// Writes what it can.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(feature = "stdio")]
        return smol::io::AsyncWriteExt::write(&mut self.0, buf).await;
        #[cfg(not(feature = "stdio"))]
        {
            let _ = buf;
            match *self {}
        }
    }

    /// Flushes what was written.
    pub async fn flush(&mut self) -> io::Result<()> {
        #[cfg(feature = "stdio")]
        return smol::io::AsyncWriteExt::flush(&mut self.0).await;
        #[cfg(not(feature = "stdio"))]
        match *self {}
    }
}

/// Standard input and output, polled by the reactor like sockets: they
/// must be pipes, sockets or a terminal (what ssh gives a ProxyCommand),
/// not regular files. Closing the writing half closes fd 1, so that the
/// reader (ssh) sees the end of the stream. (A helper thread doing
/// blocking reads would take any file, for 10 KB more binary.)
#[cfg(feature = "stdio")]
fn stdin_stdout() -> io::Result<(Pipe, Pipe)> {
    use std::fs::File;
    use std::os::fd::FromRawFd;
    // SAFETY: fds 0 and 1 are open for the process's life, and nothing
    // else in this program reads stdin or writes stdout in --stdio mode
    // (logs go to stderr); these Files become their only owners.
    let (stdin, stdout) = unsafe { (File::from_raw_fd(0), File::from_raw_fd(1)) };
    Ok((
        Pipe(smol::Async::new(stdin)?),
        Pipe(smol::Async::new(stdout)?),
    ))
}

/// Stdin and stdout, who hears the one session's end, and where that end
/// is told.
#[cfg(feature = "stdio")]
pub fn open() -> Result<(Pipe, Pipe, OnEnd, Single), RunError> {
    let (stdin, stdout) = stdin_stdout().map_err(RunError::Stdio)?;
    let (tx, rx) = smol::channel::bounded(1);
    let on_end = OnEnd(Box::new(move |end| {
        let _ = tx.try_send(end);
    }));
    Ok((stdin, stdout, on_end, Single(rx)))
}

/// Refused by the command line already.
#[cfg(not(feature = "stdio"))]
pub fn open() -> Result<(Pipe, Pipe, OnEnd, Single), RunError> {
    Err(RunError::Missing("--stdio"))
}
