//! Our sockets talking to each other over inproc, tcp and ipc: the facade's own behaviour.

mod common;

use std::time::{Duration, Instant};

use common::{Transport, endpoint_for};
use zmq_rs::{Context, DONTWAIT, Error, Message, SNDMORE, Socket, SocketType};

fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).expect("socket");
    s.set_rcvtimeo(5000).expect("rcvtimeo");
    s.set_sndtimeo(5000).expect("sndtimeo");
    s
}

fn endpoints() -> Vec<String> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    vec![
        format!("inproc://sockets-test-{n}"),
        endpoint_for(Transport::Tcp),
        endpoint_for(Transport::Ipc),
    ]
}

fn bind(s: &Socket, endpoint: &str) -> String {
    s.bind(endpoint).expect("bind");
    s.get_last_endpoint().expect("last endpoint")
}

/// A PULL bound at `endpoint` and a PUSH connected to it (RFC 30's pipeline).
fn pipeline(ctx: &Context, endpoint: &str) -> (Socket, Socket) {
    let pull = socket(ctx, zmq_rs::PULL);
    let ep = bind(&pull, endpoint);
    let push = socket(ctx, zmq_rs::PUSH);
    push.connect(&ep).expect("connect");
    (pull, push)
}

#[test]
fn push_pull_delivers_in_order_on_every_transport() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let (pull, push) = pipeline(&ctx, &endpoint);
        let ep = pull.get_last_endpoint().expect("last endpoint");
        // More than both high-water marks hold: the sender must wait for the receiver.
        let sender = std::thread::spawn(move || {
            for i in 0..10_000u32 {
                push.send(&i.to_be_bytes(), 0).expect("send");
            }
        });
        for i in 0..10_000u32 {
            assert_eq!(
                pull.recv_bytes(0)
                    .unwrap_or_else(|e| panic!("{ep} #{i}: {e}\n{}", pull.debug_state())),
                i.to_be_bytes(),
                "{ep}"
            );
        }
        sender.join().expect("sender");
    }
}

/// RFC 23's long frames, in a stream: large messages, some a little over 64 KiB and some
/// larger than a write takes at once (tcp and ipc writes are cut inside a frame, and a
/// frame's short tail goes out with the next frame's start), arrive whole, in order and
/// unaltered on every transport (RFC 30).
#[test]
fn a_stream_of_large_messages_arrives_whole_and_in_order_on_every_transport_rfc23() {
    const SIZES: [usize; 5] = [65_536, 65_537, 131_000, 200_003, 70_000];
    let body = |i: usize| -> Vec<u8> {
        let size = SIZES[i % SIZES.len()];
        (0..size)
            .map(|at| (at.wrapping_mul(31) ^ i) as u8)
            .collect()
    };
    for endpoint in endpoints() {
        let ctx = Context::new();
        let (pull, push) = pipeline(&ctx, &endpoint);
        let ep = pull.get_last_endpoint().expect("last endpoint");
        let sender = std::thread::spawn(move || {
            for i in 0..60 {
                push.send(body(i), 0).expect("send");
            }
        });
        for i in 0..60 {
            let got = pull
                .recv_bytes(0)
                .unwrap_or_else(|e| panic!("{ep} #{i}: {e}"));
            assert!(got == body(i), "{ep}: message {i} differs");
        }
        sender.join().expect("sender");
    }
}

