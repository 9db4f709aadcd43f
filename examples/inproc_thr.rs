//! `inproc_thr <message-size> <message-count>`: throughput over inproc in one process, a PUSH
//! thread sending to a PULL socket; prints as `local_thr`.

#[path = "perf/common.rs"]
mod common;

use std::time::Instant;

fn main() {
    let [size, count] = common::args::<2>("inproc_thr <message-size> <message-count>");
    let size = common::number(&size, "message size");
    let count = common::number(&count, "message count");
    let ctx = zmq_rs::Context::new();
    let socket = ctx
        .socket(zmq_rs::PULL)
        .unwrap_or_else(|e| common::fail("receiver setup", e));
    socket
        .bind("inproc://perf_thr")
        .unwrap_or_else(|e| common::fail("receiver setup", e));
    let sender_ctx = ctx.clone();
    let sender = std::thread::spawn(move || {
        let socket = sender_ctx
            .socket(zmq_rs::PUSH)
            .unwrap_or_else(|e| common::fail("sender setup", e));
        socket
            .connect("inproc://perf_thr")
            .unwrap_or_else(|e| common::fail("sender setup", e));
        for _ in 0..count {
            socket
                .send(common::message(size), 0)
                .unwrap_or_else(|e| common::fail("zmq_msg_send", e));
        }
    });
    let mut msg = zmq_rs::Message::new();
    common::recv_sized(&socket, &mut msg, size);
    let start = Instant::now();
    for _ in 1..count {
        common::recv_sized(&socket, &mut msg, size);
    }
    let elapsed = start.elapsed();
    sender
        .join()
        .unwrap_or_else(|_| common::fail("pthread_join", "sender panicked"));
    common::print_thr(size, count, elapsed);
}
