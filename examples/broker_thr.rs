//! `broker_thr [ours|libzmq] [CLIENTS] [WORKERS] [REQUESTS]`: a ROUTER-DEALER broker (the
//! library's own proxy) between DEALER clients and DEALER workers over tcp loopback, in one
//! process (defaults 4 clients, 4 workers, 50,000 requests per client, 64 octets, 100 in
//! flight per client); prints request-reply round trips per second through the broker. The
//! same code runs on zmq-rs or on libzmq (the `zmq` crate).

use std::time::Instant;

const SIZE: usize = 64;
const WINDOW: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("ours", String::as_str).to_owned();
    let clients: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(4);
    let workers: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(4);
    let requests: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let elapsed = if which == "libzmq" {
        libzmq(clients, workers, requests)
    } else {
        ours(clients, workers, requests)
    };
    let total = (clients * requests) as f64;
    println!("implementation: {which}");
    println!("clients: {clients}, workers: {workers}, requests: {requests} per client");
    println!("round trips: {:.0} [msg/s]", total / elapsed.as_secs_f64());
}

fn ours(clients: usize, workers: usize, requests: usize) -> std::time::Duration {
    let ctx = zmq_rs::Context::new();
    let frontend = ctx.socket(zmq_rs::ROUTER).expect("frontend");
    frontend.bind("tcp://127.0.0.1:*").expect("bind");
    let front = frontend.get_last_endpoint().expect("endpoint");
    let backend = ctx.socket(zmq_rs::DEALER).expect("backend");
    backend.bind("tcp://127.0.0.1:*").expect("bind");
    let back = backend.get_last_endpoint().expect("endpoint");
    std::thread::spawn(move || zmq_rs::proxy(&frontend, &backend, None));
    for _ in 0..workers {
        let w = ctx.socket(zmq_rs::DEALER).expect("worker");
        w.connect(&back).expect("connect");
        std::thread::spawn(move || {
            while let Ok(frames) = w.recv_frames(0) {
                if w.send_multipart(frames, 0).is_err() {
                    break;
                }
            }
        });
    }
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let c = ctx.socket(zmq_rs::DEALER).expect("client");
            c.connect(&front).expect("connect");
            std::thread::spawn(move || {
                let payload = vec![b'x'; SIZE];
                let (mut sent, mut got) = (0, 0);
                while got < requests {
                    while sent < requests && sent - got < WINDOW {
                        c.send_multipart([&b""[..], &payload], 0).expect("send");
                        sent += 1;
                    }
                    c.recv_frames(0).expect("reply");
                    got += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client");
    }
    start.elapsed()
}

fn libzmq(clients: usize, workers: usize, requests: usize) -> std::time::Duration {
    let ctx = zmq::Context::new();
    let frontend = ctx.socket(zmq::ROUTER).expect("frontend");
    frontend.bind("tcp://127.0.0.1:*").expect("bind");
    let front = frontend
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let backend = ctx.socket(zmq::DEALER).expect("backend");
    backend.bind("tcp://127.0.0.1:*").expect("bind");
    let back = backend
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    std::thread::spawn(move || {
        let _ = zmq::proxy(&frontend, &backend);
    });
    for _ in 0..workers {
        let w = ctx.socket(zmq::DEALER).expect("worker");
        w.connect(&back).expect("connect");
        std::thread::spawn(move || {
            while let Ok(frames) = w.recv_multipart(0) {
                if w.send_multipart(frames, 0).is_err() {
                    break;
                }
            }
        });
    }
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let c = ctx.socket(zmq::DEALER).expect("client");
            c.connect(&front).expect("connect");
            std::thread::spawn(move || {
                let payload = [b'x'; SIZE];
                let (mut sent, mut got) = (0, 0);
                while got < requests {
                    while sent < requests && sent - got < WINDOW {
                        c.send_multipart([&b""[..], &payload[..]], 0).expect("send");
                        sent += 1;
                    }
                    c.recv_multipart(0).expect("reply");
                    got += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client");
    }
    let elapsed = start.elapsed();
    // The proxy and workers run until the process exits (libzmq's proxy never returns).
    std::mem::forget(ctx);
    elapsed
}
