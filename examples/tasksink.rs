//! # tasksink: the zguide's task sink (parallel pipeline, part 3 of 3)
//!
//! Binds a PULL socket, waits for the ventilator's start-of-batch signal, collects one result
//! per task from the workers, and reports how long the whole batch took: with more workers,
//! less time.
//!
//! ```text
//! cargo run --release --example tasksink                         # tcp://*:5558, 100 results
//! cargo run --release --example tasksink -- tcp://*:5558 100
//! ```

use std::io::Write;
use std::time::{Duration, Instant};

use zmq_rs::{Context, Socket};

/// Binds the socket the ventilator and the workers connect to.
pub fn bind(ctx: &Context, endpoint: &str) -> zmq_rs::Result<Socket> {
    let receiver = ctx.socket(zmq_rs::PULL)?;
    receiver.bind(endpoint)?;
    Ok(receiver)
}

/// Waits for the start of a batch, then for `tasks` results; returns the batch's duration.
pub fn collect(receiver: &Socket, tasks: u32) -> zmq_rs::Result<Duration> {
    receiver.recv_msg(0)?; // The start of the batch.
    let start = Instant::now();
    for task in 0..tasks {
        receiver.recv_msg(0)?;
        print!("{}", if task % 10 == 0 { ':' } else { '.' });
        let _ = std::io::stdout().flush();
    }
    let elapsed = start.elapsed();
    println!("\nTotal elapsed time: {} msec", elapsed.as_millis());
    Ok(elapsed)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5558".into());
    let tasks = args
        .next()
        .map_or(100, |n| n.parse().expect("TASKS must be a number"));
    let ctx = Context::new();
    let receiver = bind(&ctx, &endpoint)?;
    collect(&receiver, tasks)?;
    Ok(())
}
