//! Interoperability with libzmq 4.3 (the `zmq` crate, which builds libzmq from source).
//!
//! Every standard socket pair of RFC 28-31 is exercised over tcp and ipc, with our socket on
//! either side of the pair and either binding or connecting: libzmq is the judge of the wire.

mod common;

use std::time::{Duration, Instant};

use common::{Both, Peer, Transport, endpoint_for};

const TIMEOUT_MS: i32 = 5000;

/// A socket from either implementation, driven through the same few calls.
trait Sock {
    fn bind_any(&self, transport: Transport) -> String;
    fn connect_to(&self, endpoint: &str);
    fn send_parts(&self, parts: &[&[u8]]);
    fn recv_parts(&self) -> Option<Vec<Vec<u8>>>;
    /// Receives without waiting.
    fn try_recv_parts(&self) -> Option<Vec<Vec<u8>>>;
    fn subscribe(&self, prefix: &[u8]);
}

impl Sock for zmq_rs::Socket {
    fn bind_any(&self, transport: Transport) -> String {
        self.bind(&endpoint_for(transport)).expect("bind");
        self.get_last_endpoint().expect("last endpoint")
    }
    fn connect_to(&self, endpoint: &str) {
        self.connect(endpoint).expect("connect");
    }
    fn send_parts(&self, parts: &[&[u8]]) {
        self.send_multipart(parts.iter().copied(), 0).expect("send");
    }
    fn recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        match self.recv_multipart(0) {
            Ok(parts) => Some(parts),
            Err(zmq_rs::Error::WouldBlock) => None,
            Err(e) => panic!("recv failed: {e}"),
        }
    }
    fn try_recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        match self.recv_multipart(zmq_rs::DONTWAIT) {
            Ok(parts) => Some(parts),
            Err(zmq_rs::Error::WouldBlock) => None,
            Err(e) => panic!("recv failed: {e}"),
        }
    }
    fn subscribe(&self, prefix: &[u8]) {
        self.set_subscribe(prefix).expect("subscribe");
    }
}

impl Sock for zmq::Socket {
    fn bind_any(&self, transport: Transport) -> String {
        self.bind(&endpoint_for(transport)).expect("libzmq bind");
        self.get_last_endpoint()
            .expect("libzmq last endpoint")
            .expect("utf-8 endpoint")
    }
    fn connect_to(&self, endpoint: &str) {
        self.connect(endpoint).expect("libzmq connect");
    }
    fn send_parts(&self, parts: &[&[u8]]) {
        self.send_multipart(parts.iter().copied(), 0)
            .expect("libzmq send");
    }
    fn recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        match self.recv_multipart(0) {
            Ok(parts) => Some(parts),
            Err(zmq::Error::EAGAIN) => None,
            Err(e) => panic!("libzmq recv failed: {e}"),
        }
    }
    fn try_recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        match self.recv_multipart(zmq::DONTWAIT) {
            Ok(parts) => Some(parts),
            Err(zmq::Error::EAGAIN) => None,
            Err(e) => panic!("libzmq recv failed: {e}"),
        }
    }
    fn subscribe(&self, prefix: &[u8]) {
        self.set_subscribe(prefix).expect("libzmq subscribe");
    }
}

/// Makes our socket of type `ours` and libzmq's of type `theirs`, joins them (`who_binds`
/// decides), and runs `scenario(a, b)` where `a` has type `a_type` of the pair.
fn run_pair(
    a_type: zmq_rs::SocketType,
    b_type: zmq_rs::SocketType,
    scenario: fn(&dyn Sock, &dyn Sock),
) {
    for transport in [Transport::Tcp, Transport::Ipc] {
        for ours in [Peer::A, Peer::B] {
            for binder in [Peer::A, Peer::B] {
                let label = format!(
                    "{a_type}-{b_type} over {transport:?}, ours is {ours:?}, {binder:?} binds"
                );
                let both = Both::new();
                let (a, b): (Box<dyn Sock>, Box<dyn Sock>) = match ours {
                    Peer::A => (
                        Box::new(both.ours(a_type, TIMEOUT_MS)),
                        Box::new(both.theirs(b_type, TIMEOUT_MS)),
                    ),
                    Peer::B => (
                        Box::new(both.theirs(a_type, TIMEOUT_MS)),
                        Box::new(both.ours(b_type, TIMEOUT_MS)),
                    ),
                };
                match binder {
                    Peer::A => {
                        let ep = a.bind_any(transport);
                        b.connect_to(&ep);
                    }
                    Peer::B => {
                        let ep = b.bind_any(transport);
                        a.connect_to(&ep);
                    }
                }
                let started = Instant::now();
                eprintln!("{label}");
                scenario(a.as_ref(), b.as_ref());
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "{label} too slow"
                );
            }
        }
    }
}

/// RFC 28: REQ prepends the delimiter, REP strips it and restores it on the reply; multipart
/// requests and empty frames survive both ways.
fn request_reply(req: &dyn Sock, rep: &dyn Sock) {
    for round in 0..3u8 {
        req.send_parts(&[b"hello", &[round], b""]);
        let got = rep.recv_parts().expect("request");
        assert_eq!(got, vec![b"hello".to_vec(), vec![round], vec![]]);
        rep.send_parts(&[b"world", &[round]]);
        let got = req.recv_parts().expect("reply");
        assert_eq!(got, vec![b"world".to_vec(), vec![round]]);
    }
}