/// RFC 30: a PULL fair-queues several PUSH peers, each peer's messages in order. Over inproc
/// the senders' bursts and pauses race with the receiver's pulls from their links and with
/// it going to sleep; a message left behind in a sender's queue shows as a receive timing out.
#[test]
fn bursts_from_several_pushers_all_arrive_in_order_per_sender_rfc30() {
    const SENDERS: u32 = 4;
    const EACH: u32 = 5_000;
    for endpoint in endpoints() {
        let ctx = Context::new();
        let pull = socket(&ctx, zmq_rs::PULL);
        pull.set_rcvtimeo(5_000).expect("rcvtimeo");
        let ep = bind(&pull, &endpoint);
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let push = socket(&ctx, zmq_rs::PUSH);
                push.connect(&ep).expect("connect");
                std::thread::spawn(move || {
                    for seq in 0..EACH {
                        let mut body = sender.to_be_bytes().to_vec();
                        body.extend_from_slice(&seq.to_be_bytes());
                        push.send(body, 0).expect("send");
                        // Bursts of 1 to 37 messages, then a yield or a short sleep.
                        if (seq * 7 + sender) % 37 == 0 {
                            if seq % 3 == 0 {
                                std::thread::sleep(Duration::from_micros(50));
                            } else {
                                std::thread::yield_now();
                            }
                        }
                    }
                    push
                })
            })
            .collect();
        let mut next = [0u32; SENDERS as usize];
        for n in 0..SENDERS * EACH {
            let msg = pull
                .recv_bytes(0)
                .unwrap_or_else(|e| panic!("{endpoint} message #{n}: {e}, next {next:?}"));
            let sender = u32::from_be_bytes(msg[..4].try_into().expect("sender")) as usize;
            let seq = u32::from_be_bytes(msg[4..].try_into().expect("seq"));
            assert_eq!(
                seq, next[sender],
                "{endpoint}: sender {sender} out of order"
            );
            next[sender] += 1;
        }
        for sender in senders {
            drop(sender.join().expect("sender"));
        }
    }
}

/// RFC 30 (PIPELINE) with the receive loop applications write: block for the first message,
/// then drain with DONTWAIT. A message that arrived in between (here 250 ms later) must be
/// there for the non-blocking receive, whoever was reading the connection when it arrived
/// (the thread of the blocking receive keeps it for a while; see `io::direct`), and one
/// more DONTWAIT then says EAGAIN.
#[test]
fn a_dontwait_drain_after_a_blocking_recv_sees_what_arrived_meanwhile_rfc30() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let (pull, push) = pipeline(&ctx, &endpoint);
        push.send("one", 0).expect("send");
        assert_eq!(pull.recv_bytes(0).expect("one"), b"one", "{endpoint}");
        push.send("two", 0).expect("send");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(
            pull.recv_bytes(DONTWAIT).expect("two"),
            b"two",
            "{endpoint}: a message sent 250 ms ago was not there for DONTWAIT"
        );
        assert!(
            matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
            "{endpoint}"
        );
    }
}

