//! The facade's hand-offs between threads: a batch of messages from one user thread to
//! another over inproc (the queues and wake-ups, no syscalls), and over tcp loopback through
//! the I/O thread (encode, write, read, decode, deliver).
//!
//! `round_trip` times REQ-REP round trips between two user threads over inproc and tcp:
//! how a receive waits for its answer (awake a while, then asleep) shows there first.
//!
//! `wakeup_floor` is no zmq-rs code at all: two threads taking turns with nothing but
//! `park`/`unpark` (one futex wake and one wait per turn), or by yielding the core until
//! their turn comes (one switch per turn). Run on one core
//! (`taskset -c 0 cargo bench -p benches --bench handoff -- wakeup_floor`) it is the floor
//! under any inproc one-way latency there, libzmq's included (see docs/performance.md).

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

const BATCH: u64 = 20_000;

/// A group of this file's benches, `elements` hand-offs per iteration, ten samples.
fn group<'a>(c: &'a mut Criterion, name: &str, elements: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(elements));
    group.sample_size(10);
    group
}

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
    let mut group = group(c, "push_pull", BATCH);
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

/// `n` REQ-REP round trips of 64 octets through `endpoint`, the REP on its own thread.
fn req_rep(endpoint: &str, n: u64) -> Duration {
    let ctx = zmq_rs::Context::new();
    let rep = ctx.socket(zmq_rs::REP).expect("rep");
    rep.bind(endpoint).expect("bind");
    let endpoint = rep.get_last_endpoint().expect("endpoint");
    let req = ctx.socket(zmq_rs::REQ).expect("req");
    req.connect(&endpoint).expect("connect");
    let server = std::thread::spawn(move || {
        for _ in 0..=n {
            let request = rep.recv_msg(0).expect("request");
            rep.send(request, 0).expect("reply");
        }
    });
    let payload = bytes::Bytes::from(vec![b'x'; 64]);
    // The first round trip connects and warms up.
    req.send(payload.clone(), 0).expect("send");
    req.recv_msg(0).expect("recv");
    let start = Instant::now();
    for _ in 0..n {
        req.send(payload.clone(), 0).expect("send");
        req.recv_msg(0).expect("recv");
    }
    let elapsed = start.elapsed();
    server.join().expect("server");
    elapsed
}

fn round_trip(c: &mut Criterion) {
    const TRIPS: u64 = 2_000;
    let mut group = group(c, "round_trip", TRIPS);
    for (transport, endpoint) in [
        ("inproc", "inproc://bench-round-trip"),
        ("tcp", "tcp://127.0.0.1:*"),
    ] {
        group.bench_function(transport, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| req_rep(endpoint, TRIPS)).sum());
        });
    }
    group.finish();
}

/// How a thread waits for its turn in [`ping_pong`].
#[derive(Clone, Copy)]
enum Wait {
    /// Park until the other thread unparks it (a futex wait and wake per turn).
    Park,
    /// Give the core away until the turn is ours (on one core, a switch per turn).
    Yield,
}

impl Wait {
    fn until(self, turn: &std::sync::atomic::AtomicU64, value: u64) {
        while turn.load(std::sync::atomic::Ordering::Acquire) != value {
            match self {
                Self::Park => std::thread::park(),
                Self::Yield => std::thread::yield_now(),
            }
        }
    }

    fn hand_over(self, to: &std::thread::Thread) {
        if let Self::Park = self {
            to.unpark();
        }
    }
}

/// `turns` one-way hand-offs between two threads that only wait for each other, as `wait`.
fn ping_pong(turns: u64, wait: Wait) -> Duration {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let turn = Arc::new(AtomicU64::new(0));
    let main = std::thread::current();
    let echo = {
        let turn = turn.clone();
        std::thread::spawn(move || {
            for i in (1..turns).step_by(2) {
                wait.until(&turn, i);
                turn.store(i + 1, Ordering::Release);
                wait.hand_over(&main);
            }
        })
    };
    let start = Instant::now();
    for i in (0..turns).step_by(2) {
        turn.store(i + 1, Ordering::Release);
        wait.hand_over(echo.thread());
        wait.until(&turn, i + 2);
    }
    let elapsed = start.elapsed();
    echo.join().expect("echo thread");
    elapsed
}

fn wakeup_floor(c: &mut Criterion) {
    const TURNS: u64 = 20_000;
    let mut group = group(c, "wakeup_floor", TURNS);
    group.bench_function("park_unpark", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| ping_pong(TURNS, Wait::Park)).sum());
    });
    group.bench_function("yield", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| ping_pong(TURNS, Wait::Yield)).sum());
    });
    group.finish();
}

criterion_group!(benches, handoff, round_trip, wakeup_floor);
criterion_main!(benches);
