//! `idle_memory [ours|libzmq] [PEERS]`: resident memory of a context, and per idle
//! connection, for one implementation: a ROUTER with PEERS idle DEALERs (default 1,000)
//! connected over tcp, in one process. Prints lines such as
//! `idle context: 123 KiB` and `per idle connection: 45.6 KiB (both ends)`.

use std::time::{Duration, Instant};

/// This process's resident set, in KiB (`VmRSS` in /proc/self/status).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn ours(peers: usize) -> (u64, u64) {
    let before = rss_kib();
    let ctx = zmq_rs::Context::new();
    let router = ctx.socket(zmq_rs::ROUTER).expect("router");
    router.set_backlog(2048).expect("backlog");
    router.bind("tcp://127.0.0.1:*").expect("bind");
    let context = rss_kib().saturating_sub(before);
    let endpoint = router.get_last_endpoint().expect("endpoint");
    let dealers: Vec<zmq_rs::Socket> = (0..peers)
        .map(|_| {
            let d = ctx.socket(zmq_rs::DEALER).expect("dealer");
            d.connect(&endpoint).expect("connect");
            d.send("hello", 0).expect("send");
            d
        })
        .collect();
    for _ in 0..peers {
        router.recv_multipart(0).expect("hello");
    }
    settle();
    let connected = rss_kib().saturating_sub(before);
    drop(dealers);
    (context, connected)
}

fn libzmq(peers: usize) -> (u64, u64) {
    let before = rss_kib();
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).expect("router");
    router.set_backlog(2048).expect("backlog");
    router.bind("tcp://127.0.0.1:*").expect("bind");
    let context = rss_kib().saturating_sub(before);
    let endpoint = router
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let dealers: Vec<zmq::Socket> = (0..peers)
        .map(|_| {
            let d = ctx.socket(zmq::DEALER).expect("dealer");
            d.connect(&endpoint).expect("connect");
            d.send("hello", 0).expect("send");
            d
        })
        .collect();
    for _ in 0..peers {
        router.recv_multipart(0).expect("hello");
    }
    settle();
    let connected = rss_kib().saturating_sub(before);
    drop(dealers);
    (context, connected)
}

/// Lets the I/O threads finish their handshakes and go idle.
fn settle() {
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("ours", String::as_str);
    let peers: usize = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(1000);
    let (context, connected) = match which {
        "libzmq" => libzmq(peers),
        _ => ours(peers),
    };
    println!("implementation: {which}");
    println!("idle context and bound ROUTER: {context} KiB");
    println!(
        "per idle connection: {:.1} KiB (both ends: a DEALER socket and the ROUTER's peer)",
        connected.saturating_sub(context) as f64 / peers as f64
    );
}