/// RFC 30: a PULL gets everything, in order, while its receiving thread keeps switching
/// between reading its connection itself and being handed messages by the I/O thread (it
/// reads itself only while the I/O thread would sleep; here another stream in the same
/// context keeps the I/O thread busy now and then).
#[test]
fn a_receiver_switching_between_reading_itself_and_the_io_thread_loses_nothing_rfc30() {
    const BURSTS: u32 = 200;
    const BURST: u32 = 50;
    for endpoint in endpoints().into_iter().skip(1) {
        let ctx = Context::new();
        // The other stream: bursts with pauses, so the I/O thread is busy, then idle.
        let (noise_in, noise_out) = pipeline(&ctx, "tcp://127.0.0.1:*");
        let noise = std::thread::spawn(move || {
            for _ in 0..BURSTS {
                for _ in 0..BURST {
                    noise_out.send(&[0u8; 512][..], 0).expect("noise");
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let drain = std::thread::spawn(move || {
            for _ in 0..BURSTS * BURST {
                noise_in.recv_msg(0).expect("noise in");
            }
        });
        let (pull, push) = pipeline(&ctx, &endpoint);
        let sender = std::thread::spawn(move || {
            for burst in 0..BURSTS {
                for i in 0..BURST {
                    push.send(&(burst * BURST + i).to_be_bytes()[..], 0)
                        .expect("send");
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            push
        });
        for expected in 0..BURSTS * BURST {
            let msg = pull.recv_msg(0).expect("message");
            assert_eq!(&msg[..], expected.to_be_bytes(), "{endpoint}");
        }
        assert!(
            matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
            "{endpoint}: more than was sent"
        );
        drop(sender.join().expect("sender"));
        noise.join().expect("noise");
        drain.join().expect("drain");
    }
}

/// A receiver slower than its sender (RFC 30: PULL stops reading a peer whose queue is at
/// RCVHWM) that drains it with blocking receives, polls and non-blocking receives in turn:
/// its connection moves between its own thread (taken over when it drains a full queue) and
/// the I/O thread (given back for a poll), and nothing is lost, duplicated or reordered.
#[test]
fn a_slow_receiver_mixing_polls_and_receives_loses_nothing_rfc30() {
    const COUNT: u32 = 20_000;
    for endpoint in endpoints().into_iter().skip(1) {
        let ctx = Context::new();
        let pull = socket(&ctx, zmq_rs::PULL);
        pull.set_rcvhwm(50).expect("rcvhwm");
        let ep = bind(&pull, &endpoint);
        let push = socket(&ctx, zmq_rs::PUSH);
        push.set_sndhwm(50).expect("sndhwm");
        push.connect(&ep).expect("connect");
        let sender = std::thread::spawn(move || {
            for i in 0..COUNT {
                push.send(&i.to_be_bytes()[..], 0).expect("send");
            }
            push
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        for expected in 0..COUNT {
            if expected % 1000 == 0 {
                // Away a while: the queue, the connection and the kernel's buffers fill.
                std::thread::sleep(Duration::from_millis(5));
            }
            let msg = match expected % 3 {
                0 => pull.recv_msg(0).expect("recv"),
                1 => {
                    let mut items = [pull.as_poll_item(zmq_rs::POLLIN)];
                    assert_eq!(
                        zmq_rs::poll(&mut items, 5000).expect("poll"),
                        1,
                        "{endpoint}"
                    );
                    pull.recv_msg(DONTWAIT).expect("readable after the poll")
                }
                _ => loop {
                    match pull.recv_msg(DONTWAIT) {
                        Ok(msg) => break msg,
                        Err(Error::WouldBlock) => {
                            assert!(Instant::now() < deadline, "{endpoint}: stalled");
                            std::thread::yield_now();
                        }
                        Err(e) => panic!("{endpoint}: {e}"),
                    }
                },
            };
            assert_eq!(&msg[..], expected.to_be_bytes(), "{endpoint}");
        }
        assert!(
            matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
            "{endpoint}: more than was sent"
        );
        drop(sender.join().expect("sender"));
    }
}

/// `recv_into` is `zmq_msg_recv`: the frame replaces what the message held and its size comes
/// back, with the attributes `recv_msg` gives (RFC 23: MORE on every frame but the last; the
/// peer's Socket-Type as metadata); with DONTWAIT and nothing queued, EAGAIN, the message
/// untouched.
#[test]
fn recv_into_replaces_the_message_as_zmq_msg_recv_does_rfc23() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let (pull, push) = pipeline(&ctx, &endpoint);
        push.send("first", SNDMORE).expect("send");
        push.send("second part", 0).expect("send");
        push.send(vec![7u8; 300], 0).expect("send");
        let mut msg = Message::from("left over");
        assert_eq!(pull.recv_into(&mut msg, 0).expect("recv"), 5);
        assert_eq!(&msg[..], b"first");
        assert!(msg.get_more(), "{endpoint}: MORE");
        if !endpoint.starts_with("inproc") {
            assert_eq!(msg.gets("Socket-Type"), Some("PUSH"), "{endpoint}");
        }
        assert_eq!(pull.recv_into(&mut msg, 0).expect("recv"), 11);
        assert_eq!(&msg[..], b"second part");
        assert!(!msg.get_more(), "{endpoint}: MORE on the last frame");
        assert_eq!(pull.recv_into(&mut msg, 0).expect("recv"), 300);
        assert!(msg.iter().all(|&b| b == 7));
        assert!(matches!(
            pull.recv_into(&mut msg, DONTWAIT),
            Err(Error::WouldBlock)
        ));
        assert_eq!(
            msg.len(),
            300,
            "{endpoint}: a failed receive changed the message"
        );
    }
}

#[test]
fn req_rep_round_trips_on_every_transport() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let rep = socket(&ctx, zmq_rs::REP);
        let req = socket(&ctx, zmq_rs::REQ);
        let ep = bind(&rep, &endpoint);
        req.connect(&ep).expect("connect");
        for i in 0..100u32 {
            req.send(&i.to_be_bytes(), 0).expect("request");
            assert_eq!(rep.recv_bytes(0).expect("request in"), i.to_be_bytes());
            rep.send("ok", 0).expect("reply");
            assert_eq!(req.recv_bytes(0).expect("reply in"), b"ok");
        }
    }
}

#[test]
fn req_refuses_second_send_until_reply_rfc28() {
    let ctx = Context::new();
    let rep = socket(&ctx, zmq_rs::REP);
    let req = socket(&ctx, zmq_rs::REQ);
    rep.bind("inproc://req-efsm").expect("bind");
    req.connect("inproc://req-efsm").expect("connect");
    req.send("one", 0).expect("first request");
    assert!(matches!(req.send("two", 0), Err(Error::InvalidState(_))));
    assert!(matches!(rep.send("early", 0), Err(Error::InvalidState(_))));
}

#[test]
fn multipart_frames_report_more_and_stay_together() {
    let ctx = Context::new();
    let a = socket(&ctx, zmq_rs::PAIR);
    let b = socket(&ctx, zmq_rs::PAIR);
    let ep = bind(&a, "tcp://127.0.0.1:*");
    b.connect(&ep).expect("connect");
    b.send("first", SNDMORE).expect("part 1");
    b.send("", SNDMORE).expect("part 2");
    b.send("last", 0).expect("part 3");
    let m1 = a.recv_msg(0).expect("frame 1");
    assert_eq!(&m1[..], b"first");
    assert!(m1.get_more() && a.get_rcvmore().expect("rcvmore"));
    let m2 = a.recv_msg(0).expect("frame 2");
    assert!(m2.is_empty() && m2.get_more());
    let m3 = a.recv_msg(0).expect("frame 3");
    assert_eq!(&m3[..], b"last");
    assert!(!m3.get_more() && !a.get_rcvmore().expect("rcvmore"));
}

#[test]
fn pub_sub_filters_by_prefix_on_every_transport() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let publisher = socket(&ctx, zmq_rs::PUB);
        let subscriber = socket(&ctx, zmq_rs::SUB);
        subscriber.set_subscribe(b"a").expect("subscribe");
        let ep = bind(&publisher, &endpoint);
        subscriber.connect(&ep).expect("connect");
        subscriber.set_rcvtimeo(50).expect("rcvtimeo");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            publisher.send("b-skip", 0).expect("send");
            publisher.send("a-keep", 0).expect("send");
            match subscriber.recv_bytes(0) {
                Ok(m) => {
                    assert_eq!(m, b"a-keep");
                    break;
                }
                Err(Error::WouldBlock) => assert!(Instant::now() < deadline, "{ep}"),
                Err(e) => panic!("{e}"),
            }
        }
    }
}

#[test]
fn connect_before_bind_queues_until_the_peer_appears() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let push = socket(&ctx, zmq_rs::PUSH);
        let pull = socket(&ctx, zmq_rs::PULL);
        let ep = if endpoint.starts_with("tcp") {
            // Reserve a port, release it, then connect to it before binding again.
            let probe = socket(&ctx, zmq_rs::PULL);
            let ep = bind(&probe, &endpoint);
            probe.unbind(&ep).expect("unbind");
            ep
        } else {
            endpoint.clone()
        };
        push.connect(&ep).expect("connect");
        push.send("early", 0).expect("queued while unconnected");
        pull.bind(&ep).expect("bind later");
        assert_eq!(
            pull.recv_bytes(0).unwrap_or_else(|e| panic!("{ep}: {e}")),
            b"early"
        );
    }
}

