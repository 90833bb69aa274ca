//! Any bytes from the broker, cut into reads of any size: the packet reader
//! never panics and buffers no more than one packet within the limit (or
//! the head of an oversized PUBLISH) plus the last read; the client fed the
//! same bytes, with publishes, subscriptions and time passing in between,
//! never panics and its write queue stays bounded.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mqtt_forward::mqtt::{Client, Options, Reader};

/// The packet limit of both (remaining length).
const MAX: usize = 300;
/// The head of an oversized PUBLISH the reader may wait for: fixed header
/// (5), topic length (2), the longest topic and the packet id (2).
const LARGEST_HEAD: usize = 5 + 2 + 65_535 + 2;
/// A CONNACK accepting the connection.
const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else {
        return;
    };
    let chunk = 1 + usize::from(control & 0x3f);
    read_alone(data, chunk);
    drive_client(data, chunk, control >> 6);
});

fn read_alone(data: &[u8], chunk: usize) {
    let mut reader = Reader::new(MAX);
    for piece in data.chunks(chunk) {
        reader.push(piece);
        loop {
            match reader.next_packet() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(reader.buffered() <= (MAX + 5).max(LARGEST_HEAD) + piece.len());
    }
}

fn drive_client(data: &[u8], chunk: usize, qos: u8) {
    let qos = match qos {
        0 => mqtt_forward::shell::mqtt::qos(0),
        1 => mqtt_forward::shell::mqtt::qos(1),
        _ => mqtt_forward::shell::mqtt::qos(2),
    };
    let options = Options {
        client_id: "fuzz".into(),
        login: None,
        qos,
        inflight: 4,
        max_packet: MAX,
        connect_timeout: Duration::from_secs(10),
        write_room: 4096,
    };
    let mut now = Instant::now();
    let mut client = Client::new(options, now);
    client.subscribe("a/+".into(), now);
    client.connect(now);
    if client.handle_bytes(&CONNACK, now).is_err() {
        return;
    }
    for (i, piece) in data.chunks(chunk).enumerate() {
        match i % 4 {
            0 => {
                let _ = client.publish("a/b".into(), piece.to_vec().into(), false, now);
            }
            1 => client.subscribe(format!("t/{}", i % 7), now),
            2 => {
                now += Duration::from_millis(700);
                if client.handle_timeout(now).is_err() {
                    return;
                }
            }
            _ => {}
        }
        if client.handle_bytes(piece, now).is_err() {
            return;
        }
        while client.poll_event().is_some() {}
        assert!(client.transmit().len() < 1 << 20);
        if i % 3 == 0 {
            let n = client.transmit().len();
            client.written(n);
        }
    }
}
