//! `inproc_lat <message-size> <roundtrip-count>`: latency over inproc in one process, a REP
//! thread echoing to a REQ socket; prints as `remote_lat`.

#[path = "perf/common.rs"]
mod common;

use std::time::Instant;

fn main() {
    let [size, roundtrips] = common::args::<2>("inproc_lat <message-size> <roundtrip-count>");
    let size = common::number(&size, "message size");
    let roundtrips = common::number(&roundtrips, "roundtrip count");
    let ctx = zmq_rs::Context::new();
    let rep = ctx
        .socket(zmq_rs::REP)
        .unwrap_or_else(|e| common::fail("server setup", e));
    rep.bind("inproc://perf_lat")
        .unwrap_or_else(|e| common::fail("server setup", e));
    let echo = std::thread::spawn(move || {
        let mut msg = zmq_rs::Message::new();
        for _ in 0..roundtrips {
            common::recv_sized(&rep, &mut msg, size);
            rep.send(std::mem::take(&mut msg), 0)
                .unwrap_or_else(|e| common::fail("zmq_msg_send", e));
        }
    });
    let req = ctx
        .socket(zmq_rs::REQ)
        .unwrap_or_else(|e| common::fail("client setup", e));
    req.connect("inproc://perf_lat")
        .unwrap_or_else(|e| common::fail("client setup", e));
    let mut reply = zmq_rs::Message::new();
    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send(common::message(size), 0)
            .unwrap_or_else(|e| common::fail("zmq_msg_send", e));
        common::recv_sized(&req, &mut reply, size);
    }
    common::print_lat(size, roundtrips, start.elapsed());
    echo.join()
        .unwrap_or_else(|_| common::fail("pthread_join", "echo panicked"));
}
