//! MQTT 3.1.1 facts this client relies on, each with its reason
//! (OASIS mqtt-v3.1.1-os, section numbers in brackets). The packets
//! themselves are encoded and decoded by rumqttc's `mqttbytes::v4` codec.

use std::time::Duration;

/// Packet type of PUBLISH in the high nibble of the first byte [2.2.1]:
/// the only packet a reader may skip when it is too large, since it is the
/// only one a third party (another publisher) chooses the size of.
pub const PUBLISH_TYPE: u8 = 3;

/// The remaining length is a variable byte integer of at most four bytes
/// [2.2.3]; a longer one is malformed.
pub const MAX_LENGTH_BYTES: usize = 4;

/// Keep-alive interval announced in CONNECT [3.1.2.10], the C original's
/// value: the broker drops a client silent for 1.5 × this, and this client
/// sends a PINGREQ after this long without writing anything.
pub const KEEP_ALIVE: Duration = Duration::from_secs(20);

/// With something unanswered (a publish or subscription not acknowledged,
/// or anything written since the last byte read), this long without a byte
/// from the broker starts a PINGREQ; at least [`QUIET_MIN`]. In units of the
/// broker's round trip: a slow link's answers take longer.
pub const QUIET_RTTS: u32 = 3;
/// See [`QUIET_RTTS`]: below this, a busy broker's pause is no sign of a
/// dead connection.
pub const QUIET_MIN: Duration = Duration::from_secs(5);
/// After a PINGREQ, this long without any byte from the broker ends the
/// connection as dead (a NAT mapping dropped, no FIN, no RST); in round
/// trips, at least [`PING_WAIT_MIN`].
pub const PING_WAIT_RTTS: u32 = 2;
/// See [`PING_WAIT_RTTS`].
pub const PING_WAIT_MIN: Duration = Duration::from_secs(3);

/// A QoS 2 publish or subscription unanswered this long while the broker
/// answers pings means a broker that does not support QoS 2: AWS IoT Core
/// sends no PUBREC or SUBACK at all (docs.aws.amazon.com, "AWS IoT
/// differences from MQTT specifications"). Twice the slowest answer seen
/// from a loaded cloud broker is far below it.
pub const QOS2_SILENCE: Duration = Duration::from_secs(10);

/// Packet ids are 16 bits and never 0 [2.3.1].
pub const PACKET_IDS: usize = 1 << 16;
