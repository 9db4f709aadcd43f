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
    let mut msg = zmq_rs::Message::new();
    for _ in 0..roundtrips {
        common::recv_sized(&socket, &mut msg, size);
        socket
            .send(std::mem::take(&mut msg), 0)
            .unwrap_or_else(|e| common::fail("zmq_msg_send", e));
    }
}
