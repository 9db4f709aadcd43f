//! A receiver slower than its sender reads its connection itself once it has drained its
//! full queue, and leaves the I/O thread asleep. Alone in its own test binary so that the
//! I/O threads counted are this test's (see `io_wakeups.rs`).

mod common;

use std::time::Duration;

use common::io_thread_sleeps;

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
