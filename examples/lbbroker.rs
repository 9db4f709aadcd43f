//! # lbbroker: the zguide's load-balancing broker
//!
//! Clients (REQ) talk to a ROUTER frontend; workers (REQ too) talk to a ROUTER backend and
//! announce themselves with "READY". The broker keeps a queue of idle workers, gives each
//! client request to the worker idle the longest, and sends the worker's reply back to the
//! client. It only reads from clients while a worker is free, so requests wait in the
//! clients' queues rather than pile up in the broker.
//!
//! ```text
//! frames on the backend:  [worker id] [""] ["READY"]                      a worker is free
//!                         [worker id] [""] [client id] [""] [reply]       a reply
//! frames on the frontend: [client id] [""] [request]  <->  [client id] [""] [reply]
//! ```
//!
//! As in the zguide, one process runs the broker, the clients and the workers (as threads,
//! over inproc):
//!
//! ```text
//! cargo run --release --example lbbroker               # 10 clients, 3 workers
//! cargo run --release --example lbbroker -- 20 4
//! ```

use std::collections::VecDeque;

use zmq_rs::{Context, POLLIN, PollItem, Socket};

/// A client: sends "HELLO" and returns the reply.
pub fn client_task(ctx: &Context, endpoint: &str, name: &str) -> zmq_rs::Result<String> {
    let client = ctx.socket(zmq_rs::REQ)?;
    client.set_routing_id(name.as_bytes())?;
    client.connect(endpoint)?;
    client.send("HELLO", 0)?;
    let reply = client.recv_string(0)?.unwrap_or_default();
    println!("{name}: {reply}");
    Ok(reply)
}

/// A worker: says "READY", then answers each request with "OK" until the context is
/// terminated. Returns how many requests it answered.
pub fn worker_task(ctx: &Context, endpoint: &str, name: &str) -> zmq_rs::Result<u64> {
    let worker = ctx.socket(zmq_rs::REQ)?;
    worker.set_routing_id(name.as_bytes())?;
    worker.connect(endpoint)?;
    worker.send("READY", 0)?;
    let mut answered = 0;
    loop {
        // [client id] [""] [request]
        let request = match worker.recv_multipart(0) {
            Ok(request) => request,
            Err(zmq_rs::Error::Terminated) => return Ok(answered),
            Err(e) => return Err(e),
        };
        let [client, empty, body] = &request[..] else {
            continue; // Not a request this broker sends.
        };
        println!(
            "{name}: {} from {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(client)
        );
        worker.send_multipart([&client[..], &empty[..], b"OK"], 0)?;
        answered += 1;
    }
}

/// Routes requests to idle workers until `replies` replies have reached clients.
pub fn broker(frontend: &Socket, backend: &Socket, replies: usize) -> zmq_rs::Result<()> {
    let mut idle_workers: VecDeque<Vec<u8>> = VecDeque::new();
    let mut delivered = 0;
    while delivered < replies {
        let mut items = [
            PollItem::new(backend, POLLIN),
            PollItem::new(frontend, POLLIN),
        ];
        // Look at clients only while some worker is free.
        let watched = if idle_workers.is_empty() { 1 } else { 2 };
        zmq_rs::poll(&mut items[..watched], -1)?;
        let (backend_ready, frontend_ready) = (items[0].is_readable(), items[1].is_readable());
        if backend_ready {
            let frames = backend.recv_multipart(0)?;
            let Some(worker) = frames.first() else {
                continue;
            };
            idle_workers.push_back(worker.clone());
            // [worker] [""] [client] [""] [reply]: pass the reply on.
            if let [_, _, client, empty, reply] = &frames[..] {
                frontend.send_multipart([&client[..], &empty[..], &reply[..]], 0)?;
                delivered += 1;
            }
        }
        if frontend_ready && watched == 2 {
            // [client] [""] [request] goes to the worker idle the longest.
            let frames = frontend.recv_multipart(0)?;
            if let ([client, empty, request], Some(worker)) =
                (&frames[..], idle_workers.pop_front())
            {
                backend
                    .send_multipart([&worker[..], b"", &client[..], &empty[..], &request[..]], 0)?;
            }
        }
    }
    Ok(())
}

/// The zguide's demonstration: `clients` clients and `workers` workers over inproc. Returns
/// the replies the clients got.
pub fn run(clients: usize, workers: usize) -> zmq_rs::Result<Vec<String>> {
    let ctx = Context::new();
    let frontend = ctx.socket(zmq_rs::ROUTER)?;
    frontend.bind("inproc://lbbroker-frontend")?;
    let backend = ctx.socket(zmq_rs::ROUTER)?;
    backend.bind("inproc://lbbroker-backend")?;
    let client_threads: Vec<_> = (0..clients)
        .map(|i| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                client_task(&ctx, "inproc://lbbroker-frontend", &format!("client-{i}"))
            })
        })
        .collect();
    let worker_threads: Vec<_> = (0..workers)
        .map(|i| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                worker_task(&ctx, "inproc://lbbroker-backend", &format!("worker-{i}"))
            })
        })
        .collect();
    broker(&frontend, &backend, clients)?;
    let mut replies = Vec::new();
    for thread in client_threads {
        replies.push(thread.join().expect("a client thread panicked")?);
    }
    // Every client is served: stop the workers.
    ctx.term();
    for thread in worker_threads {
        thread.join().expect("a worker thread panicked")?;
    }
    Ok(replies)
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let clients = args
        .next()
        .map_or(10, |n| n.parse().expect("CLIENTS must be a number"));
    let workers = args
        .next()
        .map_or(3, |n| n.parse().expect("WORKERS must be a number"));
    let replies = run(clients, workers)?;
    println!("lbbroker: {} clients served", replies.len());
    Ok(())
}
