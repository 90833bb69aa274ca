use bytes::{Buf, Bytes, BytesMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::codec::{Decoder, Encoder};

use super::{parse_fixed_header, qos, Error, Packet, PacketType, Publish, QoS};

// mqtt-forward patch: a usize counter (MIPS32 and other 32-bit targets have no
// AtomicU64); it wraps, so readers compare with wrapping_sub.
// mqtt-forward patch: counts incoming PUBLISH packets larger than
// `max_incoming_packet_size` that were delivered with an empty payload instead
// of ending the connection (see `Codec::decode`), so that the application can
// log a rate-limited line about them.
static OVERSIZED_PUBLISHES_DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Number of incoming PUBLISH packets (process-wide, all connections) whose
/// remaining length exceeded `max_incoming_packet_size`. Each was handed on as
/// a `Publish` with the same topic, QoS, packet id and flags but an empty
/// payload (so that QoS 1/2 are still acknowledged), and its payload bytes were
/// discarded as they arrived, without being buffered.
// mqtt-forward patch: public accessor for the counter above.
pub fn oversized_publishes_dropped() -> usize {
    OVERSIZED_PUBLISHES_DROPPED.load(Ordering::Relaxed)
}

/// MQTT v4 codec
#[derive(Debug, Clone)]
pub struct Codec {
    /// Maximum packet size allowed by client
    pub max_incoming_size: usize,
    /// Maximum packet size allowed by broker
    pub max_outgoing_size: usize,
    // mqtt-forward patch: bytes of an oversized PUBLISH still to be skipped
    // (its payload); they are dropped from the read buffer as they arrive.
    // NOTE: this extra field means `Codec` can no longer be built with a
    // struct literal outside this crate (rumqttc itself builds it in framed.rs).
    pub(crate) oversized_publish_remaining: usize,
}

impl Decoder for Codec {
    type Item = Packet;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        // mqtt-forward patch: skip the rest of an oversized PUBLISH as it
        // arrives, so the read buffer never grows to the size of that packet.
        if self.oversized_publish_remaining > 0 {
            let skip = self.oversized_publish_remaining.min(src.len());
            src.advance(skip);
            self.oversized_publish_remaining -= skip;
            if self.oversized_publish_remaining > 0 {
                return Ok(None);
            }
        }

        match Packet::read(src, self.max_incoming_size) {
            Ok(packet) => Ok(Some(packet)),
            Err(Error::InsufficientBytes(b)) => {
                // Get more packets to construct the incomplete packet
                src.reserve(b);
                Ok(None)
            }
            // mqtt-forward patch: an oversized PUBLISH used to end the
            // connection, and a retained one came back on every reconnect (a
            // reconnect storm). Deliver it with an empty payload instead (it is
            // still acknowledged at QoS 1/2) and skip its payload. Other
            // oversized packet types still end the connection.
            Err(Error::PayloadSizeLimitExceeded(_)) if src[0] >> 4 == PacketType::Publish as u8 => {
                self.read_oversized_publish(src)
            }
            Err(e) => Err(e),
        }
    }
}

