//! # hwclient: the zguide's Hello World client
//!
//! A REQ socket connects to `hwserver` (or any REP server, libzmq's included), sends "Hello"
//! and waits for each "World".
//!
//! ```text
//! cargo run --release --example hwclient                              # tcp://localhost:5555, 10 requests
//! cargo run --release --example hwclient -- tcp://127.0.0.1:5555 3
//! ```

use zmq_rs::Context;

/// Sends `requests` requests to `endpoint` and returns the replies.
pub fn run(ctx: &Context, endpoint: &str, requests: u32) -> zmq_rs::Result<Vec<String>> {
    println!("Connecting to hello world server at {endpoint}...");
    let requester = ctx.socket(zmq_rs::REQ)?;
    requester.connect(endpoint)?;
    let mut replies = Vec::new();
    for number in 0..requests {
        println!("Sending Hello {number}...");
        requester.send("Hello", 0)?;
        let reply = requester.recv_msg(0)?;
        let reply = String::from_utf8_lossy(&reply).into_owned();
        println!("Received {reply} {number}");
        replies.push(reply);
    }
    Ok(replies)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5555".into());
    let requests = args
        .next()
        .map_or(10, |n| n.parse().expect("REQUESTS must be a number"));
    run(&Context::new(), &endpoint, requests)?;
    Ok(())
}
