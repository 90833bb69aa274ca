//! The fault proxy of the test support as a program, for test/bench.sh:
//!
//!   faultproxy BROKER_PORT [--drop PERCENT] [--delay-ms MS] [--rate BYTES_PER_S]
//!              [--shared-link 0|1] [--seed N]
//!
//! Listens on a free loopback port, prints it on one line, and forwards to
//! 127.0.0.1:BROKER_PORT with the faults until killed. `--shared-link 1`:
//! the rate is shared by all connections (a side's uplink and downlink).

#[path = "common"]
#[allow(dead_code)]
mod common {
    pub mod fault_proxy;
    pub mod support;
}

use std::io::Write;
use std::time::Duration;

use common::fault_proxy::{FaultProxy, Faults};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: faultproxy BROKER_PORT [--drop PERCENT] [--delay-ms MS] \
                 [--rate BYTES_PER_S] [--shared-link 0|1] [--seed N]";
    let Some(broker_port) = args.first().and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let mut faults = Faults::default();
    let mut rest = args[1..].chunks(2);
    for pair in rest.by_ref() {
        let [flag, value] = pair else {
            eprintln!("{usage}");
            std::process::exit(2);
        };
        let Ok(n) = value.parse::<u64>() else {
            eprintln!("faultproxy: {flag} needs a number, not {value:?}");
            std::process::exit(2);
        };
        match flag.as_str() {
            "--drop" => faults.drop_percent = n as u32,
            "--delay-ms" => faults.delay = Duration::from_millis(n),
            "--rate" => faults.rate = n,
            "--shared-link" => faults.shared_link = n != 0,
            "--seed" => faults.seed = n,
            _ => {
                eprintln!("{usage}");
                std::process::exit(2);
            }
        }
    }
    let proxy = FaultProxy::start(broker_port, faults);
    println!("{}", proxy.port);
    let _ = std::io::stdout().flush();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
