//! The facade's hand-offs between threads: a batch of messages from one user thread to
//! another over inproc (the queues and wake-ups, no syscalls), and over tcp loopback through
//! the I/O thread (encode, write, read, decode, deliver).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const BATCH: u64 = 20_000;

/// Sends `n` messages of `size` octets through `endpoint` and times until the last arrives.
fn push_pull(endpoint: &str, size: usize, n: u64) -> Duration {
    let ctx = zmq_rs::Context::new();
    let pull = ctx.socket(zmq_rs::PULL).expect("pull");
    pull.bind(endpoint).expect("bind");
    let endpoint = pull.get_last_endpoint().expect("endpoint");
    let push = ctx.socket(zmq_rs::PUSH).expect("push");
    push.connect(&endpoint).expect("connect");
    // Warm the connection up before timing.
    push.send("warm-up", 0).expect("send");
    pull.recv_bytes(0).expect("recv");
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let start = Instant::now();
    let sender = std::thread::spawn(move || {
        for _ in 0..n {
            push.send(payload.clone(), 0).expect("send");
        }
        push
    });
    for _ in 0..n {
        pull.recv_msg(0).expect("recv");
    }
    let elapsed = start.elapsed();
    drop(sender.join().expect("sender"));
    elapsed
}

fn handoff(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_pull");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    for (transport, endpoint) in [
        ("inproc", "inproc://bench-handoff"),
        ("tcp", "tcp://127.0.0.1:*"),
    ] {
        for size in [64usize, 1024] {
            group.bench_with_input(BenchmarkId::new(transport, size), &size, |b, &size| {
                b.iter_custom(|iters| (0..iters).map(|_| push_pull(endpoint, size, BATCH)).sum());
            });
        }
    }
    group.finish();
}

criterion_group!(benches, handoff);
criterion_main!(benches);
