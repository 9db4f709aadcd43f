//! # taskwork: the zguide's task worker (parallel pipeline, part 2 of 3)
//!
//! Pulls tasks from the ventilator (`taskvent`), "works" for each task's number of
//! milliseconds, and pushes an empty result to the sink (`tasksink`). Start as many as you
//! like: the ventilator deals tasks out round-robin, the sink collects results fairly.
//!
//! ```text
//! cargo run --release --example taskwork                                     # localhost:5557 -> localhost:5558
//! cargo run --release --example taskwork -- tcp://host:5557 tcp://host:5558
//! ```

use std::io::Write;
use std::time::Duration;

use zmq_rs::Context;

/// Works on tasks until `tasks` are done (`None`: no limit) or none arrives for `idle`
/// (`None`: wait forever). Returns how many it did.
pub fn run(
    ctx: &Context,
    vent_endpoint: &str,
    sink_endpoint: &str,
    tasks: Option<u64>,
    idle: Option<Duration>,
) -> zmq_rs::Result<u64> {
    let receiver = ctx.socket(zmq_rs::PULL)?;
    receiver.connect(vent_endpoint)?;
    if let Some(idle) = idle {
        receiver.set_rcvtimeo(i32::try_from(idle.as_millis()).unwrap_or(i32::MAX))?;
    }
    let sender = ctx.socket(zmq_rs::PUSH)?;
    sender.connect(sink_endpoint)?;
    let mut done = 0;
    while tasks.is_none_or(|n| done < n) {
        let task = match receiver.recv_string(0) {
            Ok(task) => task.unwrap_or_default(),
            Err(zmq_rs::Error::WouldBlock) => break, // Idle for too long.
            Err(e) => return Err(e),
        };
        print!("{task}.");
        let _ = std::io::stdout().flush();
        let ms = task.trim().parse().unwrap_or(0);
        std::thread::sleep(Duration::from_millis(ms)); // Do the work.
        sender.send("", 0)?;
        done += 1;
    }
    Ok(done)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let vent = args.next().unwrap_or_else(|| "tcp://localhost:5557".into());
    let sink = args.next().unwrap_or_else(|| "tcp://localhost:5558".into());
    run(&Context::new(), &vent, &sink, None, None)?;
    Ok(())
}
