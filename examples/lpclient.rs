//! # lpclient: the zguide's Lazy Pirate client (reliable request-reply)
//!
//! A REQ socket cannot be trusted to get an answer: the server may crash, or the request or
//! reply may be lost. The Lazy Pirate client polls for the reply with a timeout; when none
//! comes it closes the socket (REQ would refuse to send again), opens a new one and resends,
//! a few times, then gives up. Pair it with `lpserver`, which crashes and stalls on purpose.
//!
//! ```text
//! cargo run --release --example lpserver                     # in one terminal
//! cargo run --release --example lpclient                     # in another: tcp://localhost:5555
//! cargo run --release --example lpclient -- tcp://localhost:5555 10
//! ```

use std::time::Duration;

use zmq_rs::{Context, POLLIN, PollItem, Socket};

/// How patient the client is.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long to wait for each reply.
    pub timeout: Duration,
    /// How many times to resend a request before giving up.
    pub retries: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(2500),
            retries: 3,
        }
    }
}

/// How a run ended.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Requests answered correctly.
    pub replies: u64,
    /// Times a request was resent on a fresh socket.
    pub resends: u32,
    /// True when the server seemed offline and the client gave up.
    pub abandoned: bool,
}

fn connect(ctx: &Context, endpoint: &str) -> zmq_rs::Result<Socket> {
    let client = ctx.socket(zmq_rs::REQ)?;
    // Drop unanswered requests at once when the socket is replaced.
    client.set_linger(0)?;
    client.connect(endpoint)?;
    Ok(client)
}

/// Sends `requests` numbered requests to `endpoint`, each retried as `settings` allow.
pub fn run(
    ctx: &Context,
    endpoint: &str,
    requests: u64,
    settings: Settings,
) -> zmq_rs::Result<Outcome> {
    println!("I: connecting to server at {endpoint}...");
    let mut client = connect(ctx, endpoint)?;
    let mut outcome = Outcome::default();
    let timeout_ms = i64::try_from(settings.timeout.as_millis()).unwrap_or(i64::MAX);
    for sequence in 1..=requests {
        let request = sequence.to_string();
        client.send(&request[..], 0)?;
        let mut retries_left = settings.retries;
        loop {
            let mut items = [PollItem::new(&client, POLLIN)];
            if zmq_rs::poll(&mut items, timeout_ms)? > 0 {
                let reply = client.recv_string(0)?.unwrap_or_default();
                if reply == request {
                    println!("I: server replied OK ({reply})");
                    outcome.replies += 1;
                    break;
                }
                println!("E: malformed reply from server: {reply}");
                continue;
            }
            if retries_left == 0 {
                println!("E: server seems to be offline, abandoning");
                outcome.abandoned = true;
                return Ok(outcome);
            }
            retries_left -= 1;
            println!("W: no response from server, retrying...");
            // The old socket is stuck waiting for a reply: replace it.
            client = connect(ctx, endpoint)?;
            println!("I: resending ({request})");
            client.send(&request[..], 0)?;
            outcome.resends += 1;
        }
    }
    Ok(outcome)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5555".into());
    let requests = args
        .next()
        .map_or(u64::MAX, |n| n.parse().expect("REQUESTS must be a number"));
    let outcome = run(&Context::new(), &endpoint, requests, Settings::default())?;
    if outcome.abandoned {
        std::process::exit(1);
    }
    Ok(())
}