impl Codec {
    // mqtt-forward patch: reads only the fixed header, topic and packet id of
    // an oversized PUBLISH (at most 5 + 2 + 65535 + 2 bytes, waiting for them if
    // needed), returns it with an empty payload and arranges for `decode` to
    // skip the remaining bytes of the packet.
    fn read_oversized_publish(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, Error> {
        let fixed_header = parse_fixed_header(src.iter())?;
        let topic_start = fixed_header.fixed_header_len;
        let mut header_len = topic_start + 2;
        if src.len() >= header_len {
            let topic_len = u16::from_be_bytes([src[topic_start], src[topic_start + 1]]);
            header_len += topic_len as usize;
            if qos((fixed_header.byte1 & 0b0110) >> 1)? != QoS::AtMostOnce {
                header_len += 2;
            }
        }
        if header_len > fixed_header.frame_length() {
            return Err(Error::MalformedPacket);
        }
        if src.len() < header_len {
            src.reserve(header_len - src.len());
            return Ok(None);
        }

        let header = src.split_to(header_len).freeze();
        let mut publish = Publish::read(fixed_header, header)?;
        // Not a slice of the read buffer, so that it does not pin it.
        publish.payload = Bytes::new();
        self.oversized_publish_remaining = fixed_header.frame_length() - header_len;
        OVERSIZED_PUBLISHES_DROPPED.fetch_add(1, Ordering::Relaxed);
        Ok(Some(Packet::Publish(publish)))
    }
}

impl Encoder<Packet> for Codec {
    type Error = Error;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<(), Self::Error> {
        item.write(dst, self.max_outgoing_size)?;

        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use tokio_util::codec::Encoder;

    use super::Codec;
    use crate::{mqttbytes::Error, Packet, Publish, QoS};

    #[test]
    fn outgoing_max_packet_size_check() {
        let mut buf = BytesMut::new();
        let mut codec = Codec {
            max_incoming_size: 100,
            max_outgoing_size: 200,
            oversized_publish_remaining: 0,
        };

        let mut small_publish = Publish::new("hello/world", QoS::AtLeastOnce, vec![1; 100]);
        small_publish.pkid = 1;
        codec
            .encode(Packet::Publish(small_publish), &mut buf)
            .unwrap();

        let large_publish = Publish::new("hello/world", QoS::AtLeastOnce, vec![1; 265]);
        match codec.encode(Packet::Publish(large_publish), &mut buf) {
            Err(Error::OutgoingPacketTooLarge {
                pkt_size: 281,
                max: 200,
            }) => {}
            _ => unreachable!(),
        }
    }

    // mqtt-forward patch: tests of the oversized PUBLISH handling.

    use super::oversized_publishes_dropped;
    use crate::mqttbytes::v4::{PubAck, SubAck, SubscribeReasonCode};
    use bytes::{BufMut, Bytes};
    use tokio_util::codec::Decoder;

    const MAX_INCOMING: usize = 10 * 1024;
    /// Bound on the read buffer while oversized packets stream through.
    const BUFFER_BOUND: usize = 2 * 64 * 1024;

    fn encode(packet: Packet) -> Vec<u8> {
        let mut buf = BytesMut::new();
        packet.write(&mut buf, usize::MAX).unwrap();
        buf.to_vec()
    }

    /// Feeds `stream` to the codec in `chunk`-byte pieces the way
    /// `tokio_util::codec::Framed` does (decode until `None`, then append the
    /// next read), asserting the buffer stays bounded.
    fn decode_in_chunks(codec: &mut Codec, stream: &[u8], chunk: usize) -> Vec<Packet> {
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let mut packets = Vec::new();
        let mut chunks = stream.chunks(chunk);
        loop {
            while let Some(packet) = codec.decode(&mut buf).unwrap() {
                packets.push(packet);
            }
            match chunks.next() {
                Some(c) => {
                    buf.reserve(1);
                    buf.extend_from_slice(c);
                    assert!(
                        buf.capacity() < BUFFER_BOUND && buf.len() < BUFFER_BOUND,
                        "read buffer grew to len {} capacity {}",
                        buf.len(),
                        buf.capacity()
                    );
                }
                None => break,
            }
        }
        assert!(buf.is_empty(), "{} bytes left undecoded", buf.len());
        packets
    }

    fn codec() -> Codec {
        Codec {
            max_incoming_size: MAX_INCOMING,
            max_outgoing_size: usize::MAX,
            oversized_publish_remaining: 0,
        }
    }

    #[test]
    fn oversized_publishes_are_delivered_empty_and_skipped_without_buffering() {
        let dropped_before = oversized_publishes_dropped();

        let mut qos0 = Publish::new("big/zero", QoS::AtMostOnce, vec![0xAA; 1024 * 1024]);
        qos0.retain = true;
        let mut qos1 = Publish::new("big/one", QoS::AtLeastOnce, vec![0xBB; 1024 * 1024]);
        qos1.pkid = 7;
        qos1.dup = true;
        let mut qos2 = Publish::new("t".repeat(60_000), QoS::ExactlyOnce, vec![0xCC; 100_000]);
        qos2.pkid = 65535;
        let mut small = Publish::new("small", QoS::AtLeastOnce, vec![1, 2, 3]);
        small.pkid = 8;

        let mut stream = Vec::new();
        stream.extend(encode(Packet::Publish(qos0.clone())));
        stream.extend(encode(Packet::PubAck(PubAck::new(9))));
        stream.extend(encode(Packet::Publish(qos1.clone())));
        stream.extend(encode(Packet::Publish(small.clone())));
        stream.extend(encode(Packet::Publish(qos2.clone())));
        stream.extend(encode(Packet::PingResp));

        // Odd chunk sizes so that headers are split across reads.
        for chunk in [1000, 4093, 8192, 65536] {
            let packets = decode_in_chunks(&mut codec(), &stream, chunk);

            let empty = |p: &Publish| {
                let mut p = p.clone();
                p.payload = Bytes::new();
                Packet::Publish(p)
            };
            assert_eq!(
                packets,
                vec![
                    empty(&qos0),
                    Packet::PubAck(PubAck::new(9)),
                    empty(&qos1),
                    Packet::Publish(small.clone()),
                    empty(&qos2),
                    Packet::PingResp,
                ],
                "chunk size {}",
                chunk
            );
        }

        // Other tests may run concurrently and bump the counter too.
        assert!(oversized_publishes_dropped().wrapping_sub(dropped_before) >= 4 * 3);
    }

    #[test]
    fn oversized_publish_whose_header_arrives_byte_by_byte() {
        let mut publish = Publish::new("a/b", QoS::ExactlyOnce, vec![7; MAX_INCOMING + 1]);
        publish.pkid = 3;
        let mut stream = encode(Packet::Publish(publish.clone()));
        stream.extend(encode(Packet::PubAck(PubAck::new(4))));

        let packets = decode_in_chunks(&mut codec(), &stream, 1);
        publish.payload = Bytes::new();
        assert_eq!(
            packets,
            vec![Packet::Publish(publish), Packet::PubAck(PubAck::new(4))]
        );
    }

    #[test]
    fn other_oversized_packets_still_fail() {
        let suback = SubAck::new(1, vec![SubscribeReasonCode::Failure; MAX_INCOMING + 1]);
        let mut buf = BytesMut::from(&encode(Packet::SubAck(suback))[..]);
        match codec().decode(&mut buf) {
            Err(Error::PayloadSizeLimitExceeded(n)) => assert_eq!(n, MAX_INCOMING + 3),
            other => panic!("unexpected {:?}", other),
        }
    }

    #[test]
    fn oversized_publish_with_topic_beyond_the_packet_is_malformed() {
        let mut codec = codec();
        codec.max_incoming_size = 4;
        // remaining length 5, but a topic length of 100
        let mut buf = BytesMut::new();
        buf.put_slice(&[0b0011_0000, 5, 0, 100, b'a', b'b', b'c']);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(Error::MalformedPacket)
        ));
    }
}
