//! `Message::buffer` and `Message::buffer_sized`, the counterparts of `zmq_msg_init_size`:
//! payload buffers the library is done with come back from them, never one that is still in
//! use; from `buffer` empty, from `buffer_sized` at their size.
//!
//! The pool is process-wide and the tests of this file run in parallel: each uses a size of
//! its own.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Transport, endpoint_for};
use zmq_rs::{Context, Message, Socket, SocketType};

fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).expect("socket");
    s.set_rcvtimeo(5000).expect("rcvtimeo");
    s.set_sndtimeo(5000).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

/// A message of `size` octets from `Message::buffer`, and where its payload lives.
fn message(size: usize, fill: u8) -> (Message, usize) {
    let mut buf = Message::buffer(size);
    assert!(buf.is_empty(), "a buffer comes empty");
    assert!(buf.capacity() >= size, "room for {size} octets");
    buf.resize(size, fill);
    let at = buf.as_ptr() as usize;
    let msg = Message::from(buf);
    assert_eq!(
        msg.as_ptr() as usize,
        at,
        "the buffer became the payload without a copy"
    );
    (msg, at)
}

fn pipe(ctx: &Context, endpoint: &str) -> (Socket, Socket) {
    let pull = socket(ctx, zmq_rs::PULL);
    pull.bind(endpoint).expect("bind");
    let endpoint = pull.get_last_endpoint().expect("last endpoint");
    let push = socket(ctx, zmq_rs::PUSH);
    push.connect(&endpoint).expect("connect");
    (push, pull)
}

/// Two messages of `size` octets from `Message::buffer` (filled with 1 and 2) sent through
/// a PUSH-PULL pipe at `endpoint` and received, each with where its payload was made.
fn two_through(ctx: &Context, endpoint: &str, size: usize) -> [(Message, usize); 2] {
    let (push, pull) = pipe(ctx, endpoint);
    let (first, first_at) = message(size, 1);
    let (second, second_at) = message(size, 2);
    push.send(first, 0).expect("send");
    push.send(second, 0).expect("send");
    let first = pull.recv_msg(0).expect("recv");
    let second = pull.recv_msg(0).expect("recv");
    [(first, first_at), (second, second_at)]
}

#[test]
fn a_payload_received_over_inproc_and_dropped_comes_back_empty_but_one_still_held_does_not() {
    const SIZE: usize = 701;
    let ctx = Context::new();
    let [(first, first_at), (second, second_at)] =
        two_through(&ctx, "inproc://buffers-reuse", SIZE);
    assert_eq!(first.as_ptr() as usize, first_at, "inproc copied");
    let held = second.to_bytes();
    drop(second);
    drop(first);
    // This thread dropped the first last: its buffer is the next one handed out here. The
    // second's payload is still held, so it must not be. (A plain allocation of the same
    // size in between takes what the allocator would have handed out again had the payload
    // been freed, so that a reuse by the allocator does not pass for ours.)
    let decoy: Vec<u8> = Vec::with_capacity(SIZE);
    assert_ne!(decoy.as_ptr() as usize, first_at, "the payload was freed");
    let reused = Message::buffer(SIZE);
    assert_eq!(reused.as_ptr() as usize, first_at, "not reused");
    assert!(reused.is_empty(), "what it held is readable");
    let another = Message::buffer(SIZE);
    assert_ne!(
        another.as_ptr() as usize,
        second_at,
        "handed out while still held"
    );
    assert!(held.iter().all(|&b| b == 2), "a held payload changed");
}

#[test]
fn payloads_written_over_tcp_come_back_from_the_io_thread() {
    const SIZE: usize = 703;
    const COUNT: usize = 2000;
    let ctx = Context::new();
    let (push, pull) = pipe(&ctx, &endpoint_for(Transport::Tcp));
    let mut sent = HashSet::new();
    for i in 0..COUNT {
        let (msg, at) = message(SIZE, i as u8);
        sent.insert(at);
        push.send(msg, 0).expect("send");
    }
    for i in 0..COUNT {
        let got = pull.recv_bytes(0).expect("recv");
        assert_eq!(got.len(), SIZE);
        assert!(
            got.iter().all(|&b| b == i as u8),
            "message {i} changed on the way"
        );
    }
    // The I/O thread keeps what it wrote, and passes it on in batches once it holds more
    // than a thread keeps; the last write may still be finishing.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let buf = Message::buffer(SIZE);
        if sent.contains(&(buf.as_ptr() as usize)) {
            assert!(buf.is_empty());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no written payload came back to Message::buffer"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A large message read over tcp arrives in a buffer of its own, read straight into rather
/// than grown around (RFC 23 frames of 16 KiB or more), and that buffer comes back to
/// `Message::buffer` once the message is dropped.
#[test]
fn a_large_payload_received_over_tcp_is_its_own_buffer_and_comes_back_once_dropped() {
    const SIZE: usize = 40_001;
    let ctx = Context::new();
    let (push, pull) = pipe(&ctx, &endpoint_for(Transport::Tcp));
    for fill in [1, 2, 3] {
        push.send(message(SIZE, fill).0, 0).expect("send");
    }
    let mut at = Vec::new();
    for fill in [1, 2, 3] {
        let got = pull.recv_msg(0).expect("recv");
        assert_eq!(got.len(), SIZE);
        assert!(got.iter().all(|&b| b == fill), "message {fill} changed");
        at.push(got.as_ptr() as usize);
    }
    assert!(
        at.windows(2).all(|w| w[0] != w[1]),
        "each payload its own buffer"
    );
    // The last one received, dropped last above, is the first handed out again.
    let reused = Message::buffer(SIZE);
    assert!(
        at.contains(&(reused.as_ptr() as usize)),
        "no received payload came back"
    );
    assert!(reused.is_empty());
}

#[test]
fn buffer_sized_comes_at_its_size_and_reuses_a_dropped_payload_but_not_one_still_held() {
    const SIZE: usize = 709;
    let fresh = Message::buffer_sized(SIZE);
    assert_eq!(fresh.len(), SIZE, "not sized");
    drop(fresh);
    let ctx = Context::new();
    let [(first, first_at), (second, second_at)] =
        two_through(&ctx, "inproc://buffers-sized", SIZE);
    drop(first);
    // As in the first test: an allocation that would take the payload had it been freed.
    let decoy: Vec<u8> = Vec::with_capacity(SIZE);
    assert_ne!(decoy.as_ptr() as usize, first_at, "the payload was freed");
    let mut reused = Message::buffer_sized(SIZE);
    assert_eq!(reused.as_ptr() as usize, first_at, "not reused");
    assert_eq!(reused.len(), SIZE, "a reused buffer is not sized");
    reused.fill(9);
    let another = Message::buffer_sized(SIZE);
    assert_ne!(
        another.as_ptr() as usize,
        second_at,
        "handed out while still held"
    );
    assert!(
        second.iter().all(|&b| b == 2),
        "a payload still held was written over"
    );
    drop(decoy);
}
