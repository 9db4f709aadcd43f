//! `proxy` and `proxy_steerable` (libzmq's `zmq_proxy`, `zmq_proxy_steerable`): ROUTER-DEALER,
//! XSUB-XPUB (subscriptions flow upstream) and PULL-PUSH, with a capture socket and the
//! control commands.

mod common;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Both;
use zmq_rs::{Context, Socket};

const TIMEOUT_MS: i32 = 5000;

fn bound(ctx: &Context, t: zmq_rs::SocketType) -> (Socket, String) {
    let s = ctx.socket(t).expect("socket");
    s.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    s.set_sndtimeo(TIMEOUT_MS).expect("sndtimeo");
    s.bind("tcp://127.0.0.1:*").expect("bind");
    let ep = s.get_last_endpoint().expect("endpoint");
    (s, ep)
}

/// Runs a steerable proxy in a thread; the returned PAIR steers it.
fn steer(
    ctx: &Context,
    frontend: Socket,
    backend: Socket,
    capture: Option<Socket>,
    name: &str,
) -> (Socket, JoinHandle<zmq_rs::Result<()>>) {
    let endpoint = format!("inproc://proxy-control-{name}");
    let control = ctx.socket(zmq_rs::PAIR).expect("control");
    control.bind(&endpoint).expect("control bind");
    let steering = ctx.socket(zmq_rs::PAIR).expect("steering");
    steering.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    steering.connect(&endpoint).expect("steering connect");
    let proxy = std::thread::spawn(move || {
        zmq_rs::proxy_steerable(&frontend, &backend, capture.as_ref(), &control)
    });
    (steering, proxy)
}

#[test]
fn pull_push_streamer_relays_in_order_and_captures_every_message() {
    let ctx = Context::new();
    let (frontend, front_ep) = bound(&ctx, zmq_rs::PULL);
    let (backend, back_ep) = bound(&ctx, zmq_rs::PUSH);
    let capture = ctx.socket(zmq_rs::PUSH).expect("capture");
    capture
        .bind("inproc://streamer-capture")
        .expect("capture bind");
    let captured = ctx.socket(zmq_rs::PULL).expect("captured");
    captured.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    captured
        .connect("inproc://streamer-capture")
        .expect("connect");
    let (steering, proxy) = steer(&ctx, frontend, backend, Some(capture), "streamer");

    let producer = ctx.socket(zmq_rs::PUSH).expect("producer");
    producer.connect(&front_ep).expect("connect");
    let consumer = ctx.socket(zmq_rs::PULL).expect("consumer");
    consumer.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    consumer.connect(&back_ep).expect("connect");
    for i in 0..100u32 {
        producer
            .send_multipart([&b"job"[..], &i.to_be_bytes()], 0)
            .expect("send");
    }
    for i in 0..100u32 {
        let job = consumer.recv_multipart(0).expect("relayed");
        assert_eq!(job, [b"job".to_vec(), i.to_be_bytes().to_vec()]);
        assert_eq!(captured.recv_multipart(0).expect("captured"), job);
    }
    steering.send("TERMINATE", 0).expect("terminate");
    proxy
        .join()
        .expect("proxy thread")
        .expect("TERMINATE returns Ok");
}

#[test]
fn steerable_proxy_pauses_resumes_and_reports_statistics() {
    let ctx = Context::new();
    let (frontend, front_ep) = bound(&ctx, zmq_rs::PULL);
    let (backend, back_ep) = bound(&ctx, zmq_rs::PUSH);
    let (steering, proxy) = steer(&ctx, frontend, backend, None, "steered");
    let producer = ctx.socket(zmq_rs::PUSH).expect("producer");
    producer.connect(&front_ep).expect("connect");
    let consumer = ctx.socket(zmq_rs::PULL).expect("consumer");
    consumer.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    consumer.connect(&back_ep).expect("connect");

    producer.send("before", 0).expect("send");
    assert_eq!(consumer.recv_bytes(0).expect("relayed"), b"before");

    steering.send("PAUSE", 0).expect("pause");
    // The command is taken before the next message: give the proxy a moment to see it.
    std::thread::sleep(Duration::from_millis(100));
    producer.send("while paused", 0).expect("send");
    consumer.set_rcvtimeo(300).expect("rcvtimeo");
    assert!(
        consumer.recv_bytes(0).is_err(),
        "nothing relayed while paused"
    );

    steering.send("RESUME", 0).expect("resume");
    consumer.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    assert_eq!(consumer.recv_bytes(0).expect("relayed"), b"while paused");

    // STATISTICS: eight 8-octet counters, frontend then backend (libzmq's order).
    steering.send("STATISTICS", 0).expect("statistics");
    let stats = steering.recv_multipart(0).expect("statistics reply");
    assert_eq!(stats.len(), 8);
    let value = |i: usize| u64::from_ne_bytes(stats[i].as_slice().try_into().expect("8 octets"));
    assert_eq!(value(0), 2, "frontend messages in");
    assert_eq!(value(1), 18, "frontend bytes in");
    assert_eq!(value(6), 2, "backend messages out");
    assert_eq!(value(7), 18, "backend bytes out");

    steering.send("TERMINATE", 0).expect("terminate");
    proxy
        .join()
        .expect("proxy thread")
        .expect("TERMINATE returns Ok");
}

