//! `--stdio`: the client side carries one session over stdin and stdout
//! (for `ssh -o ProxyCommand`), whose end ends the program. Without the
//! `stdio` feature (the router build), asking for it is an error.

use super::client::Local;
use super::factory::SessionFactory;
use super::inbox::InboxSender;
use super::RunError;
use crate::router::ClientRouter;
#[cfg(feature = "stdio")]
use crate::router::Router;

/// Starts the one session on stdin and stdout; its end is told through
/// the returned source.
#[cfg(feature = "stdio")]
pub async fn start(
    sessions: &SessionFactory,
    router: &mut ClientRouter<InboxSender>,
) -> Result<Local, RunError> {
    let stream = super::local::LocalStream::stdio().map_err(RunError::Stdio)?;
    let (tx, rx) = smol::channel::bounded(1);
    let on_end: super::session_task::OnEnd = Box::new(move |end| {
        let _ = tx.try_send(end);
    });
    match sessions
        .start_client(stream, "stdin/stdout", Some(on_end))
        .await
    {
        Some((id, handle)) => {
            router.common_mut().insert(id, handle);
            Ok(Local::Single(rx))
        }
        None => Err(RunError::Session("no session could be started".into())),
    }
}

/// Refused by the command line already.
#[cfg(not(feature = "stdio"))]
pub async fn start(
    _: &SessionFactory,
    _: &mut ClientRouter<InboxSender>,
) -> Result<Local, RunError> {
    Err(RunError::Missing("--stdio"))
}
