//! A minimal blocking MQTT 3.1.1 client for the tests: a third publisher on
//! the broker (forged, retained or oversized messages) and a sniffer. Only
//! what the tests need: CONNECT (clean session), PUBLISH at QoS 0 with or
//! without retain, SUBSCRIBE at QoS 0, reading PUBLISH packets.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Frame header flags of the tunnel protocol (src/protocol/frame.rs).
pub mod flags {
    pub const DISCONNECT: u32 = 0x01;
    pub const ACK_VALID: u32 = 0x02;
    pub const NO_DATA: u32 = 0x04;
    pub const CAPABLE: u32 = 0x20;
    pub const OPENING: u32 = 0x80;
}

/// A tunnel frame as this program encodes it: 24-byte little-endian header
/// (seq, ack, flags, pad), then the stream bytes.
pub fn frame(seq: u64, ack: Option<u64>, mut flag_bits: u32, data: &[u8]) -> Vec<u8> {
    if ack.is_some() {
        flag_bits |= flags::ACK_VALID;
    }
    let mut out = Vec::with_capacity(24 + data.len());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ack.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&flag_bits.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(data);
    out
}

pub struct RawClient {
    stream: TcpStream,
}

fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            return;
        }
    }
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    remaining_length(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

impl RawClient {
    /// Connects to the broker on `127.0.0.1:port` as `client_id`.
    pub fn connect(port: u16, client_id: &str) -> RawClient {
        let stream = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(5),
        )
        .expect("connect to the broker");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.set_nodelay(true);
        let mut client = RawClient { stream };
        let mut body = Vec::new();
        string("MQTT", &mut body);
        body.extend_from_slice(&[4, 0x02, 0, 60]); // level 4, clean session, keep-alive 60 s
        string(client_id, &mut body);
        client.stream.write_all(&packet(0x10, &body)).unwrap();
        let (kind, body) = client.read_packet().expect("CONNACK");
        assert_eq!(kind >> 4, 2, "expected CONNACK");
        assert_eq!(body.get(1), Some(&0), "connection refused: {body:?}");
        client
    }

    /// Publishes at QoS 0.
    pub fn publish(&mut self, topic: &str, payload: &[u8], retain: bool) {
        let mut body = Vec::with_capacity(2 + topic.len() + payload.len());
        string(topic, &mut body);
        body.extend_from_slice(payload);
        let first = 0x30 | u8::from(retain);
        self.stream.write_all(&packet(first, &body)).unwrap();
    }

    /// Subscribes to `filter` at QoS 0 and waits for the SUBACK.
    pub fn subscribe(&mut self, filter: &str) {
        let mut body = vec![0, 1]; // packet id 1
        string(filter, &mut body);
        body.push(0);
        self.stream.write_all(&packet(0x82, &body)).unwrap();
        loop {
            let (kind, _) = self.read_packet().expect("SUBACK");
            if kind >> 4 == 9 {
                return;
            }
        }
    }

    /// The next PUBLISH received: (topic, payload, retain). `None` on a read
    /// timeout or a closed connection.
    pub fn next_publish(&mut self) -> Option<(String, Vec<u8>, bool)> {
        loop {
            let (kind, body) = self.read_packet().ok()?;
            if kind >> 4 != 3 {
                continue;
            }
            let len = usize::from(u16::from_be_bytes([body[0], body[1]]));
            let topic = String::from_utf8_lossy(&body[2..2 + len]).into_owned();
            // QoS 0 only: no packet id.
            return Some((topic, body[2 + len..].to_vec(), kind & 1 == 1));
        }
    }

    /// Sets how long [`Self::next_publish`] waits.
    pub fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    fn read_packet(&mut self) -> io::Result<(u8, Vec<u8>)> {
        let mut first = [0u8; 1];
        self.stream.read_exact(&mut first)?;
        let mut len = 0usize;
        for shift in (0..4).map(|i| 7 * i) {
            let mut b = [0u8; 1];
            self.stream.read_exact(&mut b)?;
            len |= usize::from(b[0] & 0x7f) << shift;
            if b[0] & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body)?;
        Ok((first[0], body))
    }
}
