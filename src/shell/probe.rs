//! Finding the largest frame the broker carries. Brokers limit message
//! sizes: mosquitto's `message_size_limit` drops larger publishes silently
//! (and still acknowledges them), its `max_packet_size` and rumqttd's
//! `max_payload_size` drop the connection. Frames over the limit would never
//! arrive, and a session would hang on them.
//!
//! So at every connect (unless `--frame-size` was given), a side publishes
//! probe messages of decreasing size, from its configured frame size down to
//! the floor every broker seen accepts (the C original's 9,976 bytes), on a
//! topic of its own that it subscribes to (named by a random token, not by
//! its MQTT client id, which would let a third client take its broker
//! connection over). The broker keeps one publisher's
//! messages in order: when the smallest probe comes back, every larger one
//! that was going to come back has, and the largest of them is the limit.
//! A connection lost while probes are out means the largest was too big
//! (the next connect probes below it). Probes that never come back at all
//! (an ACL forbidding the topic, say) leave the configured size after
//! [`PROBE_WAIT`]. Each side probes its own link, so both directions of a
//! session adapt. Until a verdict, sessions use the floor.
//!
//! Sans-IO: the broker thread feeds connects, echoes, losses and the time.

use std::time::{Duration, Instant};

use crate::protocol::limits::{HEADER_LEN, LEGACY_FRAME_DATA};
use crate::protocol::topic::{ProbeToken, PROBE_TOKEN_BYTES};

/// First bytes of a probe payload.
const MAGIC: &[u8; 4] = b"MQFP";
/// Probe bytes before the padding: magic, nonce, data size.
const PROBE_HEAD: usize = 4 + 8 + 4;
/// How long probes that never come back are waited for.
pub const PROBE_WAIT: Duration = Duration::from_secs(5);

/// This process's probe token (its probe topic's last level), from the OS
/// RNG. Without randomness it is all zeros: it still names no connection.
pub fn random_token() -> ProbeToken {
    let mut bytes = [0u8; PROBE_TOKEN_BYTES];
    let _ = getrandom::fill(&mut bytes);
    ProbeToken::from_random(bytes)
}

/// The probing of one process's broker link.
#[derive(Debug)]
pub struct Probe {
    /// Frame data sizes to try, largest first, the floor last.
    ladder: Vec<usize>,
    /// Smallest size that made the broker drop the connection.
    too_big: Option<usize>,
    nonce: u64,
    /// The round in flight: when it started and the sizes it sent.
    round: Option<(Instant, Vec<usize>)>,
    /// Largest size that came back in this round.
    confirmed: Option<usize>,
}

/// The frame data size sessions may use, and whether it is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The largest size the broker carries (at most the configured one).
    Found(usize),
    /// No probe came back: the configured size, unverified.
    NoAnswer(usize),
}

impl Probe {
    /// Probing for a configured frame data size of `configured`.
    pub fn new(configured: usize, nonce: u64) -> Probe {
        let mut ladder = Vec::new();
        let mut size = configured;
        while size > LEGACY_FRAME_DATA {
            ladder.push(size);
            size /= 2;
        }
        ladder.push(LEGACY_FRAME_DATA.min(configured));
        Probe {
            ladder,
            too_big: None,
            nonce,
            round: None,
            confirmed: None,
        }
    }

    /// The configured size (the top of the ladder).
    fn configured(&self) -> usize {
        self.ladder[0]
    }

    /// The connection is up: the probe payloads to publish, largest first
    /// (none below a size known to break the connection).
    pub fn start(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let sizes: Vec<usize> = self
            .ladder
            .iter()
            .copied()
            .filter(|&s| self.too_big.is_none_or(|big| s < big) || s == LEGACY_FRAME_DATA)
            .collect();
        self.confirmed = None;
        let payloads = sizes.iter().map(|&s| self.payload(s)).collect();
        self.round = Some((now, sizes));
        payloads
    }

    fn payload(&self, data: usize) -> Vec<u8> {
        // As long as a frame carrying `data` stream bytes.
        let mut p = Vec::with_capacity(HEADER_LEN + data);
        p.extend_from_slice(MAGIC);
        p.extend_from_slice(&self.nonce.to_le_bytes());
        p.extend_from_slice(&(data as u32).to_le_bytes());
        p.resize((HEADER_LEN + data).max(PROBE_HEAD), 0);
        p
    }

    /// A message came back on the probe topic; the verdict once the round
    /// is complete (the smallest probe is back). A `retained` one was not
    /// echoed now (a third party left it there, or an earlier round's
    /// publish was retained): it proves nothing about this connection.
    pub fn echoed(&mut self, payload: &[u8], retained: bool) -> Option<Verdict> {
        if retained || payload.len() < PROBE_HEAD || &payload[..4] != MAGIC {
            return None;
        }
        if payload[4..12] != self.nonce.to_le_bytes() {
            return None;
        }
        let size = u32::from_le_bytes(payload[12..16].try_into().ok()?) as usize;
        let (_, sizes) = self.round.as_ref()?;
        if !sizes.contains(&size) || payload.len() != (HEADER_LEN + size).max(PROBE_HEAD) {
            return None;
        }
        self.confirmed = Some(self.confirmed.map_or(size, |c| c.max(size)));
        if Some(&size) == sizes.last() {
            self.round = None;
            return self.confirmed.map(Verdict::Found);
        }
        None
    }

