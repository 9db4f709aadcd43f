//! `fanout_thr [ours|libzmq] [SUBSCRIBERS] [MESSAGES] [SIZE]`: one PUB to N SUBs over tcp
//! loopback in one process (defaults 10 subscribers, 200,000 messages of 64 octets). It times
//! the delivery of every message to every subscriber and prints messages per second published
//! and delivered. The same code runs on zmq-rs or on libzmq (the `zmq` crate), for a
//! side-by-side figure.

use std::time::{Duration, Instant};

/// What both implementations need for this benchmark.
trait Sock: Send + 'static {
    fn send_bytes(&self, data: &[u8]);
    fn recv_len(&self) -> usize;
}

impl Sock for zmq_rs::Socket {
    fn send_bytes(&self, data: &[u8]) {
        self.send(data, 0).expect("send");
    }
    fn recv_len(&self) -> usize {
        self.recv_msg(0).expect("recv").len()
    }
}

impl Sock for zmq::Socket {
    fn send_bytes(&self, data: &[u8]) {
        self.send(data, 0).expect("send");
    }
    fn recv_len(&self) -> usize {
        self.recv_bytes(0).expect("recv").len()
    }
}

fn run<S: Sock>(publisher: S, subscribers: Vec<S>, messages: usize, size: usize) -> Duration {
    // Subscriptions travel asynchronously: publish a marker until every subscriber sees one.
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|s| {
            std::thread::spawn(move || {
                while s.recv_len() != 1 {}
                let mut n = 0;
                while n < messages {
                    if s.recv_len() == size {
                        n += 1;
                    }
                }
            })
        })
        .collect();
    let payload = vec![b'x'; size];
    for _ in 0..50 {
        publisher.send_bytes(b"!");
        std::thread::sleep(Duration::from_millis(10));
    }
    let start = Instant::now();
    for _ in 0..messages {
        publisher.send_bytes(&payload);
    }
    for r in readers {
        r.join().expect("subscriber");
    }
    start.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("ours", String::as_str).to_owned();
    let subs: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(10);
    let messages: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let size: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(64);
    // High-water marks large enough that nothing is dropped: the figure is throughput.
    let hwm = i32::try_from(messages + 100).unwrap_or(i32::MAX);
    let elapsed = if which == "libzmq" {
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB).expect("pub");
        publisher.set_sndhwm(hwm).expect("hwm");
        publisher.bind("tcp://127.0.0.1:*").expect("bind");
        let ep = publisher
            .get_last_endpoint()
            .expect("endpoint")
            .expect("utf-8");
        let subscribers = (0..subs)
            .map(|_| {
                let s = ctx.socket(zmq::SUB).expect("sub");
                s.set_rcvhwm(hwm).expect("hwm");
                s.set_subscribe(b"").expect("subscribe");
                s.connect(&ep).expect("connect");
                s
            })
            .collect();
        run(publisher, subscribers, messages, size)
    } else {
        let ctx = zmq_rs::Context::new();
        let publisher = ctx.socket(zmq_rs::PUB).expect("pub");
        publisher.set_sndhwm(hwm).expect("hwm");
        publisher.bind("tcp://127.0.0.1:*").expect("bind");
        let ep = publisher.get_last_endpoint().expect("endpoint");
        let subscribers = (0..subs)
            .map(|_| {
                let s = ctx.socket(zmq_rs::SUB).expect("sub");
                s.set_rcvhwm(hwm).expect("hwm");
                s.set_subscribe(b"").expect("subscribe");
                s.connect(&ep).expect("connect");
                s
            })
            .collect();
        run(publisher, subscribers, messages, size)
    };
    let secs = elapsed.as_secs_f64();
    println!("implementation: {which}");
    println!("subscribers: {subs}, messages: {messages} of {size} octets");
    println!("published: {:.0} [msg/s]", messages as f64 / secs);
    println!("delivered: {:.0} [msg/s]", (messages * subs) as f64 / secs);
}
