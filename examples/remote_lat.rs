//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: libzmq's latency client.
//! A REQ socket connects, times the round trips and prints half of the average.

#[path = "perf/common.rs"]
mod common;

use std::time::Instant;

fn main() {
    let [endpoint, size, roundtrips] =
        common::args::<3>("remote_lat <connect-to> <message-size> <roundtrip-count>");
    let size = common::number(&size, "message size");
    let roundtrips = common::number(&roundtrips, "roundtrip count");
    let ctx = zmq_rs::Context::new();
    let socket = ctx
        .socket(zmq_rs::REQ)
        .unwrap_or_else(|e| common::fail("zmq_socket", e));
    socket
        .connect(&endpoint)
        .unwrap_or_else(|e| common::fail("zmq_connect", e));
    let mut reply = zmq_rs::Message::new();
    let start = Instant::now();
    for _ in 0..roundtrips {
        socket
            .send(common::message(size), 0)
            .unwrap_or_else(|e| common::fail("zmq_msg_send", e));
        common::recv_sized(&socket, &mut reply, size);
    }
    common::print_lat(size, roundtrips, start.elapsed());
}