/// RFC 28: a ROUTER sees [routing id, "", body] from a REQ and routes the reply by that id.
fn req_router(req: &dyn Sock, router: &dyn Sock) {
    req.send_parts(&[b"hello"]);
    let got = router.recv_parts().expect("request at router");
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[1].is_empty());
    assert_eq!(got[2], b"hello");
    router.send_parts(&[&got[0], b"", b"world"]);
    assert_eq!(req.recv_parts().expect("reply"), vec![b"world".to_vec()]);
}

/// RFC 28: a DEALER talking to a REP must send the delimiter itself.
fn dealer_rep(dealer: &dyn Sock, rep: &dyn Sock) {
    dealer.send_parts(&[b"", b"job"]);
    assert_eq!(rep.recv_parts().expect("request"), vec![b"job".to_vec()]);
    rep.send_parts(&[b"done"]);
    assert_eq!(
        dealer.recv_parts().expect("reply"),
        vec![b"".to_vec(), b"done".to_vec()]
    );
}

/// RFC 28: DEALER to ROUTER, no envelope rules; a 1 MiB frame crosses intact.
fn dealer_router(dealer: &dyn Sock, router: &dyn Sock) {
    let big = vec![0xA5u8; 1 << 20];
    dealer.send_parts(&[b"small", &big]);
    let got = router.recv_parts().expect("at router");
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], b"small");
    assert_eq!(got[2], big);
    router.send_parts(&[&got[0], b"back"]);
    assert_eq!(dealer.recv_parts().expect("reply"), vec![b"back".to_vec()]);
}

/// DEALER to DEALER: both ways, in order.
fn dealer_dealer(a: &dyn Sock, b: &dyn Sock) {
    for i in 0..10u8 {
        a.send_parts(&[&[i]]);
    }
    for i in 0..10u8 {
        assert_eq!(b.recv_parts().expect("a to b"), vec![vec![i]]);
    }
    b.send_parts(&[b"x", b"y"]);
    assert_eq!(
        a.recv_parts().expect("b to a"),
        vec![b"x".to_vec(), b"y".to_vec()]
    );
}

/// RFC 30: PUSH to PULL delivers every message once, in order.
fn push_pull(push: &dyn Sock, pull: &dyn Sock) {
    for i in 0..100u32 {
        push.send_parts(&[&i.to_be_bytes()]);
    }
    for i in 0..100u32 {
        assert_eq!(
            pull.recv_parts().expect("message"),
            vec![i.to_be_bytes().to_vec()]
        );
    }
}

/// RFC 23 framing across the sizes our queue packs and those it does not: short and long
/// frames (255/256 octets), messages just under and over the packing limit, multipart
/// messages and empty frames, interleaved, arrive whole and in order either way.
fn push_pull_mixed_sizes(push: &dyn Sock, pull: &dyn Sock) {
    let limit = zmtp_proto::PACKED_MESSAGE_MAX;
    let sizes = [
        0,
        1,
        255,
        256,
        limit - 1,
        limit,
        limit + 1,
        4096,
        70_000,
        64,
    ];
    let messages: Vec<Vec<Vec<u8>>> = (0..200usize)
        .map(|i| {
            let size = sizes[i % sizes.len()];
            let body = vec![(i % 251) as u8; size];
            match i % 3 {
                0 => vec![body],
                1 => vec![(i as u32).to_be_bytes().to_vec(), vec![], body],
                _ => vec![body.clone(), body],
            }
        })
        .collect();
    for m in &messages {
        let parts: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        push.send_parts(&parts);
    }
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(&pull.recv_parts().expect("message"), m, "message {i}");
    }
}

/// RFC 31: PAIR both ways.
fn pair_pair(a: &dyn Sock, b: &dyn Sock) {
    a.send_parts(&[b"ping"]);
    assert_eq!(b.recv_parts().expect("ping"), vec![b"ping".to_vec()]);
    b.send_parts(&[b"pong", b""]);
    assert_eq!(
        a.recv_parts().expect("pong"),
        vec![b"pong".to_vec(), vec![]]
    );
}

/// Publishes `topic` messages until the subscriber sees one (subscriptions travel
/// asynchronously: the "slow joiner"), then checks filtering on a fresh pair of messages.
fn publish_until_seen(publisher: &dyn Sock, subscriber: &dyn Sock) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        publisher.send_parts(&[b"other.warmup"]);
        publisher.send_parts(&[b"news.warmup"]);
        std::thread::sleep(Duration::from_millis(5));
        if let Some(got) = subscriber.try_recv_parts() {
            assert_eq!(got, vec![b"news.warmup".to_vec()], "filtering failed");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "subscription never reached the publisher"
        );
    }
    publisher.send_parts(&[b"other.final"]);
    publisher.send_parts(&[b"news.final", b"second frame"]);
    loop {
        let got = subscriber.recv_parts().expect("final message");
        if got == vec![b"news.warmup".to_vec()] {
            continue;
        }
        assert_eq!(got, vec![b"news.final".to_vec(), b"second frame".to_vec()]);
        break;
    }
}

