//! # mtserver: the zguide's multithreaded server
//!
//! Clients (REQ, e.g. `hwclient`) connect to a ROUTER socket; worker threads (REP) connect to
//! a DEALER socket over inproc; the built-in proxy joins the two, so requests are served in
//! parallel while each reply still finds its client.
//!
//! ```text
//! cargo run --release --example mtserver                  # tcp://*:5555, 5 workers
//! cargo run --release --example mtserver -- tcp://*:5555 8
//! ```

use std::time::Duration;

use zmq_rs::{Context, Socket};

/// Where the workers connect, inside the process.
pub const WORKERS: &str = "inproc://mtserver-workers";

/// A worker: answers "World" to each request until the context is terminated. Returns how
/// many it answered.
pub fn worker_routine(ctx: &Context, work: Duration) -> zmq_rs::Result<u64> {
    let receiver = ctx.socket(zmq_rs::REP)?;
    receiver.connect(WORKERS)?;
    let mut answered = 0;
    loop {
        let request = match receiver.recv_string(0) {
            Ok(request) => request.unwrap_or_default(),
            Err(zmq_rs::Error::Terminated) => return Ok(answered),
            Err(e) => return Err(e),
        };
        println!("Received request: [{request}]");
        std::thread::sleep(work); // Do some "work".
        receiver.send("World", 0)?;
        answered += 1;
    }
}

/// The server's two sockets.
#[derive(Debug)]
pub struct Server {
    /// Clients connect here (ROUTER).
    pub clients: Socket,
    /// Workers connect here (DEALER, inproc).
    pub workers: Socket,
}

/// Binds the clients' endpoint and the workers' inproc endpoint.
pub fn bind(ctx: &Context, endpoint: &str) -> zmq_rs::Result<Server> {
    let clients = ctx.socket(zmq_rs::ROUTER)?;
    clients.bind(endpoint)?;
    let workers = ctx.socket(zmq_rs::DEALER)?;
    workers.bind(WORKERS)?;
    Ok(Server { clients, workers })
}

/// Starts `threads` workers, then relays until `control` receives TERMINATE (or forever).
/// The workers stop when the context is terminated; their handles are returned.
pub fn run(
    ctx: &Context,
    server: &Server,
    threads: usize,
    work: Duration,
    control: Option<&Socket>,
) -> zmq_rs::Result<Vec<std::thread::JoinHandle<zmq_rs::Result<u64>>>> {
    let workers = (0..threads)
        .map(|_| {
            let ctx = ctx.clone();
            std::thread::spawn(move || worker_routine(&ctx, work))
        })
        .collect();
    match control {
        Some(control) => zmq_rs::proxy_steerable(&server.clients, &server.workers, None, control)?,
        None => zmq_rs::proxy(&server.clients, &server.workers, None)?,
    }
    Ok(workers)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5555".into());
    let threads = args
        .next()
        .map_or(5, |n| n.parse().expect("WORKERS must be a number"));
    let ctx = Context::new();
    let server = bind(&ctx, &endpoint)?;
    println!(
        "mtserver: {threads} workers answering on {}",
        server.clients.get_last_endpoint()?
    );
    run(&ctx, &server, threads, Duration::from_secs(1), None)?;
    Ok(())
}
