//! # lpserver: the zguide's Lazy Pirate server, which misbehaves on purpose
//!
//! A REP server that echoes each request, but after a few cycles may stall (simulated CPU
//! overload) or stop altogether (simulated crash), so that `lpclient` has something to
//! recover from.
//!
//! ```text
//! cargo run --release --example lpserver                       # tcp://*:5555
//! ```

use std::time::Duration;

use zmq_rs::{Context, Socket};

/// What the server does on a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// Stall for a while before answering.
    Overload(Duration),
    /// Stop without answering.
    Crash,
}

/// Binds the server's REP socket.
pub fn bind(ctx: &Context, endpoint: &str) -> zmq_rs::Result<Socket> {
    let server = ctx.socket(zmq_rs::REP)?;
    server.set_linger(0)?;
    server.bind(endpoint)?;
    Ok(server)
}

/// Echoes requests, asking `fault` what to do on each cycle (numbered from 1) and spending
/// `work` on each answer, until a crash. Returns the number of requests answered.
pub fn serve(
    server: &Socket,
    work: Duration,
    mut fault: impl FnMut(u64) -> Fault,
) -> zmq_rs::Result<u64> {
    let mut cycle = 0;
    loop {
        let request = server.recv_msg(0)?;
        cycle += 1;
        match fault(cycle) {
            Fault::Crash => {
                println!("I: simulating a crash");
                return Ok(cycle - 1);
            }
            Fault::Overload(stall) => {
                println!("I: simulating CPU overload");
                std::thread::sleep(stall);
            }
            Fault::None => {}
        }
        println!("I: normal request ({})", String::from_utf8_lossy(&request));
        std::thread::sleep(work);
        server.send(request, 0)?;
    }
}

/// The zguide's faults: from the fourth cycle on, a one-in-three chance of a crash, then of a
/// two-second stall.
pub fn random_faults(seed: u64) -> impl FnMut(u64) -> Fault {
    let mut state = seed.max(1);
    let mut one_in_three = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % 3 == 0
    };
    move |cycle| {
        if cycle > 3 && one_in_three() {
            Fault::Crash
        } else if cycle > 3 && one_in_three() {
            Fault::Overload(Duration::from_secs(2))
        } else {
            Fault::None
        }
    }
}

fn main() -> zmq_rs::Result<()> {
    let endpoint = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp://*:5555".into());
    let ctx = Context::new();
    let server = bind(&ctx, &endpoint)?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    serve(&server, Duration::from_secs(1), random_faults(seed))?;
    Ok(())
}