/// RFC 29: SUB filters by prefix; the publisher drops what nobody subscribed to.
fn pub_sub(publisher: &dyn Sock, subscriber: &dyn Sock) {
    subscriber.subscribe(b"news");
    publish_until_seen(publisher, subscriber);
}

/// Waits for `expected` at the XPUB. libzmq attaches a newly accepted pipe to its socket only
/// when that socket next processes commands (in a send or a receive), and only then replays
/// its subscriptions to it, so the subscriber side is polled meanwhile.
fn expect_subscription(xpub: &dyn Sock, subscriber: &dyn Sock, expected: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(got) = xpub.try_recv_parts() {
            assert_eq!(got, vec![expected.to_vec()]);
            return;
        }
        assert!(
            subscriber.try_recv_parts().is_none(),
            "nothing was published yet"
        );
        assert!(
            Instant::now() < deadline,
            "the subscription never reached the XPUB"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// RFC 29: an XSUB sends subscriptions as messages; an XPUB shows them to the application.
fn xpub_xsub(xpub: &dyn Sock, xsub: &dyn Sock) {
    xsub.send_parts(&[b"\x01news"]);
    expect_subscription(xpub, xsub, b"\x01news");
    publish_until_seen(xpub, xsub);
}

/// PUB to XSUB: the XSUB application subscribes by sending 0x01 + prefix.
fn pub_xsub(publisher: &dyn Sock, xsub: &dyn Sock) {
    xsub.send_parts(&[b"\x01news"]);
    publish_until_seen(publisher, xsub);
}

/// XPUB to SUB: the subscription arrives at the XPUB application.
fn xpub_sub(xpub: &dyn Sock, subscriber: &dyn Sock) {
    subscriber.subscribe(b"news");
    expect_subscription(xpub, subscriber, b"\x01news");
    publish_until_seen(xpub, subscriber);
}

#[test]
fn req_rep_interop() {
    run_pair(zmq_rs::REQ, zmq_rs::REP, request_reply);
}

#[test]
fn req_router_interop() {
    run_pair(zmq_rs::REQ, zmq_rs::ROUTER, req_router);
}

#[test]
fn dealer_rep_interop() {
    run_pair(zmq_rs::DEALER, zmq_rs::REP, dealer_rep);
}

#[test]
fn dealer_router_interop() {
    run_pair(zmq_rs::DEALER, zmq_rs::ROUTER, dealer_router);
}

#[test]
fn dealer_dealer_interop() {
    run_pair(zmq_rs::DEALER, zmq_rs::DEALER, dealer_dealer);
}

#[test]
fn push_pull_interop() {
    run_pair(zmq_rs::PUSH, zmq_rs::PULL, push_pull);
}

#[test]
fn push_pull_mixed_sizes_interop() {
    run_pair(zmq_rs::PUSH, zmq_rs::PULL, push_pull_mixed_sizes);
}

#[test]
fn pair_pair_interop() {
    run_pair(zmq_rs::PAIR, zmq_rs::PAIR, pair_pair);
}

#[test]
fn pub_sub_interop() {
    run_pair(zmq_rs::PUB, zmq_rs::SUB, pub_sub);
}

#[test]
fn xpub_xsub_interop() {
    run_pair(zmq_rs::XPUB, zmq_rs::XSUB, xpub_xsub);
}

#[test]
fn pub_xsub_interop() {
    run_pair(zmq_rs::PUB, zmq_rs::XSUB, pub_xsub);
}

#[test]
fn xpub_sub_interop() {
    run_pair(zmq_rs::XPUB, zmq_rs::SUB, xpub_sub);
}

/// STREAM talks raw TCP: ours connecting to libzmq's, each side sees the other's bytes under
/// a routing id, after an empty connect notification.
#[test]
fn stream_interop_raw_bytes_both_ways() {
    let both = Both::new();
    let theirs = both.theirs(zmq_rs::STREAM, TIMEOUT_MS);
    let endpoint = theirs.bind_any(Transport::Tcp);
    let ours = both.ours(zmq_rs::STREAM, TIMEOUT_MS);
    ours.connect(&endpoint).expect("connect");
    let our_view = ours.recv_multipart(0).expect("our connect notification");
    assert!(our_view[1].is_empty());
    let their_view = theirs
        .recv_multipart(0)
        .expect("libzmq connect notification");
    assert!(their_view[1].is_empty());
    ours.send_multipart([our_view[0].clone(), b"from us".to_vec()], 0)
        .expect("send");
    let got = theirs.recv_multipart(0).expect("at libzmq");
    assert_eq!(got, vec![their_view[0].clone(), b"from us".to_vec()]);
    theirs
        .send_multipart([their_view[0].clone(), b"from libzmq".to_vec()], 0)
        .expect("libzmq send");
    let got = ours.recv_multipart(0).expect("at ours");
    assert_eq!(got, vec![our_view[0].clone(), b"from libzmq".to_vec()]);
}
