//! # rrclient: the zguide's request-reply client, through a broker
//!
//! Like `hwclient`, but connects to the broker's frontend (`rrbroker`), which spreads the
//! requests over every worker (`rrworker`).
//!
//! ```text
//! cargo run --release --example rrclient                              # tcp://localhost:5559, 10 requests
//! cargo run --release --example rrclient -- tcp://localhost:5559 3
//! ```

use zmq_rs::Context;

/// Sends `requests` requests through the broker at `endpoint`; returns the replies.
pub fn run(ctx: &Context, endpoint: &str, requests: u32) -> zmq_rs::Result<Vec<String>> {
    let requester = ctx.socket(zmq_rs::REQ)?;
    requester.connect(endpoint)?;
    let mut replies = Vec::new();
    for number in 0..requests {
        requester.send("Hello", 0)?;
        let reply = requester.recv_string(0)?.unwrap_or_default();
        println!("Received reply {number} [{reply}]");
        replies.push(reply);
    }
    Ok(replies)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5559".into());
    let requests = args
        .next()
        .map_or(10, |n| n.parse().expect("REQUESTS must be a number"));
    run(&Context::new(), &endpoint, requests)?;
    Ok(())
}
