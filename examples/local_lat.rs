//! `local_lat <bind-to> <message-size> <roundtrip-count>`: libzmq's latency echo server.
//! A REP socket binds and sends every request back.

#[path = "perf/common.rs"]
mod common;

fn main() {
    let [endpoint, size, roundtrips] =
        common::args::<3>("local_lat <bind-to> <message-size> <roundtrip-count>");
    let size = common::number(&size, "message size");
    let roundtrips = common::number(&roundtrips, "roundtrip count");
    let ctx = zmq_rs::Context::new();
    let socket = ctx
        .socket(zmq_rs::REP)
        .unwrap_or_else(|e| common::fail("zmq_socket", e));
    socket
        .bind(&endpoint)
        .unwrap_or_else(|e| common::fail("zmq_bind", e));
    for _ in 0..roundtrips {
        let msg = common::recv_sized(&socket, size);
        socket
            .send(msg, 0)
            .unwrap_or_else(|e| common::fail("zmq_msg_send", e));
    }
}
