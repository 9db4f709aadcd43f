//! A blocking send of large messages waits while its connections have a few MiB of them
//! queued and unwritten, so that the I/O thread copies payloads still in cache (see the
//! library's `pacing.rs`). The wait only delays when a send returns: every message is still
//! queued up to SNDHWM and delivered whole and in order (RFC 30), and a peer that stops
//! reading does not hold back a burst the high-water mark has room for.

use std::time::{Duration, Instant};

use zmq_rs::{Context, Message, Socket};

const SIZE: usize = 64 * 1024;

fn payload(seq: u32) -> Message {
    let mut data = vec![(seq % 251) as u8; SIZE];
    data[..4].copy_from_slice(&seq.to_be_bytes());
    Message::from(data)
}

fn seq_of(msg: &Message) -> u32 {
    u32::from_be_bytes(msg[..4].try_into().expect("four octets"))
}

/// A PULL that takes one message into its queue and leaves the rest in the kernel's
/// buffers until it is read, in a context of its own.
fn stalling_pull(ctx: &Context) -> (Socket, String) {
    let pull = ctx.socket(zmq_rs::PULL).expect("pull");
    pull.set_rcvhwm(1).expect("rcvhwm");
    pull.set_rcvtimeo(10_000).expect("rcvtimeo");
    pull.set_linger(0).expect("linger");
    pull.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = pull.get_last_endpoint().expect("endpoint");
    (pull, endpoint)
}

#[test]
fn a_burst_of_large_messages_to_a_peer_not_reading_is_queued_at_once_rfc30() {
    let receiving = Context::new();
    let (pull, endpoint) = stalling_pull(&receiving);
    let ctx = Context::new();
    let push = ctx.socket(zmq_rs::PUSH).expect("push");
    push.set_sndhwm(1000).expect("sndhwm");
    push.set_sndtimeo(10_000).expect("sndtimeo");
    push.set_linger(0).expect("linger");
    push.connect(&endpoint).expect("connect");
    // Connected, and large frames written: the pacing has something to go by.
    push.send(payload(0), 0).expect("send");
    assert_eq!(seq_of(&pull.recv_msg(0).expect("recv")), 0);

    // 25 MiB: more than the kernel's buffers and the PULL's queue hold, well under SNDHWM.
    let burst = 400;
    let started = Instant::now();
    for seq in 1..=burst {
        push.send(payload(seq), 0).expect("send");
    }
    let took = started.elapsed();
    // Waits end at the first nap without progress; at most 10 ms each in any case.
    assert!(
        took < Duration::from_secs(2),
        "a burst to a peer not reading took {took:?}"
    );
    for seq in 1..=burst {
        let msg = pull.recv_msg(0).expect("recv");
        assert_eq!((seq_of(&msg), msg.len()), (seq, SIZE));
        assert!(
            msg[4..].iter().all(|&b| b == (seq % 251) as u8),
            "message {seq}"
        );
    }
}

#[test]
fn paced_senders_lose_nothing_and_keep_order_over_tcp_and_ipc_rfc30() {
    let path = std::env::temp_dir().join(format!("zmq-rs-pacing-{}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    for bind_to in [
        "tcp://127.0.0.1:*".to_owned(),
        format!("ipc://{}", path.display()),
    ] {
        let ctx = Context::new();
        let pull = ctx.socket(zmq_rs::PULL).expect("pull");
        pull.set_rcvtimeo(10_000).expect("rcvtimeo");
        pull.bind(&bind_to).expect("bind");
        let endpoint = pull.get_last_endpoint().expect("endpoint");
        let push = ctx.socket(zmq_rs::PUSH).expect("push");
        push.set_sndtimeo(10_000).expect("sndtimeo");
        push.connect(&endpoint).expect("connect");
        let count = 2000;
        let sender = std::thread::spawn(move || {
            for seq in 0..count {
                push.send(payload(seq), 0).expect("send");
            }
            push
        });
        for seq in 0..count {
            let msg = pull.recv_msg(0).expect("recv");
            assert_eq!((seq_of(&msg), msg.len()), (seq, SIZE), "{endpoint}");
        }
        drop(sender.join().expect("sender"));
    }
}
