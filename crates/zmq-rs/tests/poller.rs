//! `poll` over many sockets and plain file descriptors, readiness descriptors for other event
//! loops, `get_events`, and per-peer statistics.

mod common;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use zmq_rs::{Context, POLLIN, POLLOUT, PollItem, Socket};

fn pulls(ctx: &Context, n: usize, name: &str) -> Vec<Socket> {
    (0..n)
        .map(|i| {
            let s = ctx.socket(zmq_rs::PULL).expect("socket");
            s.bind(&format!("inproc://{name}-{i}")).expect("bind");
            s
        })
        .collect()
}

#[test]
fn poll_finds_the_one_ready_socket_among_a_hundred() {
    let ctx = Context::new();
    let sockets = pulls(&ctx, 100, "hundred");
    let push = ctx.socket(zmq_rs::PUSH).expect("push");
    push.connect("inproc://hundred-73").expect("connect");
    push.send("here", 0).expect("send");
    let mut items: Vec<PollItem<'_>> = sockets.iter().map(|s| s.as_poll_item(POLLIN)).collect();
    assert_eq!(zmq_rs::poll(&mut items, 1000).expect("poll"), 1);
    let ready: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.is_readable())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(ready, [73]);
}

/// A poll waits awake a few microseconds before it sleeps: messages sent now at once, now
/// after the poller went to sleep, over inproc and tcp, each end a poll that finds them.
#[test]
fn poll_wakes_for_messages_sent_while_it_waits_awake_or_asleep() {
    let ctx = Context::new();
    for endpoint in ["inproc://poll-awake", "tcp://127.0.0.1:*"] {
        let pull = ctx.socket(zmq_rs::PULL).expect("pull");
        pull.bind(endpoint).expect("bind");
        let push = ctx.socket(zmq_rs::PUSH).expect("push");
        push.connect(&pull.get_last_endpoint().expect("endpoint"))
            .expect("connect");
        let sender = std::thread::spawn(move || {
            for i in 0..300u64 {
                if i % 3 == 0 {
                    std::thread::sleep(Duration::from_micros(100 * (i % 7)));
                }
                push.send(&i.to_be_bytes()[..], 0).expect("send");
            }
            push
        });
        for i in 0..300u64 {
            let mut items = [pull.as_poll_item(POLLIN)];
            assert_eq!(
                zmq_rs::poll(&mut items, 5000).expect("poll"),
                1,
                "message {i}"
            );
            assert_eq!(pull.recv_bytes(0).expect("recv"), i.to_be_bytes());
        }
        drop(sender.join().expect("sender"));
    }
}

#[test]
fn poll_timeouts_are_honoured_within_a_few_milliseconds() {
    let ctx = Context::new();
    let sockets = pulls(&ctx, 100, "timeouts");
    for timeout in [0i64, 10, 50, 200] {
        let mut items: Vec<PollItem<'_>> = sockets.iter().map(|s| s.as_poll_item(POLLIN)).collect();
        let start = Instant::now();
        assert_eq!(zmq_rs::poll(&mut items, timeout).expect("poll"), 0);
        let waited = start.elapsed();
        let asked = Duration::from_millis(timeout as u64);
        assert!(waited >= asked, "{timeout} ms: returned after {waited:?}");
        assert!(
            waited < asked + Duration::from_millis(30),
            "{timeout} ms: returned after {waited:?}"
        );
    }
}

#[test]
fn poll_watches_plain_file_descriptors_beside_sockets() {
    let ctx = Context::new();
    let sockets = pulls(&ctx, 3, "fds");
    let (mut writer, reader) = std::os::unix::net::UnixStream::pair().expect("pair");
    let mut items: Vec<PollItem<'_>> = sockets.iter().map(|s| s.as_poll_item(POLLIN)).collect();
    items.push(PollItem::from_fd(reader.as_raw_fd(), POLLIN));
    assert_eq!(
        zmq_rs::poll(&mut items, 20).expect("poll"),
        0,
        "nothing yet"
    );
    let poke = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        writer.write_all(b"x").expect("write");
        writer
    });
    let mut items: Vec<PollItem<'_>> = sockets.iter().map(|s| s.as_poll_item(POLLIN)).collect();
    items.push(PollItem::from_fd(reader.as_raw_fd(), POLLIN));
    assert_eq!(zmq_rs::poll(&mut items, 2000).expect("poll"), 1);
    assert!(items[3].is_readable(), "the descriptor");
    let _writer = poke.join().expect("writer");
    // Level-triggered: still readable on the next call, the octet was not read.
    let mut items = [PollItem::from_fd(reader.as_raw_fd(), POLLIN)];
    assert_eq!(zmq_rs::poll(&mut items, 0).expect("poll"), 1);
    // A socket becoming readable wakes a poll that also waits on descriptors.
    let push = ctx.socket(zmq_rs::PUSH).expect("push");
    push.connect("inproc://fds-2").expect("connect");
    let (_w2, quiet) = std::os::unix::net::UnixStream::pair().expect("pair");
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        push.send("wake", 0).expect("send");
        push
    });
    let mut items: Vec<PollItem<'_>> = sockets.iter().map(|s| s.as_poll_item(POLLIN)).collect();
    items.push(PollItem::from_fd(quiet.as_raw_fd(), POLLIN));
    assert_eq!(zmq_rs::poll(&mut items, 2000).expect("poll"), 1);
    assert!(items[2].is_readable());
    drop(sender.join().expect("sender"));
}

