//! # wuclient: the zguide's weather update client
//!
//! A SUB socket subscribes to one zip code's updates from `wuserver` (or libzmq's), collects
//! a number of them and prints the average temperature.
//!
//! ```text
//! cargo run --release --example wuclient                                  # zip 10001, 100 updates
//! cargo run --release --example wuclient -- tcp://localhost:5556 10002 20
//! ```

use zmq_rs::Context;

/// Collects `updates` updates for `zipcode` from `endpoint`; returns the average temperature.
pub fn run(ctx: &Context, endpoint: &str, zipcode: &str, updates: u32) -> zmq_rs::Result<f64> {
    println!("Collecting updates from weather server at {endpoint}...");
    let subscriber = ctx.socket(zmq_rs::SUB)?;
    subscriber.connect(endpoint)?;
    // The trailing space keeps "10001" from matching "100012"-style longer codes.
    let filter = format!("{zipcode} ");
    subscriber.set_subscribe(filter.as_bytes())?;
    let mut total_temperature = 0i64;
    for _ in 0..updates {
        let update = subscriber.recv_string(0)?.unwrap_or_default();
        let temperature: i64 = update
            .split_whitespace()
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        total_temperature += temperature;
    }
    let average = total_temperature as f64 / f64::from(updates.max(1));
    println!("Average temperature for zipcode '{zipcode}' was {average:.1}F");
    Ok(average)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5556".into());
    let zipcode = args.next().unwrap_or_else(|| "10001".into());
    let updates = args
        .next()
        .map_or(100, |n| n.parse().expect("UPDATES must be a number"));
    run(&Context::new(), &endpoint, &zipcode, updates)?;
    Ok(())
}
