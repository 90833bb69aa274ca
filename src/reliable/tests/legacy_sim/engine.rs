//! The simulator's engine: one run of a session pair on virtual time, the
//! link between them, and the checks of what each side sent and received.

use super::*;

impl Sim {
    pub(super) fn new(seed: u64, setup: Setup) -> Sim {
        let t0 = Instant::now();
        let mut ours = OurEnd {
            session: None,
            sent: 0,
            eof_sent: false,
            received: Vec::new(),
            peer_eof: false,
            closed: None,
            max_payload: 0,
            close_frames: 0,
            close_frames_lost: 0,
            creation_config: None,
            last_heard: None,
            tombstone_replies: 0,
            undecodable: 0,
        };
        let mut c = CEnd {
            model: None,
            next_chunk: 0,
            next_write: None,
            eof_sent: false,
            received: Vec::new(),
            highest_seq: 0,
            last_sent: None,
        };
        match setup.ours {
            Ours::Client => {
                let role = Role::Client {
                    remote_config: setup.our_remote_config,
                };
                ours.session = Some(Session::new(role, setup.config, t0));
            }
            Ours::Server => {
                let role = LegacyRole::Client {
                    remote_config: setup.c_remote_config,
                };
                c.model = Some(LegacySession::new(role, t0, seed));
                c.next_write = Some(t0 + setup.c_gaps.first().copied().unwrap_or_default());
            }
        }
        Sim {
            seed,
            c_len: setup.c_chunks.iter().map(Vec::len).sum(),
            setup,
            rng: Rng::new(seed),
            t0,
            now: t0,
            wire: Wire::default(),
            ours,
            c,
            trace: std::env::var("SIM_TRACE").is_ok(),
        }
    }

    pub(super) fn log(&self, what: &str, payload: &[u8]) {
        if !self.trace {
            return;
        }
        match decode(payload) {
            Ok(f) => eprintln!(
                "{:>12?} {what:<14} seq {:>5} ack {:?} flags {:#04x} data {}",
                self.now - self.t0,
                f.header.seq,
                f.header.ack,
                f.header.flags,
                f.data.len()
            ),
            Err(e) => eprintln!("{:>12?} {what} undecodable: {e}", self.now - self.t0),
        }
    }

    /// Puts a frame on the link; it may be lost only if `droppable`.
    /// Returns true if it was lost.
    pub(super) fn send(&mut self, to_c: bool, payload: &[u8], droppable: bool) -> bool {
        let copies = self.wire.send(
            &mut self.rng,
            &self.setup.link,
            self.now,
            to_c,
            payload,
            droppable,
        );
        let dir = if to_c { "ours -> C" } else { "C -> ours" };
        self.log(if copies == 0 { "lost" } else { dir }, payload);
        copies == 0
    }

    pub(super) fn transmit_ours(&mut self) {
        let mut buf = Vec::new();
        loop {
            let Some(s) = self.ours.session.as_mut() else {
                return;
            };
            if !s.poll_transmit(self.now, &mut buf) {
                return;
            }
            self.ours.max_payload = self.ours.max_payload.max(buf.len());
            let close = is_close(&decode(&buf).expect("our frames decode").header);
            let lost = self.send(true, &buf, true);
            if close {
                self.ours.close_frames += 1;
                self.ours.close_frames_lost += u64::from(lost);
            }
        }
    }

    pub(super) fn transmit_c(&mut self) {
        let mut buf = Vec::new();
        loop {
            let Some(m) = self.c.model.as_mut() else {
                return;
            };
            if !m.poll_transmit(self.now, &mut buf) {
                return;
            }
            self.c.last_sent = Some(self.now);
            let h = decode(&buf).expect("C frames decode").header;
            let droppable = if h.has(flags::NO_DATA) || h.seq <= self.c.highest_seq {
                true
            } else {
                self.c.highest_seq = h.seq;
                // Recoverable only if 100 more frames follow (see the top).
                h.seq + TX_WINDOW_LIMIT <= self.setup.c_chunks.len() as u64
            };
            self.send(false, &buf, droppable);
        }
    }

