//! # wuserver: the zguide's weather update server
//!
//! A PUB socket publishes "zipcode temperature humidity" updates for random zip codes, as
//! fast as it can. Subscribers (`wuclient`, or libzmq's) pick the zip codes they want by
//! prefix.
//!
//! ```text
//! cargo run --release --example wuserver                         # tcp://*:5556, forever
//! cargo run --release --example wuserver -- tcp://*:5556 1000000 # a million updates, then exit
//! ```

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use zmq_rs::{Context, Socket};

/// The zip codes of the zguide's server: any five-digit number.
pub const ALL_ZIPCODES: Range<u32> = 0..100_000;

/// Binds the publisher.
pub fn bind(ctx: &Context, endpoint: &str) -> zmq_rs::Result<Socket> {
    let publisher = ctx.socket(zmq_rs::PUB)?;
    publisher.bind(endpoint)?;
    Ok(publisher)
}

/// Publishes updates for zip codes in `zipcodes` until `updates` are sent (`None`: no limit)
/// or `stop` is set. Returns how many were sent.
pub fn publish(
    publisher: &Socket,
    zipcodes: Range<u32>,
    updates: Option<u64>,
    stop: &AtomicBool,
) -> zmq_rs::Result<u64> {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let span = u64::from(zipcodes.end - zipcodes.start).max(1);
    let mut sent = 0;
    while updates.is_none_or(|n| sent < n) && !stop.load(Ordering::Relaxed) {
        let zipcode = u64::from(zipcodes.start) + rng.next() % span;
        let temperature = i64::try_from(rng.next() % 215).unwrap_or(0) - 80;
        let humidity = rng.next() % 50 + 10;
        publisher.send(format!("{zipcode:05} {temperature} {humidity}"), 0)?;
        sent += 1;
    }
    Ok(sent)
}

/// A tiny deterministic generator: the example needs variety, not secrets.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5556".into());
    let updates = args
        .next()
        .map(|n| n.parse().expect("UPDATES must be a number"));
    let ctx = Context::new();
    let publisher = bind(&ctx, &endpoint)?;
    println!("wuserver: publishing on {}", publisher.get_last_endpoint()?);
    let sent = publish(&publisher, ALL_ZIPCODES, updates, &AtomicBool::new(false))?;
    println!("wuserver: sent {sent} updates");
    Ok(())
}