#[test]
fn router_dealer_broker_serves_libzmq_clients_with_libzmq_workers() {
    let both = Both::new();
    let (frontend, front_ep) = bound(&both.ours, zmq_rs::ROUTER);
    let (backend, back_ep) = bound(&both.ours, zmq_rs::DEALER);
    let (steering, proxy) = steer(&both.ours, frontend, backend, None, "broker");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<JoinHandle<()>> = (0..2)
        .map(|w| {
            let worker = both.theirs(zmq_rs::REP, 50);
            worker.connect(&back_ep).expect("worker connect");
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let Ok(request) = worker.recv_bytes(0) else {
                        continue;
                    };
                    let mut reply = request.clone();
                    reply.extend_from_slice(format!(" by worker {w}").as_bytes());
                    worker.send(reply, 0).expect("reply");
                }
            })
        })
        .collect();
    for c in 0..4 {
        let client = both.theirs(zmq_rs::REQ, TIMEOUT_MS);
        client.connect(&front_ep).expect("client connect");
        for r in 0..3 {
            let request = format!("client {c} request {r}");
            client.send(request.as_bytes(), 0).expect("request");
            let reply = client.recv_string(0).expect("reply").expect("utf-8");
            assert!(reply.starts_with(&request), "{reply}");
        }
    }
    steering.send("TERMINATE", 0).expect("terminate");
    proxy
        .join()
        .expect("proxy thread")
        .expect("TERMINATE returns Ok");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
}

#[test]
fn xsub_xpub_forwarder_carries_subscriptions_up_and_updates_down_between_libzmq_peers() {
    let both = Both::new();
    let publisher = both.theirs(zmq_rs::PUB, TIMEOUT_MS);
    publisher.bind("tcp://127.0.0.1:*").expect("publisher bind");
    let pub_ep = publisher
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let upstream = both.ours.socket(zmq_rs::XSUB).expect("xsub");
    upstream.connect(&pub_ep).expect("connect upstream");
    let (downstream, sub_ep) = bound(&both.ours, zmq_rs::XPUB);
    let (steering, proxy) = steer(&both.ours, upstream, downstream, None, "forwarder");
    let subscribers: Vec<zmq::Socket> = ["weather", "sport"]
        .iter()
        .map(|topic| {
            let s = both.theirs(zmq_rs::SUB, 20);
            s.set_subscribe(topic.as_bytes()).expect("subscribe");
            s.connect(&sub_ep).expect("connect");
            s
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = [false, false];
    while !(got[0] && got[1]) {
        assert!(Instant::now() < deadline, "updates never arrived: {got:?}");
        publisher.send("weather: sunny", 0).expect("publish");
        publisher.send("sport: 2-1", 0).expect("publish");
        publisher.send("gossip: none", 0).expect("publish");
        for (i, s) in subscribers.iter().enumerate() {
            while let Ok(update) = s.recv_string(0) {
                let update = update.expect("utf-8");
                let topic = ["weather", "sport"][i];
                assert!(
                    update.starts_with(topic),
                    "{update} reached the {topic} subscriber"
                );
                got[i] = true;
            }
        }
    }
    steering.send("TERMINATE", 0).expect("terminate");
    proxy
        .join()
        .expect("proxy thread")
        .expect("TERMINATE returns Ok");
}
