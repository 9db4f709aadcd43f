//! The inproc lane: a PUSH, PAIR or DEALER whose one peer is an inproc link queues one-frame
//! messages beside its machine and hands them over in batches. Whatever path a message takes,
//! what a user sees is what libzmq's inproc pipe gives: every message, in order (RFC 30), no
//! more queued than SNDHWM plus RCVHWM, load-balancing as soon as a second peer comes (RFC
//! 28), and nothing lost when the sender closes.
//!
//! Each test first streams a few hundred messages, as an application does: the lane opens
//! once the socket has staged its machine's queue empty, which takes a few dozen sends.

use std::time::{Duration, Instant};

use zmq_rs::{Context, DONTWAIT, SNDMORE, Socket, SocketType};

fn socket(ctx: &Context, kind: SocketType, hwm: i32) -> Socket {
    let s = ctx.socket(kind).expect("socket");
    s.set_sndhwm(hwm).expect("sndhwm");
    s.set_rcvhwm(hwm).expect("rcvhwm");
    s.set_rcvtimeo(5000).expect("rcvtimeo");
    s.set_sndtimeo(5000).expect("sndtimeo");
    s
}

/// A PUSH connected to a PULL bound at `name`, both with high-water marks of `hwm`, after
/// `WARM_UP` messages went from one to the other.
fn streaming_push_pull(ctx: &Context, name: &str, hwm: i32) -> (Socket, Socket) {
    let pull = socket(ctx, zmq_rs::PULL, hwm);
    pull.bind(name).expect("bind");
    let push = socket(ctx, zmq_rs::PUSH, hwm);
    push.connect(name).expect("connect");
    warm_up(&push, &pull);
    (push, pull)
}

const WARM_UP: u32 = 200;

fn warm_up(sender: &Socket, receiver: &Socket) {
    for i in 0..WARM_UP {
        sender.send(&i.to_be_bytes()[..], 0).expect("send");
        assert_eq!(
            receiver.recv_bytes(0).expect("recv"),
            i.to_be_bytes(),
            "warm-up"
        );
    }
}

fn number(frame: &[u8]) -> u32 {
    u32::from_be_bytes(frame[..4].try_into().expect("a sequence number"))
}

/// libzmq's inproc pipe takes SNDHWM + RCVHWM messages for a receiver that stops reading
/// (`faults.rs` checks that figure against libzmq itself); a stream that had been flowing
/// must not get more room than one that never did. The PULL then reads them all, in order.
#[test]
fn a_streaming_push_still_blocks_at_sndhwm_plus_rcvhwm() {
    const HWM: i32 = 10;
    let ctx = Context::new();
    let (push, pull) = streaming_push_pull(&ctx, "inproc://lane-hwm", HWM);
    let mut sent = 0u32;
    while push.send(&sent.to_be_bytes()[..], DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 10_000, "PUSH over inproc never blocks");
    }
    assert_eq!(
        sent,
        2 * HWM as u32,
        "messages taken for a PULL that stopped reading"
    );
    let got: Vec<u32> = (0..sent)
        .map(|_| number(&pull.recv_bytes(0).expect("recv")))
        .collect();
    assert_eq!(got, (0..sent).collect::<Vec<_>>(), "lost or reordered");
    assert!(pull.recv_bytes(DONTWAIT).is_err(), "more than was sent");
}

/// One-frame messages and multipart ones (which the socket's machine queues) arrive in the
/// order they were sent (RFC 30: PULL delivers a peer's messages in order), whole.
#[test]
fn one_frame_and_multipart_sends_keep_their_order() {
    let ctx = Context::new();
    let (push, pull) = streaming_push_pull(&ctx, "inproc://lane-order", 1000);
    let receiver = std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..3000 {
            let parts = pull.recv_multipart(0).expect("recv");
            got.push((number(&parts[0]), parts.len()));
        }
        got
    });
    for i in 0..3000u32 {
        if i % 7 == 3 {
            push.send(&i.to_be_bytes()[..], SNDMORE)
                .expect("first part");
            push.send("tail", 0).expect("last part");
        } else {
            push.send(&i.to_be_bytes()[..], 0).expect("send");
        }
    }
    let got = receiver.join().expect("receiver");
    let expected: Vec<(u32, usize)> = (0..3000)
        .map(|i| (i, if i % 7 == 3 { 2 } else { 1 }))
        .collect();
    assert_eq!(got, expected);
}

