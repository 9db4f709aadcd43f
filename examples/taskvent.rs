//! # taskvent: the zguide's task ventilator (parallel pipeline, part 1 of 3)
//!
//! Binds a PUSH socket that workers (`taskwork`) connect to, tells the sink (`tasksink`) that
//! a batch starts, then pushes tasks: each is a workload in milliseconds. PUSH deals them out
//! round-robin to the connected workers.
//!
//! ```text
//! cargo run --release --example tasksink                  # first: the sink on tcp://*:5558
//! cargo run --release --example taskwork                  # one or more workers
//! cargo run --release --example taskvent                  # press Enter once workers are up
//! cargo run --release --example taskvent -- tcp://*:5557 tcp://localhost:5558 100
//! ```

use zmq_rs::{Context, Socket};

/// Binds the socket the workers connect to.
pub fn bind(ctx: &Context, endpoint: &str) -> zmq_rs::Result<Socket> {
    let sender = ctx.socket(zmq_rs::PUSH)?;
    sender.bind(endpoint)?;
    Ok(sender)
}

/// Signals the start of a batch to the sink at `sink_endpoint`, then sends `tasks` tasks of
/// 1 to `max_workload_ms` milliseconds each. Returns the total workload in milliseconds.
pub fn send_tasks(
    ctx: &Context,
    sender: &Socket,
    sink_endpoint: &str,
    tasks: u32,
    max_workload_ms: u64,
) -> zmq_rs::Result<u64> {
    let sink = ctx.socket(zmq_rs::PUSH)?;
    sink.connect(sink_endpoint)?;
    // The first message is "0" and signals the start of the batch.
    sink.send("0", 0)?;
    println!("Sending {tasks} tasks to workers...");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut total_ms = 0;
    for _ in 0..tasks {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let workload = seed % max_workload_ms.max(1) + 1;
        total_ms += workload;
        sender.send(workload.to_string(), 0)?;
    }
    println!("Total expected cost: {total_ms} msec");
    Ok(total_ms)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5557".into());
    let sink = args.next().unwrap_or_else(|| "tcp://localhost:5558".into());
    let tasks = args
        .next()
        .map_or(100, |n| n.parse().expect("TASKS must be a number"));
    let ctx = Context::new();
    let sender = bind(&ctx, &endpoint)?;
    println!("Press Enter when the workers are ready: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .expect("reading standard input");
    send_tasks(&ctx, &sender, &sink, tasks, 100)?;
    // Dropping the context delivers what is still queued (LINGER) before the process ends.
    Ok(())
}
