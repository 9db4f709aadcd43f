//! # rrworker: the zguide's request-reply worker, behind a broker
//!
//! Like `hwserver`, but *connects* to the broker's backend (`rrbroker`): workers come and go
//! while the broker's address stays the same.
//!
//! ```text
//! cargo run --release --example rrworker                             # tcp://localhost:5560, forever
//! cargo run --release --example rrworker -- tcp://localhost:5560 5
//! ```

use std::time::Duration;

use zmq_rs::Context;

/// Answers `requests` requests (`None`: forever) with "World", spending `work` on each.
/// Returns how many it answered.
pub fn run(
    ctx: &Context,
    endpoint: &str,
    requests: Option<u64>,
    work: Duration,
) -> zmq_rs::Result<u64> {
    let responder = ctx.socket(zmq_rs::REP)?;
    responder.connect(endpoint)?;
    let mut answered = 0;
    while requests.is_none_or(|n| answered < n) {
        let request = responder.recv_string(0)?.unwrap_or_default();
        println!("Received request: [{request}]");
        std::thread::sleep(work); // Do some "work".
        responder.send("World", 0)?;
        answered += 1;
    }
    Ok(answered)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5560".into());
    let requests = args
        .next()
        .map(|n| n.parse().expect("REQUESTS must be a number"));
    run(&Context::new(), &endpoint, requests, Duration::from_secs(1))?;
    Ok(())
}