#[test]
fn dontwait_reports_would_block_when_nothing_is_queued() {
    let ctx = Context::new();
    let pull = socket(&ctx, zmq_rs::PULL);
    pull.bind("inproc://dontwait").expect("bind");
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    let push = socket(&ctx, zmq_rs::PUSH);
    // No peer: a PUSH send would block (RFC 30).
    assert!(matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn rcvtimeo_is_honoured() {
    let ctx = Context::new();
    let pull = socket(&ctx, zmq_rs::PULL);
    pull.bind("inproc://rcvtimeo").expect("bind");
    pull.set_rcvtimeo(100).expect("rcvtimeo");
    let start = Instant::now();
    assert!(matches!(pull.recv_bytes(0), Err(Error::WouldBlock)));
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[test]
fn router_dealer_routes_replies_by_identity() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let router = socket(&ctx, zmq_rs::ROUTER);
        let ep = bind(&router, &endpoint);
        let dealers: Vec<Socket> = (0..3)
            .map(|i| {
                let d = socket(&ctx, zmq_rs::DEALER);
                d.set_routing_id(format!("dealer-{i}").as_bytes())
                    .expect("id");
                d.connect(&ep).expect("connect");
                d
            })
            .collect();
        for (i, d) in dealers.iter().enumerate() {
            d.send(format!("from {i}"), 0).expect("send");
        }
        for _ in 0..3 {
            let parts = router.recv_multipart(0).expect("recv");
            let id = String::from_utf8(parts[0].clone()).expect("utf8");
            let i = id.strip_prefix("dealer-").expect("id prefix");
            assert_eq!(parts[1], format!("from {i}").into_bytes());
            router
                .send_multipart([parts[0].clone(), format!("to {i}").into_bytes()], 0)
                .expect("reply");
        }
        for (i, d) in dealers.iter().enumerate() {
            assert_eq!(
                d.recv_bytes(0).expect("reply"),
                format!("to {i}").into_bytes()
            );
        }
    }
}

#[test]
fn options_have_libzmq_defaults_and_refuse_misfits() {
    let ctx = Context::new();
    let s = ctx.socket(zmq_rs::DEALER).expect("socket");
    assert_eq!(s.get_sndhwm().unwrap(), 1000);
    assert_eq!(s.get_rcvhwm().unwrap(), 1000);
    assert_eq!(s.get_linger().unwrap(), -1);
    assert_eq!(s.get_reconnect_ivl().unwrap(), 100);
    assert_eq!(s.get_rcvtimeo().unwrap(), -1);
    assert_eq!(s.get_maxmsgsize().unwrap(), -1);
    // EINVAL: an option for another socket type.
    assert!(matches!(
        s.set_subscribe(b"x"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        s.set_router_mandatory(true),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(s.set_sndhwm(-1), Err(Error::InvalidArgument(_))));
    // Every option set reads back (libzmq's getsockopt).
    s.set_linger(250).unwrap();
    s.set_plain_username(Some("user")).unwrap();
    s.set_zap_domain("global").unwrap();
    s.set_routing_id(b"me").unwrap();
    s.set_heartbeat_ivl(1000).unwrap();
    assert_eq!(s.get_linger().unwrap(), 250);
    assert_eq!(s.get_plain_username().unwrap(), "user");
    assert_eq!(s.get_zap_domain().unwrap(), "global");
    assert_eq!(s.get_routing_id().unwrap(), b"me");
    assert_eq!(s.get_heartbeat_ivl().unwrap(), 1000);
    assert!(matches!(
        s.set_heartbeat_timeout(-1),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn closing_with_linger_zero_returns_at_once() {
    let ctx = Context::new();
    let push = socket(&ctx, zmq_rs::PUSH);
    push.connect("tcp://127.0.0.1:1").expect("connect");
    for _ in 0..100 {
        push.send("queued", 0).expect("queue");
    }
    push.set_linger(0).expect("linger");
    let start = Instant::now();
    drop(push);
    drop(ctx);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn poll_reports_the_socket_with_a_message_and_honours_timeouts() {
    let ctx = Context::new();
    let pulls: Vec<Socket> = (0..3)
        .map(|i| {
            let s = socket(&ctx, zmq_rs::PULL);
            s.bind(&format!("inproc://poll-{i}")).expect("bind");
            s
        })
        .collect();
    let push = socket(&ctx, zmq_rs::PUSH);
    push.connect("inproc://poll-1").expect("connect");

    let start = Instant::now();
    let mut items: Vec<_> = pulls
        .iter()
        .map(|s| s.as_poll_item(zmq_rs::POLLIN))
        .collect();
    assert_eq!(zmq_rs::poll(&mut items, 50).expect("poll"), 0);
    assert!(start.elapsed() >= Duration::from_millis(50));

    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        push.send("wake", 0).expect("send");
        push
    });
    let mut items: Vec<_> = pulls
        .iter()
        .map(|s| s.as_poll_item(zmq_rs::POLLIN))
        .collect();
    assert_eq!(zmq_rs::poll(&mut items, 5000).expect("poll"), 1);
    assert!(!items[0].is_readable() && items[1].is_readable() && !items[2].is_readable());
    drop(items);
    assert_eq!(pulls[1].recv_bytes(0).expect("recv"), b"wake");
    drop(sender.join().expect("sender"));
}

#[test]
fn received_messages_carry_connection_metadata() {
    let ctx = Context::new();
    let server = socket(&ctx, zmq_rs::ROUTER);
    let ep = bind(&server, "tcp://127.0.0.1:*");
    let client = socket(&ctx, zmq_rs::DEALER);
    client.connect(&ep).expect("connect");
    client.send("hi", 0).expect("send");
    let id = server.recv_msg(0).expect("id frame");
    assert_eq!(id.gets("Socket-Type"), Some("DEALER"));
    assert_eq!(id.gets("Peer-Address"), Some("127.0.0.1"));
}

#[test]
fn stream_socket_speaks_raw_tcp_with_an_id_frame_per_connection() {
    use std::io::{Read, Write};
    let ctx = Context::new();
    let stream = socket(&ctx, zmq_rs::STREAM);
    let ep = bind(&stream, "tcp://127.0.0.1:*");
    let mut raw = std::net::TcpStream::connect(ep.trim_start_matches("tcp://")).expect("connect");
    raw.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // STREAM_NOTIFY (on by default): an empty frame announces the connection.
    let hello = stream.recv_multipart(0).expect("connect notification");
    assert_eq!(hello.len(), 2);
    assert!(hello[1].is_empty());
    let id = hello[0].clone();
    raw.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
    let request = stream.recv_multipart(0).expect("data");
    assert_eq!(
        request,
        vec![id.clone(), b"GET / HTTP/1.0\r\n\r\n".to_vec()]
    );
    stream
        .send_multipart([id.clone(), b"HTTP/1.0 200 OK\r\n\r\n".to_vec()], 0)
        .expect("reply");
    let mut reply = [0u8; 19];
    raw.read_exact(&mut reply).expect("read reply");
    assert_eq!(&reply, b"HTTP/1.0 200 OK\r\n\r\n");
    // An empty data frame closes that connection.
    stream
        .send_multipart([id, Vec::new()], 0)
        .expect("close request");
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).expect("EOF");
    assert!(rest.is_empty());
}

/// Many round trips between two threads over inproc, where the hand-over between sockets
/// races with each side going to sleep: a lost wake-up shows as a receive timing out.
#[test]
fn inproc_round_trips_between_threads_never_lose_a_wake_up() {
    round_trips("inproc://round-trips", 20_000, |_| None);
}

/// Replies now at once and now after the receiver has stopped waiting on its core for them
/// (tens of microseconds) and gone to sleep, over every transport: both ways of receiving,
/// and the switch between them, deliver every reply.
#[test]
fn replies_reach_receivers_that_wait_awake_or_asleep() {
    for endpoint in endpoints() {
        round_trips(&endpoint, 600, |i| {
            (i % 3 == 0).then(|| Duration::from_micros(100 * u64::from(i % 7)))
        });
    }
}

/// REQ-REP round trips between two threads; the server waits `delay(i)` before reply `i`.
fn round_trips(endpoint: &str, count: u32, delay: fn(u32) -> Option<Duration>) {
    let ctx = Context::new();
    let rep = socket(&ctx, zmq_rs::REP);
    let endpoint = &bind(&rep, endpoint);
    let server = std::thread::spawn(move || {
        for i in 0..count {
            let request = rep.recv_msg(0).expect("request");
            if let Some(pause) = delay(i) {
                std::thread::sleep(pause);
            }
            rep.send(request, 0).expect("reply");
        }
    });
    let req = socket(&ctx, zmq_rs::REQ);
    req.connect(endpoint).expect("connect");
    for i in 0..count {
        req.send(&i.to_be_bytes(), 0).expect("request");
        assert_eq!(
            req.recv_bytes(0)
                .unwrap_or_else(|e| panic!("round trip {i}: {e}")),
            i.to_be_bytes()
        );
    }
    server.join().expect("server");
}