#[test]
fn poll_reports_pollout_and_multipart_messages_stay_readable() {
    let ctx = Context::new();
    let a = ctx.socket(zmq_rs::PAIR).expect("a");
    let b = ctx.socket(zmq_rs::PAIR).expect("b");
    a.bind("tcp://127.0.0.1:*").expect("bind");
    b.connect(&a.get_last_endpoint().expect("endpoint"))
        .expect("connect");
    let mut items = [b.as_poll_item(POLLOUT)];
    assert_eq!(zmq_rs::poll(&mut items, 1000).expect("poll"), 1);
    b.send_multipart(["one", "two"], 0).expect("send");
    let mut items = [a.as_poll_item(POLLIN)];
    assert_eq!(zmq_rs::poll(&mut items, 2000).expect("poll"), 1);
    assert_eq!(&a.recv_msg(0).expect("first")[..], b"one");
    let mut items = [a.as_poll_item(POLLIN)];
    assert_eq!(
        zmq_rs::poll(&mut items, 0).expect("poll"),
        1,
        "the rest of the message is readable"
    );
    assert_eq!(&a.recv_msg(0).expect("second")[..], b"two");
    assert_eq!(a.get_events().expect("events") & POLLIN, 0);
}

#[test]
fn readiness_fd_is_readable_exactly_while_the_socket_has_a_message() {
    let ctx = Context::new();
    let pull = ctx.socket(zmq_rs::PULL).expect("pull");
    let endpoint = {
        pull.bind("tcp://127.0.0.1:*").expect("bind");
        pull.get_last_endpoint().expect("endpoint")
    };
    let fd = pull.readiness_fd().expect("readiness fd");
    let fd_ready = |timeout| {
        let mut items = [PollItem::from_fd(fd.as_raw_fd(), POLLIN)];
        zmq_rs::poll(&mut items, timeout).expect("poll") == 1
    };
    assert!(!fd_ready(20), "nothing to receive yet");
    let push = ctx.socket(zmq_rs::PUSH).expect("push");
    push.connect(&endpoint).expect("connect");
    push.send("a", 0).expect("send");
    push.send("b", 0).expect("send");
    assert!(fd_ready(2000), "a message arrived");
    assert_eq!(pull.recv_bytes(0).expect("a"), b"a");
    assert!(
        fd_ready(2000),
        "level-triggered: one message is still there"
    );
    assert_eq!(pull.recv_bytes(0).expect("b"), b"b");
    assert!(!fd_ready(20), "drained");
}

#[test]
fn peer_stats_show_where_a_pipeline_backs_up() {
    let ctx = Context::new();
    let push = ctx.socket(zmq_rs::PUSH).expect("push");
    push.set_sndhwm(10).expect("hwm");
    push.connect("inproc://stats").expect("connect before bind");
    for _ in 0..5 {
        push.send("queued", 0).expect("send");
    }
    let stats = push.peer_stats();
    assert_eq!(stats.len(), 1);
    assert!(!stats[0].connected);
    assert_eq!(stats[0].queued_out, 5);
    assert_eq!(stats[0].endpoint, "inproc://stats");
    let pull = ctx.socket(zmq_rs::PULL).expect("pull");
    pull.set_rcvtimeo(2000).expect("rcvtimeo");
    pull.bind("inproc://stats").expect("bind");
    for _ in 0..5 {
        pull.recv_bytes(0).expect("recv");
    }
    let stats = push.peer_stats();
    assert!(stats[0].connected);
    assert_eq!((stats[0].queued_out, stats[0].msgs_out), (0, 5));
    assert_eq!(stats[0].bytes_out, 30);
    let theirs = pull.peer_stats();
    assert_eq!((theirs[0].msgs_in, theirs[0].bytes_in), (5, 30));
}
