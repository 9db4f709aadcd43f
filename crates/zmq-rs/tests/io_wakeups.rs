//! Request-reply over one tcp connection runs on the users' threads: a thread blocked in
//! `recv` reads its connection itself and the reply is written on the replying thread, so the
//! I/O thread is not woken per message (each wake-up is two context switches on the latency
//! path; on one core they were a fifth of the round trip). Alone in its own test binary so
//! that the I/O threads counted are this test's.

mod common;

use std::time::Duration;

use common::io_thread_sleeps;

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