    pub(super) fn deliver(&mut self, to_c: bool, payload: &[u8]) {
        self.log(if to_c { "  C <- ours" } else { "  ours <- C" }, payload);
        if to_c {
            let frame = decode(payload).expect("our frames decode");
            if self.c.model.is_none() {
                // Only a C server session is made lazily, by the first
                // non-beacon frame; once ended, its id is never reused
                // (the ended model stays and ignores everything).
                if frame.header.has(flags::BEACON) {
                    return;
                }
                self.c.model = Some(LegacySession::new(LegacyRole::Server, self.now, self.seed));
                self.c.next_write =
                    Some(self.now + self.setup.c_gaps.first().copied().unwrap_or_default());
            }
            if let Some(m) = self.c.model.as_mut() {
                m.handle_frame(&frame, self.now);
            }
            return;
        }
        let Ok(frame) = decode(payload) else {
            self.ours.undecodable += 1;
            return;
        };
        if self.ours.session.is_none() {
            match self.setup.ours {
                // The client shell unsubscribed when its session ended.
                Ours::Client => return,
                Ours::Server if self.ours.closed.is_some() => {
                    // shell/server.rs: a frame for a buried session is
                    // answered with a close frame.
                    if !frame.header.has(flags::BEACON) && !is_close(&frame.header) {
                        self.ours.tombstone_replies += 1;
                        let close = encode(&close_header(), None, &[]);
                        self.send(true, &close, true);
                    }
                    return;
                }
                Ours::Server => {
                    if frame.header.has(flags::BEACON) || is_close(&frame.header) {
                        return;
                    }
                    self.ours.session =
                        Some(Session::new(Role::Server, self.setup.config, self.now));
                    self.ours.creation_config = Some(frame.remote_config);
                }
            }
        }
        if let Some(s) = self.ours.session.as_mut() {
            self.ours.last_heard = Some(self.now);
            s.handle_frame(&frame, self.now);
        }
    }

    /// Our app: writes its stream, reads, ends its stream when due.
    pub(super) fn pump_ours(&mut self) {
        let now = self.now;
        let end = &mut self.ours;
        let Some(s) = end.session.as_mut() else {
            return;
        };
        let stream = &self.setup.our_stream;
        while s.wants_data() && end.sent < stream.len() {
            let n = s.max_chunk().min(stream.len() - end.sent);
            s.push_data(&stream[end.sent..end.sent + n], now);
            end.sent += n;
        }
        let reader = self.setup.reader_chunk;
        loop {
            let d = s.deliverable();
            if d.is_empty() {
                break;
            }
            let n = if reader == 0 {
                d.len()
            } else {
                d.len().min(reader)
            };
            end.received.extend_from_slice(&d[..n]);
            s.consume(n, now);
            if reader != 0 {
                break;
            }
        }
        if self.setup.our_eof
            && !end.eof_sent
            && end.sent == stream.len()
            && (self.setup.our_eof_at_once || end.received.len() >= self.c_len)
        {
            end.eof_sent = true;
            s.local_eof();
        }
        while let Some(ev) = s.poll_event() {
            match ev {
                Event::PeerEof => end.peer_eof = true,
                Event::Closed(r) => end.closed = Some((r, now)),
            }
        }
    }

    /// The C side's TCP peer: writes its chunks, reads, ends when due.
    pub(super) fn pump_c(&mut self) {
        let Some(m) = self.c.model.as_mut() else {
            return;
        };
        let n = m.deliverable().len();
        self.c.received.extend_from_slice(m.deliverable());
        m.consume(n);
        if m.end().is_some() {
            return;
        }
        let chunks = &self.setup.c_chunks;
        if self.c.next_chunk < chunks.len()
            && m.input_pending() == 0
            && self.c.next_write.is_some_and(|t| t <= self.now)
        {
            m.push_input(&chunks[self.c.next_chunk]);
            self.c.next_chunk += 1;
            let gap = self.setup.c_gaps.get(self.c.next_chunk).copied();
            self.c.next_write = Some(self.now + gap.unwrap_or_default());
        }
        if self.c.next_chunk == chunks.len() && !self.c.eof_sent {
            let due = match self.setup.c_eof {
                CEof::Never => false,
                CEof::AfterWriting => true,
                CEof::AfterAcked => m.input_pending() == 0 && m.all_acked(),
            };
            if due {
                self.c.eof_sent = true;
                m.local_eof();
            }
        }
    }

    pub(super) fn c_ended(&self) -> Option<LegacyEnd> {
        self.c.model.as_ref().and_then(|m| m.end()).map(|(e, _)| e)
    }

