//! Any payload from the broker: `decode` never panics, and a frame it
//! accepts encodes back to one that decodes to the same stream bytes,
//! sequence number, acknowledgement and remote config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_forward::protocol::frame::{decode, encode};

fuzz_target!(|payload: &[u8]| {
    let Ok(frame) = decode(payload) else {
        return;
    };
    let bytes = encode(&frame.header, frame.remote_config.as_ref(), frame.data);
    let again = decode(&bytes).expect("a re-encoded frame decodes");
    assert_eq!(again.data, frame.data);
    assert_eq!(again.header.seq, frame.header.seq);
    assert_eq!(again.header.ack, frame.header.ack);
    assert_eq!(again.remote_config, frame.remote_config);
});
