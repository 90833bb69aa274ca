use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;

use crate::mqttbytes::{self, v4::*};
use crate::{Incoming, MqttState, StateError};

/// Network transforms packets <-> frames efficiently. It takes
/// advantage of pre-allocation, buffering and vectorization when
/// appropriate to achieve performance
pub struct Network {
    /// Frame MQTT packets from network connection
    framed: Framed<Box<dyn AsyncReadWrite>, Codec>,
    /// Maximum readv count
    max_readb_count: usize,
}

impl Network {
    pub fn new(
        socket: impl AsyncReadWrite + 'static,
        max_incoming_size: usize,
        max_outgoing_size: usize,
    ) -> Network {
        let socket = Box::new(socket) as Box<dyn AsyncReadWrite>;
        let codec = Codec {
            max_incoming_size,
            max_outgoing_size,
            // mqtt-forward patch: new codec state (see `Codec::decode`).
            oversized_publish_remaining: 0,
        };
        let framed = Framed::new(socket, codec);

        Network {
            framed,
            max_readb_count: 10,
        }
    }

    /// Reads and returns a single packet from network
    pub async fn read(&mut self) -> Result<Incoming, StateError> {
        match self.framed.next().await {
            Some(Ok(packet)) => Ok(packet),
            Some(Err(mqttbytes::Error::InsufficientBytes(_))) => unreachable!(),
            Some(Err(e)) => Err(StateError::Deserialization(e)),
            None => Err(StateError::ConnectionAborted),
        }
    }

    /// Read packets in bulk. This allow replies to be in bulk. This method is used
    /// after the connection is established to read a bunch of incoming packets
    pub async fn readb(&mut self, state: &mut MqttState) -> Result<(), StateError> {
        // wait for the first read
        let mut res = self.framed.next().await;
        let mut count = 1;
        loop {
            match res {
                Some(Ok(packet)) => {
                    if let Some(outgoing) = state.handle_incoming_packet(packet)? {
                        self.write(outgoing).await?;
                    }

                    count += 1;
                    if count >= self.max_readb_count {
                        break;
                    }
                }
                Some(Err(mqttbytes::Error::InsufficientBytes(_))) => unreachable!(),
                Some(Err(e)) => return Err(StateError::Deserialization(e)),
                None => return Err(StateError::ConnectionAborted),
            }
            // do not wait for subsequent reads
            match self.framed.next().now_or_never() {
                Some(r) => res = r,
                _ => break,
            };
        }

        Ok(())
    }

    /// Serializes packet into write buffer
    pub async fn write(&mut self, packet: Packet) -> Result<(), StateError> {
        self.framed
            .feed(packet)
            .await
            .map_err(StateError::Deserialization)
    }

    pub async fn flush(&mut self) -> Result<(), crate::state::StateError> {
        self.framed
            .flush()
            .await
            .map_err(StateError::Deserialization)
    }
}

pub trait AsyncReadWrite: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T> AsyncReadWrite for T where T: AsyncRead + AsyncWrite + Send + Unpin {}

// mqtt-forward patch: end-to-end check of the oversized PUBLISH handling
// through `tokio_util::codec::Framed`, as used by the event loop.
#[cfg(test)]
mod test {
    use super::Network;
    use crate::mqttbytes::v4::{Packet, PubAck, Publish};
    use crate::mqttbytes::QoS;
    use bytes::{Buf, BytesMut};
    use std::io;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    /// Serves `data` to reads and records the largest read buffer offered.
    struct Broker {
        data: BytesMut,
        largest_read: Arc<Mutex<usize>>,
    }

    impl AsyncRead for Broker {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let mut largest = self.largest_read.lock().unwrap();
            *largest = (*largest).max(buf.remaining());
            drop(largest);
            let n = buf.remaining().min(self.data.len());
            buf.put_slice(&self.data[..n]);
            self.data.advance(n);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Broker {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn oversized_publish_streams_through_a_bounded_read_buffer() {
        let mut big = Publish::new("big", QoS::AtLeastOnce, vec![0x55; 16 * 1024 * 1024]);
        big.pkid = 5;
        let mut data = BytesMut::new();
        Packet::Publish(big.clone())
            .write(&mut data, usize::MAX)
            .unwrap();
        Packet::PubAck(PubAck::new(6))
            .write(&mut data, usize::MAX)
            .unwrap();
        let largest_read = Arc::new(Mutex::new(0));
        let broker = Broker {
            data,
            largest_read: largest_read.clone(),
        };
        let mut network = Network::new(broker, 10 * 1024, 10 * 1024);

        big.payload = Default::default();
        assert_eq!(network.read().await.unwrap(), Packet::Publish(big));
        assert_eq!(
            network.read().await.unwrap(),
            Packet::PubAck(PubAck::new(6))
        );
        let largest_read = *largest_read.lock().unwrap();
        assert!(
            largest_read <= 64 * 1024,
            "read buffer grew to {}",
            largest_read
        );
    }
}
