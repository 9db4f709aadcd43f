//! `local_thr <bind-to> <message-size> <message-count>`: libzmq's throughput receiver.
//! A PULL socket binds, receives the messages and prints the throughput, timed from the
//! first message.

#[path = "perf/common.rs"]
mod common;

use std::time::Instant;

fn main() {
    let [endpoint, size, count] =
        common::args::<3>("local_thr <bind-to> <message-size> <message-count>");
    let size = common::number(&size, "message size");
    let count = common::number(&count, "message count");
    let ctx = zmq_rs::Context::new();
    let socket = ctx
        .socket(zmq_rs::PULL)
        .unwrap_or_else(|e| common::fail("zmq_socket", e));
    if let Some(hwm) = common::hwm_from_env("PERF_RCVHWM") {
        socket
            .set_rcvhwm(hwm)
            .unwrap_or_else(|e| common::fail("zmq_setsockopt", e));
    }
    socket
        .bind(&endpoint)
        .unwrap_or_else(|e| common::fail("zmq_bind", e));
    let mut msg = zmq_rs::Message::new();
    common::recv_sized(&socket, &mut msg, size);
    let start = Instant::now();
    for _ in 1..count {
        common::recv_sized(&socket, &mut msg, size);
    }
    common::print_thr(size, count, start.elapsed());
}