/// A few messages sent on the lane, with the sender doing nothing more, reach a receiver
/// that comes for them later, and one that was already asleep waiting (woken as by any
/// other send).
#[test]
fn messages_reach_the_receiver_when_the_sender_goes_quiet() {
    let ctx = Context::new();
    let (push, pull) = streaming_push_pull(&ctx, "inproc://lane-quiet", 1000);
    for i in 0..5u32 {
        push.send(&i.to_be_bytes()[..], 0).expect("send");
    }
    for i in 0..5u32 {
        assert_eq!(number(&pull.recv_bytes(0).expect("recv")), i);
    }
    let receiver = std::thread::spawn(move || {
        let start = Instant::now();
        let got = number(&pull.recv_bytes(0).expect("recv"));
        (got, start.elapsed())
    });
    // Long enough for the receiver to stop waiting awake and sleep.
    std::thread::sleep(Duration::from_millis(100));
    push.send(&7u32.to_be_bytes()[..], 0).expect("send");
    let (got, waited) = receiver.join().expect("receiver");
    assert_eq!(got, 7);
    assert!(waited < Duration::from_secs(4), "woken only by its timeout");
}

/// Messages the sender queued before it closed are still delivered (libzmq keeps what a
/// closed inproc socket sent for its peer).
#[test]
fn what_a_closed_sender_queued_is_still_received() {
    let ctx = Context::new();
    let (push, pull) = streaming_push_pull(&ctx, "inproc://lane-close", 1000);
    for i in 0..20u32 {
        push.send(&i.to_be_bytes()[..], 0).expect("send");
    }
    drop(push);
    let got: Vec<u32> = (0..20)
        .map(|_| number(&pull.recv_bytes(0).expect("recv")))
        .collect();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
}

