//! `remote_thr <connect-to> <message-size> <message-count>`: libzmq's throughput sender.
//! A PUSH socket connects and sends as fast as it can; closing waits until all is delivered.

#[path = "perf/common.rs"]
mod common;

fn main() {
    let [endpoint, size, count] =
        common::args::<3>("remote_thr <connect-to> <message-size> <message-count>");
    let size = common::number(&size, "message size");
    let count = common::number(&count, "message count");
    let ctx = zmq_rs::Context::new();
    let socket = ctx
        .socket(zmq_rs::PUSH)
        .unwrap_or_else(|e| common::fail("zmq_socket", e));
    if let Some(hwm) = common::hwm_from_env("PERF_SNDHWM") {
        socket
            .set_sndhwm(hwm)
            .unwrap_or_else(|e| common::fail("zmq_setsockopt", e));
    }
    socket
        .connect(&endpoint)
        .unwrap_or_else(|e| common::fail("zmq_connect", e));
    for _ in 0..count {
        socket
            .send(common::message(size), 0)
            .unwrap_or_else(|e| common::fail("zmq_msg_send", e));
    }
    // Dropping the socket and the context waits (LINGER -1) until the queue has drained.
}
