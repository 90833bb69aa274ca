//! What the client does with each packet from the broker.

use std::time::Instant;

use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, PubRel, SubscribeReasonCode,
};
use rumqttc::mqttbytes::QoS;

use super::{Client, Event, Failure, State, Waiting};

impl Client {
    pub(super) fn handle_packet(&mut self, packet: Packet, now: Instant) -> Result<(), Failure> {
        match packet {
            Packet::ConnAck(ack) => self.handle_connack(ack, now)?,
            Packet::Publish(publish) => {
                let (qos, pkid) = (publish.qos, publish.pkid);
                let first = qos != QoS::ExactlyOnce || !self.received.contains(pkid);
                self.acknowledge(qos, pkid, now);
                if first {
                    self.events.push_back(Event::Message(publish));
                }
            }
            Packet::PubAck(PubAck { pkid }) => {
                self.acknowledged(pkid, |w| matches!(w, Waiting::PubAck), now)
            }
            Packet::PubRec(PubRec { pkid }) => {
                if matches!(self.waiting.get(&pkid), Some(Waiting::PubRec)) {
                    self.progress = now;
                    self.waiting.insert(pkid, Waiting::PubComp);
                    self.write(&Packet::PubRel(PubRel::new(pkid)), now, true);
                } else {
                    self.unsolicited += 1;
                }
            }
            Packet::PubComp(PubComp { pkid }) => {
                self.acknowledged(pkid, |w| matches!(w, Waiting::PubComp), now)
            }
            Packet::PubRel(PubRel { pkid }) => {
                self.received.remove(pkid);
                self.write(&Packet::PubComp(PubComp::new(pkid)), now, false);
            }
            Packet::SubAck(ack) => self.handle_suback(ack.pkid, &ack.return_codes, now),
            Packet::UnsubAck(ack) => {
                self.acknowledged(ack.pkid, |w| matches!(w, Waiting::UnsubAck), now)
            }
            Packet::PingResp => {
                if let Some(asked) = self.asked.take() {
                    self.liveness.sample(now.saturating_duration_since(asked));
                }
            }
            Packet::PingReq
            | Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::Disconnect => {
                return Err(Failure::Unexpected("a packet only a client sends"));
            }
        }
        Ok(())
    }

    fn handle_connack(&mut self, ack: ConnAck, now: Instant) -> Result<(), Failure> {
        if !matches!(self.state, State::Connecting(_)) {
            return Err(Failure::Unexpected("a second CONNACK"));
        }
        if ack.code != ConnectReturnCode::Success {
            return Err(Failure::Refused(ack.code));
        }
        if let Some(asked) = self.asked.take() {
            self.liveness.sample(now.saturating_duration_since(asked));
        }
        self.state = State::Connected;
        if !self.subscriptions.is_empty() {
            self.send_subscribe(self.subscriptions.clone(), now);
        }
        self.events.push_back(Event::Connected);
        Ok(())
    }

    fn handle_suback(&mut self, pkid: u16, codes: &[SubscribeReasonCode], now: Instant) {
        let Some(Waiting::SubAck(topics, sent)) = self.waiting.get(&pkid) else {
            self.unsolicited += 1;
            return;
        };
        self.liveness.sample(now.saturating_duration_since(*sent));
        self.progress = now;
        let refused: Vec<String> = topics
            .iter()
            .zip(
                codes
                    .iter()
                    .chain(std::iter::repeat(&SubscribeReasonCode::Failure)),
            )
            .filter(|(_, code)| matches!(code, SubscribeReasonCode::Failure))
            .map(|(topic, _)| topic.clone())
            .collect();
        self.waiting.remove(&pkid);
        self.ids.remove(pkid);
        if !refused.is_empty() {
            self.events.push_back(Event::SubscribeRefused(refused));
        }
    }

    /// An acknowledgement ending the wait for `pkid`, if it waits for it.
    fn acknowledged(&mut self, pkid: u16, expected: fn(&Waiting) -> bool, now: Instant) {
        let Some(waiting) = self.waiting.get(&pkid) else {
            self.unsolicited += 1;
            return;
        };
        if !expected(waiting) {
            self.unsolicited += 1;
            return;
        }
        if !matches!(waiting, Waiting::UnsubAck) {
            self.publishes_in_flight -= 1;
        }
        self.waiting.remove(&pkid);
        self.ids.remove(pkid);
        self.progress = now;
    }

    /// Answers an incoming PUBLISH as its QoS requires.
    pub(super) fn acknowledge(&mut self, qos: QoS, pkid: u16, now: Instant) {
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.write(&Packet::PubAck(PubAck::new(pkid)), now, false),
            QoS::ExactlyOnce => {
                self.received.insert(pkid);
                self.write(&Packet::PubRec(PubRec::new(pkid)), now, false);
            }
        }
    }
}
