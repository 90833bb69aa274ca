//! A one-line summary of a session's state, for the simulators' failure
//! reports.

use super::Session;

impl Session {
    /// The session's state in one line.
    pub(crate) fn summary(&self) -> String {
        format!(
            "state {:?} flow {:?}/{} q {:?} base {:?}/{:?} peer {:?} local_eof {} send {} recv_ack {:?} fin_delivered {} hello_due {} last_heard {:?}",
            self.state,
            self.send.bytes_in_flight(),
            self.flow.window(self.bytes_floor(), self.bytes_cap()),
            self.flow.queueing(),
            self.flow.own_base(),
            self.flow.base_delay(),
            self.peer,
            self.local_eof,
            self.send.summary(),
            self.recv.ack(),
            self.recv.fin_delivered(),
            self.hello_due,
            self.last_heard.map(|t| t - self.created)
        )
    }
}