    /// The connection was lost: if a round was out, its largest probe was
    /// too big (the broker drops a connection at the first oversized one).
    pub fn lost(&mut self) {
        if let Some((_, sizes)) = self.round.take() {
            if self.confirmed.is_none() {
                if let Some(&largest) = sizes.first() {
                    if largest > LEGACY_FRAME_DATA {
                        self.too_big = Some(self.too_big.map_or(largest, |b| b.min(largest)));
                    }
                }
            }
        }
    }

    /// When [`Self::tick`] may have a verdict: the end of the round's wait.
    pub fn deadline(&self) -> Option<Instant> {
        self.round
            .as_ref()
            .map(|(started, _)| *started + PROBE_WAIT)
    }

    /// The verdict of a round that got no complete answer by now.
    pub fn tick(&mut self, now: Instant) -> Option<Verdict> {
        let (started, _) = self.round.as_ref()?;
        if now.saturating_duration_since(*started) < PROBE_WAIT {
            return None;
        }
        self.round = None;
        Some(match self.confirmed {
            Some(size) => Verdict::Found(size),
            None => Verdict::NoAnswer(self.configured()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of(payload: &[u8]) -> usize {
        payload.len() - HEADER_LEN
    }

    #[test]
    fn the_ladder_halves_from_the_configured_size_down_to_the_floor() {
        let mut p = Probe::new(65_536, 1);
        let sizes: Vec<usize> = p.start(Instant::now()).iter().map(|x| size_of(x)).collect();
        assert_eq!(sizes, vec![65_536, 32_768, 16_384, LEGACY_FRAME_DATA]);
        let mut small = Probe::new(4_000, 1);
        let sizes: Vec<usize> = small
            .start(Instant::now())
            .iter()
            .map(|x| size_of(x))
            .collect();
        assert_eq!(sizes, vec![4_000]);
    }

    #[test]
    fn a_broker_dropping_large_messages_yields_the_largest_that_came_back() {
        let mut p = Probe::new(32_768, 7);
        let probes = p.start(Instant::now());
        // message_size_limit 20000: the 32 KiB probe never comes back.
        let mut verdict = None;
        for payload in probes.iter().filter(|x| x.len() <= 20_000) {
            verdict = p.echoed(payload, false).or(verdict);
        }
        assert_eq!(verdict, Some(Verdict::Found(16_384)));
    }

    #[test]
    fn a_broker_that_drops_the_connection_is_probed_below_the_size_next_time() {
        let t = Instant::now();
        let mut p = Probe::new(65_536, 7);
        let _ = p.start(t);
        p.lost(); // the 64 KiB probe broke the connection
        let sizes: Vec<usize> = p.start(t).iter().map(|x| size_of(x)).collect();
        assert_eq!(sizes, vec![32_768, 16_384, LEGACY_FRAME_DATA]);
        p.lost();
        let probes = p.start(t);
        assert_eq!(size_of(&probes[0]), 16_384);
        let mut verdict = None;
        for payload in &probes {
            verdict = p.echoed(payload, false).or(verdict);
        }
        assert_eq!(verdict, Some(Verdict::Found(16_384)));
    }

    #[test]
    fn probes_that_never_come_back_leave_the_configured_size() {
        let t = Instant::now();
        let mut p = Probe::new(32_768, 7);
        let _ = p.start(t);
        assert_eq!(p.tick(t + PROBE_WAIT / 2), None);
        assert_eq!(p.tick(t + PROBE_WAIT), Some(Verdict::NoAnswer(32_768)));
    }

    #[test]
    fn foreign_and_malformed_messages_are_not_probes() {
        let t = Instant::now();
        let mut p = Probe::new(32_768, 7);
        let probes = p.start(t);
        let mut other = Probe::new(32_768, 8);
        let foreign = other.start(t);
        assert_eq!(p.echoed(foreign.last().unwrap(), false), None);
        assert_eq!(p.echoed(b"MQFP", false), None);
        let mut truncated = probes.last().unwrap().clone();
        truncated.pop();
        assert_eq!(p.echoed(&truncated, false), None);
        assert_eq!(
            p.echoed(probes.last().unwrap(), false),
            Some(Verdict::Found(LEGACY_FRAME_DATA))
        );
    }

    #[test]
    fn a_retained_probe_is_no_echo_even_with_the_right_nonce_and_size() {
        let t = Instant::now();
        let mut p = Probe::new(32_768, 7);
        let probes = p.start(t);
        assert_eq!(p.echoed(&probes[0], true), None);
        assert_eq!(p.echoed(probes.last().unwrap(), true), None);
        // The round is still open: the real echoes decide.
        let mut verdict = None;
        for payload in &probes {
            verdict = p.echoed(payload, false).or(verdict);
        }
        assert_eq!(verdict, Some(Verdict::Found(32_768)));
    }

    #[test]
    fn probe_tokens_are_random_hex_and_differ_between_processes() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        let topic = crate::protocol::topic::Topics::new("ssh", "pi").probe(&a);
        let level = topic.strip_prefix("ssh/pi/probe/").unwrap();
        assert_eq!(level.len(), 2 * PROBE_TOKEN_BYTES);
        assert!(level
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
