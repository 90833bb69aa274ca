//! Splits the broker's byte stream into packets. A PUBLISH larger than the
//! limit is not buffered: its topic and packet id are read (so that it can
//! be acknowledged as its QoS requires), and the rest of it is discarded as
//! it streams in. Any other packet over the limit is an error: only a
//! publisher, not the broker, chooses the size of a PUBLISH.

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::Packet;
use rumqttc::mqttbytes::{self, QoS};

use super::wire::{MAX_LENGTH_BYTES, PUBLISH_TYPE};

/// One packet from the broker.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A packet within the limit, decoded.
    Packet(Packet),
    /// A PUBLISH over the limit: what its acknowledgement needs. Its
    /// payload is being discarded.
    Oversized { qos: QoS, pkid: u16 },
}

/// Why the stream cannot be read on.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// A packet other than PUBLISH over the limit: its type and size.
    TooLarge { packet_type: u8, size: usize },
    /// Not MQTT 3.1.1, in the codec's words.
    Malformed(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge { packet_type, size } => write!(
                f,
                "the broker sent a packet of type {packet_type} of {size} bytes, over the \
                 limit of this client"
            ),
            ReadError::Malformed(why) => write!(f, "the broker sent a malformed packet: {why}"),
        }
    }
}

/// The reader of one connection.
pub struct Reader {
    buf: BytesMut,
    max: usize,
    /// Bytes of an oversized PUBLISH still to discard.
    skip: usize,
}

impl Reader {
    /// A reader accepting packets of up to `max` bytes of remaining length.
    pub fn new(max: usize) -> Reader {
        Reader {
            buf: BytesMut::new(),
            max,
            skip: 0,
        }
    }

    /// Takes bytes read from the connection. What belongs to an oversized
    /// PUBLISH is dropped here; the rest waits for [`Self::next_packet`].
    pub fn push(&mut self, data: &[u8]) {
        let skipped = self.skip.min(data.len());
        self.skip -= skipped;
        self.buf.extend_from_slice(&data[skipped..]);
    }

    /// Bytes buffered, not yet a whole packet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole packet, if one has arrived.
    #[must_use = "a packet read must be handled"]
    pub fn next_packet(&mut self) -> Result<Option<Incoming>, ReadError> {
        if self.skip > 0 {
            return Ok(None);
        }
        match mqttbytes::check(self.buf.iter(), self.max) {
            Ok(_) => match Packet::read(&mut self.buf, self.max) {
                Ok(packet) => Ok(Some(Incoming::Packet(packet))),
                Err(e) => Err(ReadError::Malformed(e.to_string())),
            },
            Err(mqttbytes::Error::InsufficientBytes(_)) => Ok(None),
            Err(mqttbytes::Error::PayloadSizeLimitExceeded(_)) => self.oversized(),
            Err(e) => Err(ReadError::Malformed(e.to_string())),
        }
    }

    /// The packet at the front is over the limit: skips it if it is a
    /// PUBLISH whose topic and packet id have arrived.
    fn oversized(&mut self) -> Result<Option<Incoming>, ReadError> {
        let Some((header_len, remaining)) = fixed_header(&self.buf) else {
            return Err(ReadError::Malformed("malformed remaining length".into()));
        };
        let byte1 = self.buf[0];
        let packet_type = byte1 >> 4;
        if packet_type != PUBLISH_TYPE {
            return Err(ReadError::TooLarge {
                packet_type,
                size: remaining,
            });
        }
        let qos =
            mqttbytes::qos((byte1 >> 1) & 0b11).map_err(|e| ReadError::Malformed(e.to_string()))?;
        // Topic length (2), topic, then the packet id (2) above QoS 0.
        let Some(len) = self.buf.get(header_len..header_len + 2) else {
            return Ok(None);
        };
        let topic_end = header_len + 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
        let id_end = topic_end + if qos == QoS::AtMostOnce { 0 } else { 2 };
        let total = header_len + remaining;
        if id_end > total {
            // Nothing beyond the packet may be waited for or read as its id.
            return Err(ReadError::Malformed(
                "a topic longer than its packet".into(),
            ));
        }
        let pkid = match qos {
            QoS::AtMostOnce => 0,
            _ => match self.buf.get(topic_end..id_end) {
                Some(id) => u16::from_be_bytes([id[0], id[1]]),
                None => return Ok(None),
            },
        };
        if self.buf.len() >= total {
            let _ = self.buf.split_to(total);
        } else {
            self.skip = total - self.buf.len();
            self.buf.clear();
        }
        Ok(Some(Incoming::Oversized { qos, pkid }))
    }
}

/// The fixed header's length and the remaining length it announces, read
/// from the front of `buf` (which holds at least the whole length, as
/// `mqttbytes::check` saw); `None` if malformed.
fn fixed_header(buf: &[u8]) -> Option<(usize, usize)> {
    let mut remaining = 0usize;
    for (i, byte) in buf.iter().skip(1).take(MAX_LENGTH_BYTES).enumerate() {
        remaining |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((2 + i, remaining));
        }
    }
    None
}
