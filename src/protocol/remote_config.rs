//! The remote-config block: a client's request that the server side dial
//! another target than its default. The C original's layout: a head
//! (`config_size: u32, num_items: u32`, little-endian) and typed items.

use std::net::Ipv4Addr;

use super::codec::{DecodeError, FrameBuf};

/// Remote-config item type: IPv4 address, 4 bytes in network order.
const ITEM_IPV4: u16 = 0;
/// Remote-config item type: port, u16 little-endian.
const ITEM_PORT: u16 = 1;
/// Bytes of the remote-config block head: `config_size: u32, num_items: u32`.
const CONFIG_HEAD_LEN: usize = 8;
/// Largest remote-config block this program sends: head, address and port.
pub const MAX_CONFIG_LEN: usize = CONFIG_HEAD_LEN + (2 + 4) + (2 + 2);

/// The optional block that asks the server side to dial another target.
/// A field left `None` means "the server's default".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemoteConfig {
    /// Target IPv4 address.
    pub ip: Option<Ipv4Addr>,
    /// Target port.
    pub port: Option<u16>,
}

impl RemoteConfig {
    /// Bytes the encoded block takes.
    pub fn encoded_len(&self) -> usize {
        CONFIG_HEAD_LEN + self.ip.map_or(0, |_| 2 + 4) + self.port.map_or(0, |_| 2 + 2)
    }

    /// Appends the encoded block to `out`.
    pub fn write(&self, out: &mut impl FrameBuf) {
        let items = u32::from(self.ip.is_some()) + u32::from(self.port.is_some());
        out.put(&(self.encoded_len() as u32).to_le_bytes());
        out.put(&items.to_le_bytes());
        if let Some(ip) = self.ip {
            out.put(&ITEM_IPV4.to_le_bytes());
            out.put(&ip.octets());
        }
        if let Some(port) = self.port {
            out.put(&ITEM_PORT.to_le_bytes());
            out.put(&port.to_le_bytes());
        }
    }

    /// Parses a block at the start of `bytes`; returns it and its length.
    /// Rejects what the C original rejects: a size smaller than the head or
    /// beyond the payload, items overrunning the block, unknown item types,
    /// and a block whose items do not end exactly at `config_size`.
    pub(super) fn read(bytes: &[u8]) -> Result<(RemoteConfig, usize), DecodeError> {
        let head = bytes
            .get(..CONFIG_HEAD_LEN)
            .ok_or(DecodeError::BadRemoteConfig("block shorter than its head"))?;
        let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let items = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if size < CONFIG_HEAD_LEN || size > bytes.len() {
            return Err(DecodeError::BadRemoteConfig("size out of range"));
        }
        let block = &bytes[..size];
        let mut pos = CONFIG_HEAD_LEN;
        let mut config = RemoteConfig::default();
        for _ in 0..items {
            let kind = block
                .get(pos..pos + 2)
                .ok_or(DecodeError::BadRemoteConfig("item overruns block"))?;
            pos += 2;
            match u16::from_le_bytes([kind[0], kind[1]]) {
                ITEM_IPV4 => {
                    let v = block
                        .get(pos..pos + 4)
                        .ok_or(DecodeError::BadRemoteConfig("item overruns block"))?;
                    config.ip = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3]));
                    pos += 4;
                }
                ITEM_PORT => {
                    let v = block
                        .get(pos..pos + 2)
                        .ok_or(DecodeError::BadRemoteConfig("item overruns block"))?;
                    config.port = Some(u16::from_le_bytes([v[0], v[1]]));
                    pos += 2;
                }
                _ => return Err(DecodeError::BadRemoteConfig("unknown item type")),
            }
        }
        if pos != size {
            return Err(DecodeError::BadRemoteConfig("items do not fill the block"));
        }
        // An address or port of 0 means "not set" to the C original.
        config.ip = config.ip.filter(|ip| !ip.is_unspecified());
        config.port = config.port.filter(|p| *p != 0);
        Ok((config, size))
    }
}
