//! Request-reply over one tcp connection runs on the users' threads: a thread blocked in
//! `recv` reads its connection itself and the reply is written on the replying thread, so the
//! I/O thread is not woken per message (each wake-up is two context switches on the latency
//! path; on one core they were a fifth of the round trip). Alone in its own test binary so
//! that the I/O threads counted are this test's.

use std::time::Duration;

/// Voluntary context switches so far of every zmq-rs I/O thread in this process: how often
/// they went to sleep, so how often they were woken.
fn io_thread_sleeps() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = task.expect("a task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("zmq-rs-io") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|count| count.trim().parse::<u64>().ok())
            .expect("voluntary_ctxt_switches in /proc/self/task/*/status");
    }
    total
}

/// RFC 28 request-reply between two sockets of one context over tcp: after a warm-up, 2,000
/// round trips wake the I/O thread a few times (its lease timer, every 20 ms), not once or
/// twice per round trip.
#[test]
fn request_reply_over_tcp_leaves_the_io_thread_asleep_rfc28() {
    const WARM_UP: usize = 20;
    const ROUNDTRIPS: usize = 2000;
    let ctx = zmq_rs::Context::new();
    let rep = ctx.socket(zmq_rs::REP).expect("rep");
    rep.set_rcvtimeo(5000).expect("rcvtimeo");
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = rep.get_last_endpoint().expect("endpoint");
    let req = ctx.socket(zmq_rs::REQ).expect("req");
    req.set_rcvtimeo(5000).expect("rcvtimeo");
    req.connect(&endpoint).expect("connect");
    let echo = std::thread::spawn(move || {
        for _ in 0..WARM_UP + ROUNDTRIPS {
            let request = rep.recv_bytes(0).expect("request");
            rep.send(request, 0).expect("reply");
        }
    });
    let mut round_trip = |i: usize| {
        let request = i.to_be_bytes();
        req.send(&request[..], 0).expect("request");
        assert_eq!(req.recv_bytes(0).expect("reply"), request);
    };
    (0..WARM_UP).for_each(&mut round_trip);
    std::thread::sleep(Duration::from_millis(10));
    let before = io_thread_sleeps();
    (0..ROUNDTRIPS).for_each(&mut round_trip);
    let woken = io_thread_sleeps() - before;
    echo.join().expect("echo thread");
    assert!(
        woken < (ROUNDTRIPS / 4) as u64,
        "the I/O thread was woken {woken} times in {ROUNDTRIPS} round trips"
    );
}

/// A receiver slower than its sender (RFC 30 PULL, its queue full while it was away) reads
/// its one tcp connection itself once it has drained the queue, instead of waking the I/O
/// thread to read the next batch every time it drains half of it (libzmq's low-water mark):
/// after that the I/O thread sleeps through the stream. The sender is libzmq's, whose
/// threads are not counted.
#[test]
fn a_slow_receiver_of_a_stream_reads_it_itself_after_draining_its_queue_rfc30() {
    const HWM: i32 = 100;
    const COUNT: usize = 20_000;
    let ctx = zmq_rs::Context::new();
    let pull = ctx.socket(zmq_rs::PULL).expect("pull");
    pull.set_rcvhwm(HWM).expect("rcvhwm");
    pull.set_rcvtimeo(5000).expect("rcvtimeo");
    pull.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = pull.get_last_endpoint().expect("endpoint");
    let sender = std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH).expect("libzmq push");
        push.set_sndhwm(HWM).expect("sndhwm");
        push.connect(&endpoint).expect("connect");
        for i in 0..COUNT {
            let mut payload = [0u8; 64];
            payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
            push.send(&payload[..], 0).expect("send");
        }
        push.set_linger(-1).expect("linger");
    });
    // Away while the sender fills the queue, the connection and the kernel's buffers.
    assert_eq!(pull.recv_bytes(0).expect("first")[..8], 0u64.to_be_bytes());
    std::thread::sleep(Duration::from_millis(100));
    let before = io_thread_sleeps();
    for i in 1..COUNT {
        let got = pull.recv_bytes(0).expect("recv");
        assert_eq!(got[..8], (i as u64).to_be_bytes(), "message {i}");
    }
    let woken = io_thread_sleeps() - before;
    sender.join().expect("sender");
    let drains = (COUNT as u64) / (HWM as u64 / 2);
    assert!(
        woken < drains / 4,
        "the I/O thread was woken {woken} times for {drains} drains of the queue"
    );
}
