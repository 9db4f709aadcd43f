//! # hwserver: the zguide's Hello World server
//!
//! A REP socket bound to an endpoint answers each "Hello" with "World", after pretending to
//! work for a while. Pair it with `hwclient` (or any REQ client, libzmq's included).
//!
//! ```text
//! cargo run --release --example hwserver                        # tcp://*:5555, forever
//! cargo run --release --example hwserver -- tcp://*:5555 10     # answer 10 requests, then exit
//! ```

use std::time::Duration;

use zmq_rs::{Context, Socket};

/// Binds the server's REP socket.
pub fn bind(ctx: &Context, endpoint: &str) -> zmq_rs::Result<Socket> {
    let responder = ctx.socket(zmq_rs::REP)?;
    responder.bind(endpoint)?;
    Ok(responder)
}

/// Answers `requests` requests (`None`: forever), spending `work` on each. Returns how many
/// it answered.
pub fn serve(responder: &Socket, requests: Option<u64>, work: Duration) -> zmq_rs::Result<u64> {
    let mut answered = 0;
    while requests.is_none_or(|n| answered < n) {
        let request = responder.recv_msg(0)?;
        println!("Received {}", String::from_utf8_lossy(&request));
        std::thread::sleep(work); // Do some "work".
        responder.send("World", 0)?;
        answered += 1;
    }
    Ok(answered)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5555".into());
    let requests = args
        .next()
        .map(|n| n.parse().expect("REQUESTS must be a number"));
    let ctx = Context::new();
    let responder = bind(&ctx, &endpoint)?;
    println!("hwserver: answering on {}", responder.get_last_endpoint()?);
    serve(&responder, requests, Duration::from_secs(1))?;
    Ok(())
}