    /// Runs until our session closed and the C session ended (or
    /// [`LEAK_WAIT`] passed after our close); false on the time limit.
    pub(super) fn run(&mut self, limit: Duration) -> bool {
        let mut steps = 0u64;
        while self.now - self.t0 < limit {
            steps += 1;
            assert!(steps < 5_000_000, "seed {}: simulator stuck", self.seed);
            self.pump_ours();
            self.transmit_ours();
            self.pump_ours();
            if self.ours.session.as_ref().is_some_and(|s| s.is_done()) {
                self.ours.session = None;
            }
            self.pump_c();
            self.transmit_c();
            self.pump_c();
            if let Some((_, at)) = self.ours.closed {
                if self.ours.session.is_none()
                    && (self.c_ended().is_some() || self.now >= at + LEAK_WAIT)
                {
                    return true;
                }
            }
            // Advance virtual time to the next thing that happens.
            let mut next = self.wire.next_arrival();
            let mut at = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
            if let Some(s) = &self.ours.session {
                if let Some(t) = s.poll_timeout() {
                    at(t);
                }
                // A slow reader makes progress every 100 µs.
                if self.setup.reader_chunk != 0 && !s.deliverable().is_empty() {
                    at(self.now + Duration::from_micros(100));
                }
            }
            if let Some(m) = &self.c.model {
                if let Some(t) = m.poll_timeout() {
                    at(t);
                }
                if m.end().is_none()
                    && m.input_pending() == 0
                    && self.c.next_chunk < self.setup.c_chunks.len()
                {
                    if let Some(t) = self.c.next_write {
                        at(t);
                    }
                }
            }
            if let Some((_, closed)) = self.ours.closed {
                at(closed + LEAK_WAIT);
            }
            let Some(next) = next else { return false };
            self.now = self.now.max(next);
            while let Some((to_c, payload)) = self.wire.pop_arrived(self.now) {
                self.deliver(to_c, &payload);
            }
            if let Some(s) = self.ours.session.as_mut() {
                s.handle_timeout(self.now);
            }
            if let Some(m) = self.c.model.as_mut() {
                m.handle_timeout(self.now);
            }
        }
        false
    }

    pub(super) fn stats(&self) -> LegacyStats {
        self.c.model.as_ref().map(|m| m.stats()).unwrap_or_default()
    }

    pub(super) fn ctx(&self) -> String {
        let s = self.setup.clone();
        format!(
            "seed {} ours {:?} link {:?} config {:?} reader {} c_eof {:?}: \
             ours got {}/{} C got {}/{}, t={:?}, our close {:?}, C end {:?} \
             (next seq {:?}), close frames {} (lost {}), C stats {:?}",
            self.seed,
            s.ours,
            s.link,
            s.config,
            s.reader_chunk,
            s.c_eof,
            self.ours.received.len(),
            self.c_len,
            self.c.received.len(),
            s.our_stream.len(),
            self.now - self.t0,
            self.ours.closed.map(|(r, t)| (r, t - self.t0)),
            self.c
                .model
                .as_ref()
                .and_then(|m| m.end())
                .map(|(e, t)| (e, t - self.t0)),
            self.c.model.as_ref().map(|m| m.tx_seq()),
            self.ours.close_frames,
            self.ours.close_frames_lost,
            self.stats(),
        )
    }

    /// What must hold whatever the scenario: nothing our side sent is
    /// dropped or misread by the C original for being malformed, too big,
    /// too far ahead, or carrying an impossible ack; every byte either
    /// side read is a prefix of what the other wrote.
    pub(super) fn check_invariants(&self) {
        let ctx = self.ctx();
        let st = self.stats();
        assert!(
            self.ours.max_payload <= LEGACY_MAX_PAYLOAD && st.oversized == 0,
            "payload of {} bytes toward the C peer: {ctx}",
            self.ours.max_payload
        );
        assert_eq!(st.bogus_acks, 0, "ack beyond the C peer's seq: {ctx}");
        assert_eq!(st.config_as_data, 0, "config block read as data: {ctx}");
        assert_eq!(st.empty, 0, "empty data frame toward the C peer: {ctx}");
        assert_eq!(
            st.beyond_backlog, 0,
            "data frame more than 198 ahead of the C peer: {ctx}"
        );
        assert_eq!(self.ours.undecodable, 0, "C frame undecodable: {ctx}");
        assert!(!self.ours.peer_eof, "a C peer cannot send an EOF: {ctx}");
        assert!(
            self.c_stream_prefix() && self.setup.our_stream.starts_with(&self.c.received),
            "a side read bytes never written: {ctx}"
        );
        if let Some(LegacyEnd::AckBeyondTx { ack, .. }) = self.c_ended() {
            assert_eq!(ack, u64::MAX, "C session closed by a bogus ack: {ctx}");
        }
    }

    pub(super) fn c_stream_prefix(&self) -> bool {
        let mut rest = &self.ours.received[..];
        for chunk in &self.setup.c_chunks {
            let n = rest.len().min(chunk.len());
            if rest[..n] != chunk[..n] {
                return false;
            }
            rest = &rest[n..];
        }
        rest.is_empty()
    }
}
