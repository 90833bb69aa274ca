//! The session's timer table: which deadline a session waits for, and which
//! of several that are due at once it acts on first.

use std::time::{Duration, Instant};

use crate::protocol::frame::{decode, is_close};
use crate::reliable::session::{CloseReason, Event, Role, Session, SessionConfig};

const TIMEOUT: Duration = Duration::from_secs(60);

fn config() -> SessionConfig {
    SessionConfig {
        window: 8,
        frame_data: 1000,
        peer_timeout: TIMEOUT,
    }
}

/// The reason `s` reports for its end, after sending its close frame.
fn closed_for(s: &mut Session, now: Instant) -> Option<CloseReason> {
    let mut buf = Vec::new();
    assert!(s.poll_transmit(now, &mut buf), "a close frame is sent");
    assert!(is_close(&decode(&buf).expect("a frame").header));
    std::iter::from_fn(|| s.poll_event()).find_map(|e| match e {
        Event::Closed(reason) => Some(reason),
        Event::PeerEof => None,
    })
}

#[test]
fn a_silent_peer_ends_a_session_before_its_lack_of_progress_does() {
    let t0 = Instant::now();
    let mut c = Session::new(
        Role::Client {
            remote_config: None,
        },
        config(),
        t0,
    );
    assert_eq!(c.push_data(b"never acknowledged", t0), 18);
    // Silence (no first frame within the setup time) and lack of progress
    // (the peer timeout) have both run out.
    let late = t0 + 2 * TIMEOUT;
    c.handle_timeout(late);
    assert_eq!(closed_for(&mut c, late), Some(CloseReason::PeerTimeout));
}

#[test]
fn a_silent_peer_ends_an_unused_server_session_before_its_disuse_does() {
    let t0 = Instant::now();
    let mut s = Session::new(Role::Server, config(), t0);
    let late = t0 + 2 * TIMEOUT;
    s.handle_timeout(late);
    assert_eq!(closed_for(&mut s, late), Some(CloseReason::PeerTimeout));
}

#[test]
fn an_unused_server_session_ends_for_disuse_before_its_peer_is_silent_too_long() {
    let t0 = Instant::now();
    let mut s = Session::new(Role::Server, config(), t0);
    let disused = t0 + Duration::from_secs(30);
    assert!(s.poll_timeout().is_some_and(|t| t <= disused));
    s.handle_timeout(disused);
    assert_eq!(closed_for(&mut s, disused), Some(CloseReason::Unused));
}

#[test]
fn a_closing_session_is_due_at_once_and_a_closed_one_never() {
    let t0 = Instant::now();
    let mut s = Session::new(Role::Server, config(), t0);
    let now = t0 + Duration::from_secs(1);
    s.abort();
    assert!(s.poll_timeout().is_some_and(|t| t <= now));
    assert_eq!(closed_for(&mut s, now), Some(CloseReason::LocalAbort));
    // Lingering after the close frame: woken only at its end.
    let end = s.poll_timeout().expect("the end of lingering");
    assert!(end > now);
    s.handle_timeout(end);
    assert!(s.is_done());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_session_that_may_not_transmit_waits_only_for_deadlines_that_need_no_frame() {
    let t0 = Instant::now();
    let mut s = Session::new(Role::Server, config(), t0);
    let heartbeat = s.poll_timeout().expect("a deadline");
    let held = s
        .poll_timeout_held()
        .expect("a deadline that needs no frame");
    assert!(
        held > heartbeat,
        "the heartbeat is not waited for while held"
    );
    s.handle_timeout(heartbeat);
    assert_eq!(s.poll_timeout_held(), Some(held), "nothing due while held");
    let mut buf = Vec::new();
    assert!(
        s.poll_transmit(heartbeat, &mut buf),
        "the heartbeat goes once the session may transmit"
    );
    s.abort();
    assert_eq!(s.poll_timeout_held(), None, "a close needs a frame");
    assert!(s.poll_timeout().is_some_and(|t| t <= heartbeat));
}