/// A DEALER streaming to its one peer load-balances again once a second one connects (RFC
/// 28: DEALER round-robins among its peers).
#[test]
fn a_dealer_round_robins_once_a_second_peer_comes() {
    let ctx = Context::new();
    let first = socket(&ctx, zmq_rs::ROUTER, 1000);
    first.bind("inproc://lane-dealer-1").expect("bind");
    let second = socket(&ctx, zmq_rs::ROUTER, 1000);
    second.bind("inproc://lane-dealer-2").expect("bind");
    let dealer = socket(&ctx, zmq_rs::DEALER, 1000);
    dealer.connect("inproc://lane-dealer-1").expect("connect");
    for i in 0..WARM_UP {
        dealer.send(&i.to_be_bytes()[..], 0).expect("send");
        let parts = first.recv_multipart(0).expect("recv");
        assert_eq!(number(&parts[1]), i, "warm-up");
    }
    dealer.connect("inproc://lane-dealer-2").expect("connect");
    // The second link is up once a message sent through it arrives.
    let deadline = Instant::now() + Duration::from_secs(4);
    let (mut to_first, mut to_second) = (Vec::new(), Vec::new());
    let mut next = 0u32;
    while to_second.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the second peer never got a message"
        );
        dealer.send(&next.to_be_bytes()[..], 0).expect("send");
        next += 1;
        if let Ok(parts) = first.recv_multipart(DONTWAIT) {
            to_first.push(number(&parts[1]));
        }
        if let Ok(parts) = second.recv_multipart(DONTWAIT) {
            to_second.push(number(&parts[1]));
        }
    }
    for i in next..next + 20 {
        dealer.send(&i.to_be_bytes()[..], 0).expect("send");
    }
    next += 20;
    loop {
        let got_any = [(&first, &mut to_first), (&second, &mut to_second)]
            .into_iter()
            .map(|(router, into)| match router.recv_multipart(DONTWAIT) {
                Ok(parts) => {
                    into.push(number(&parts[1]));
                    true
                }
                Err(_) => false,
            })
            .fold(false, |a, b| a | b);
        if to_first.len() + to_second.len() == next as usize {
            break;
        }
        if !got_any {
            assert!(Instant::now() < deadline, "messages went missing");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // The last 20 alternate between the two peers.
    let last = next - 20..next;
    let first_got = to_first.iter().filter(|i| last.contains(i)).count();
    assert_eq!(
        first_got, 10,
        "to the first {to_first:?}, the second {to_second:?}"
    );
    for peer in [&to_first, &to_second] {
        assert!(peer.windows(2).all(|w| w[0] < w[1]), "reordered: {peer:?}");
    }
}

/// The per-peer counters count every message, however it went.
#[test]
fn peer_statistics_count_every_message() {
    let ctx = Context::new();
    let (push, pull) = streaming_push_pull(&ctx, "inproc://lane-stats", 1000);
    for i in 0..100u32 {
        push.send(&i.to_be_bytes()[..], 0).expect("send");
    }
    for _ in 0..100 {
        pull.recv_bytes(0).expect("recv");
    }
    let total = u64::from(WARM_UP) + 100;
    let ours = push.peer_stats();
    assert_eq!((ours[0].msgs_out, ours[0].bytes_out), (total, 4 * total));
    let theirs = pull.peer_stats();
    assert_eq!((theirs[0].msgs_in, theirs[0].bytes_in), (total, 4 * total));
}

/// Short-lived clients come and go while a polling ROUTER serves them: a peer's id is
/// reused once its peer is gone, and the last transfer on a closed client's link (run
/// late, or from the server's snapshot of its links) must not touch the client that took
/// the id since. It did: a client's peer vanished from the ROUTER and its request was lost
/// (the `lbbroker` example hung about once in 150 runs). RFC 28: every request gets its
/// reply.
#[test]
fn clients_coming_and_going_all_get_their_replies() {
    const CLIENTS: usize = 400;
    const AT_ONCE: usize = 4;
    let ctx = Context::new();
    let server = socket(&ctx, zmq_rs::ROUTER, 1000);
    server.bind("inproc://lane-churn").expect("bind");
    let serving = std::thread::spawn(move || {
        let mut served = 0;
        while served < CLIENTS {
            let mut items = [server.as_poll_item(zmq_rs::POLLIN)];
            assert!(
                zmq_rs::poll(&mut items, 5000).expect("poll") > 0,
                "a request went missing after {served} replies"
            );
            while let Ok(mut parts) = server.recv_multipart(DONTWAIT) {
                parts
                    .last_mut()
                    .expect("a body")
                    .extend_from_slice(b" done");
                server.send_multipart(parts, 0).expect("reply");
                served += 1;
            }
        }
    });
    let clients: Vec<_> = (0..AT_ONCE)
        .map(|t| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                for i in (t..CLIENTS).step_by(AT_ONCE) {
                    let client = socket(&ctx, zmq_rs::REQ, 1000);
                    client.set_linger(0).expect("linger");
                    client.connect("inproc://lane-churn").expect("connect");
                    let request = format!("request {i}");
                    client.send(request.as_bytes(), 0).expect("send");
                    let reply = client.recv_bytes(0).expect("a reply");
                    assert_eq!(reply, format!("{request} done").as_bytes());
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }
    serving.join().expect("the server failed");
}

/// Two DEALERs streaming to each other at once, each on its lane and each taking the
/// other's batches directly: both streams arrive whole and in order (RFC 28: DEALER to
/// DEALER is an asynchronous pair of queues).
#[test]
fn two_dealers_streaming_both_ways_at_once_lose_nothing() {
    const COUNT: u32 = 20_000;
    let ctx = Context::new();
    let left = socket(&ctx, zmq_rs::DEALER, 100);
    left.bind("inproc://lane-both-ways").expect("bind");
    let right = socket(&ctx, zmq_rs::DEALER, 100);
    right.connect("inproc://lane-both-ways").expect("connect");
    let stream = |socket: Socket| {
        std::thread::spawn(move || {
            let mut next_in = 0u32;
            for i in 0..COUNT {
                socket.send(&i.to_be_bytes()[..], 0).expect("send");
                while let Ok(got) = socket.recv_bytes(DONTWAIT) {
                    assert_eq!(number(&got), next_in, "out of order");
                    next_in += 1;
                }
            }
            while next_in < COUNT {
                assert_eq!(number(&socket.recv_bytes(0).expect("recv")), next_in);
                next_in += 1;
            }
            socket
        })
    };
    let (a, b) = (stream(left), stream(right));
    let (a, b) = (a.join().expect("left"), b.join().expect("right"));
    assert!(a.recv_bytes(DONTWAIT).is_err() && b.recv_bytes(DONTWAIT).is_err());
}

/// A ROUTER (no lane: it stages from its machine) streaming to a DEALER that takes staged
/// batches directly: every message arrives, in order (RFC 28). Without high-water marks: a
/// ROUTER drops what it routes to a full peer, as libzmq's does.
#[test]
fn a_router_streaming_to_a_dealer_loses_nothing() {
    const COUNT: u32 = 20_000;
    let ctx = Context::new();
    let router = socket(&ctx, zmq_rs::ROUTER, 0);
    router.bind("inproc://lane-router").expect("bind");
    let dealer = socket(&ctx, zmq_rs::DEALER, 0);
    dealer.set_routing_id(b"d").expect("routing id");
    dealer.connect("inproc://lane-router").expect("connect");
    dealer.send("hello", 0).expect("hello");
    assert_eq!(router.recv_multipart(0).expect("hello")[0], b"d");
    let receiver = std::thread::spawn(move || {
        for i in 0..COUNT {
            assert_eq!(
                number(&dealer.recv_bytes(0).expect("recv")),
                i,
                "out of order"
            );
        }
    });
    for i in 0..COUNT {
        router
            .send_multipart([&b"d"[..], &i.to_be_bytes()[..]], 0)
            .expect("send");
    }
    receiver.join().expect("receiver");
}

/// Three PUSHes, each on its lane, streaming to one PULL, which has several peers and so
/// takes their batches through its machine (unpacking the packed ones): every message
/// arrives, each sender's in order (RFC 30: PULL fair-queues, each peer's messages in order).
#[test]
fn several_lanes_into_one_pull_keep_each_senders_order() {
    const SENDERS: u32 = 3;
    const COUNT: u32 = 10_000;
    let ctx = Context::new();
    let pull = socket(&ctx, zmq_rs::PULL, 1000);
    pull.bind("inproc://lane-fan-in").expect("bind");
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let push = socket(&ctx, zmq_rs::PUSH, 1000);
            push.connect("inproc://lane-fan-in").expect("connect");
            std::thread::spawn(move || {
                for i in 0..COUNT {
                    push.send(&(s * COUNT + i).to_be_bytes()[..], 0)
                        .expect("send");
                }
                push
            })
        })
        .collect();
    let mut next = [0u32; SENDERS as usize];
    for _ in 0..SENDERS * COUNT {
        let n = number(&pull.recv_bytes(0).expect("recv"));
        let (sender, i) = ((n / COUNT) as usize, n % COUNT);
        assert_eq!(i, next[sender], "sender {sender} out of order");
        next[sender] += 1;
    }
    for sender in senders {
        drop(sender.join().expect("sender"));
    }
    assert!(pull.recv_bytes(DONTWAIT).is_err(), "more than was sent");
}
