//! Faults: peers that die mid-message, speak garbage, stop reading or stop answering, restart,
//! or come and go by the thousand. Each test names the behaviour a user relies on and, where
//! one applies, the RFC that asks for it.
//!
//! Raw peers are plain `std::net::TcpStream`s speaking ZMTP 3.1 by hand (RFC 23/37), so that
//! they can misbehave in ways no library peer would. Every receive has a timeout: a test that
//! goes wrong fails, it does not hang.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Transport, endpoint_for};
use zmq_rs::{Context, DONTWAIT, Error, Socket, SocketType};

// ---- helpers ---------------------------------------------------------------------------

/// Our socket with a receive and send timeout, and no linger.
fn ours(ctx: &Context, t: SocketType, timeout_ms: i32) -> Socket {
    let s = ctx.socket(t).expect("socket");
    s.set_rcvtimeo(timeout_ms).expect("rcvtimeo");
    s.set_sndtimeo(timeout_ms).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

/// libzmq's socket, likewise.
fn theirs(ctx: &zmq::Context, t: zmq::SocketType, timeout_ms: i32) -> zmq::Socket {
    let s = ctx.socket(t).expect("libzmq socket");
    s.set_rcvtimeo(timeout_ms).expect("libzmq rcvtimeo");
    s.set_sndtimeo(timeout_ms).expect("libzmq sndtimeo");
    s.set_linger(0).expect("libzmq linger");
    s
}

/// Binds to an ephemeral tcp port on loopback and returns the resolved endpoint.
fn bind_tcp(s: &Socket) -> String {
    s.bind("tcp://127.0.0.1:*").expect("bind");
    s.get_last_endpoint().expect("last endpoint")
}

/// The socket address of a `tcp://host:port` endpoint.
fn addr_of(endpoint: &str) -> SocketAddr {
    endpoint
        .strip_prefix("tcp://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a tcp endpoint: {endpoint}"))
}

/// Binds with a few retries: a port just released may still be busy for a moment (the old
/// socket is closed asynchronously by its I/O thread).
fn bind_retrying(mut bind: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !bind() {
        assert!(Instant::now() < deadline, "{what}: the port stayed busy");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A ZMTP 3.1 greeting for the NULL mechanism (RFC 23 "Formal Grammar").
fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// One frame: flags (MORE, LONG, COMMAND), size, body (RFC 23 "Framing").
fn frame(more: bool, command: bool, body: &[u8]) -> Vec<u8> {
    let mut flags = u8::from(more) | (u8::from(command) << 2);
    let mut out = Vec::with_capacity(body.len() + 9);
    match u8::try_from(body.len()) {
        Ok(len) => out.extend([flags, len]),
        Err(_) => {
            flags |= 0x02;
            out.push(flags);
            out.extend((body.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

/// A command frame: name length, name, data.
fn command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut body = vec![u8::try_from(name.len()).expect("short name")];
    body.extend_from_slice(name);
    body.extend_from_slice(data);
    frame(false, true, &body)
}

/// The NULL mechanism's READY command announcing `socket_type` (RFC 23 "The NULL Security
/// Mechanism").
fn ready(socket_type: &str) -> Vec<u8> {
    let mut props = vec![11u8];
    props.extend_from_slice(b"Socket-Type");
    props.extend((socket_type.len() as u32).to_be_bytes());
    props.extend_from_slice(socket_type.as_bytes());
    command(b"READY", &props)
}

/// A frame read from a raw connection.
#[derive(Debug)]
struct RawFrame {
    flags: u8,
    body: Vec<u8>,
}

impl RawFrame {
    fn is_command(&self, name: &[u8]) -> bool {
        self.flags & 0x04 != 0
            && self.body.first().map(|&n| usize::from(n)) == Some(name.len())
            && self.body.get(1..=name.len()) == Some(name)
    }
}

/// A hand-driven ZMTP connection.
struct Raw {
    stream: TcpStream,
}

impl Raw {
    fn new(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(3)))
            .expect("write timeout");
        stream.set_nodelay(true).expect("nodelay");
        Self { stream }
    }

    fn connect(addr: SocketAddr) -> Self {
        Self::new(TcpStream::connect(addr).expect("raw connect"))
    }

    /// Connects and completes a NULL handshake as a peer of type `socket_type`; returns once
    /// our side's greeting and READY have been read.
    fn handshake(addr: SocketAddr, socket_type: &str) -> Self {
        let mut raw = Self::connect(addr);
        raw.send_handshake(socket_type);
        raw.expect_handshake();
        raw
    }

    fn send_handshake(&mut self, socket_type: &str) {
        self.write(&greeting());
        self.write(&ready(socket_type));
    }

    /// Reads the other side's greeting and READY.
    fn expect_handshake(&mut self) {
        let mut g = [0u8; 64];
        self.stream.read_exact(&mut g).expect("their greeting");
        assert_eq!((g[0], g[9], g[10]), (0xFF, 0x7F, 3), "greeting {g:?}");
        assert_eq!(&g[12..16], b"NULL");
        let f = self.read_frame().expect("their READY");
        assert!(f.is_command(b"READY"), "expected READY, got {f:?}");
    }

    fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("raw write");
    }

    fn read_frame(&mut self) -> std::io::Result<RawFrame> {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head)?;
        let flags = head[0];
        let len = if flags & 0x02 != 0 {
            let mut rest = [0u8; 7];
            self.stream.read_exact(&mut rest)?;
            let mut size = [0u8; 8];
            size[0] = head[1];
            size[1..].copy_from_slice(&rest);
            u64::from_be_bytes(size)
        } else {
            u64::from(head[1])
        };
        let mut body = vec![0u8; usize::try_from(len).expect("frame fits in memory")];
        self.stream.read_exact(&mut body)?;
        Ok(RawFrame { flags, body })
    }

    /// Reads (and discards) until the other side closes the connection, for at most `limit`.
    /// Returns when it closed, or `None` if it was still open at the limit.
    fn wait_closed(&mut self, limit: Duration) -> Option<Duration> {
        wait_closed(&mut self.stream, limit)
    }
}

/// Reads and discards until the peer closes (EOF or reset) or `limit` passes.
fn wait_closed(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if start.elapsed() >= limit {
                    return None;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
}

/// A well-behaved peer sending numbered messages to a PULL until told to stop (and at least
/// [`GOOD_MIN`] of them), then an end marker; the messages are `["good", seq]`.
const GOOD_MIN: u32 = 5000;
/// The good sender's ZMQ_LINGER. Its socket closes as its thread ends, right after the end
/// marker: with no linger, whatever the I/O thread had not written yet would be dropped
/// (libzmq's ZMQ_LINGER 0 semantics), and the receiver would wait for the end marker in
/// vain (it did, on a loaded host, losing the last few dozen messages).
const GOOD_LINGER_MS: i32 = 5000;

struct GoodSender {
    stop: Arc<AtomicBool>,
    join: Option<thread::JoinHandle<u32>>,
}

impl GoodSender {
    fn start(mut send: impl FnMut(&[&[u8]]) + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let join = thread::spawn(move || {
            let mut seq = 0u32;
            while seq < GOOD_MIN || !flag.load(Ordering::SeqCst) {
                send(&[b"good", &seq.to_be_bytes()]);
                seq += 1;
                if seq % 16 == 0 {
                    // Pace it so that the run spans the misbehaving peers' lives.
                    thread::sleep(Duration::from_millis(1));
                }
            }
            send(&[b"end"]);
            seq
        });
        Self {
            stop,
            join: Some(join),
        }
    }

    /// Stops the sender; returns how many numbered messages it sent.
    fn finish(mut self) -> u32 {
        self.stop.store(true, Ordering::SeqCst);
        self.join.take().expect("once").join().expect("good sender")
    }
}

/// Receives on `pull` until the good sender's end marker; returns every other message.
/// The good sender's sequence numbers as received, and every other message.
type Collected = (Vec<u32>, Vec<Vec<Vec<u8>>>);

fn collect_until_end(pull: Socket) -> thread::JoinHandle<Collected> {
    thread::spawn(move || {
        let mut good = Vec::new();
        let mut others = Vec::new();
        loop {
            let msg = pull
                .recv_multipart(0)
                .unwrap_or_else(|e| panic!("PULL gave up after {} good: {e}", good.len()));
            match msg.as_slice() {
                [tag] if tag == b"end" => return (good, others),
                [tag, seq] if tag == b"good" => {
                    good.push(u32::from_be_bytes(seq.as_slice().try_into().expect("seq")));
                }
                _ => others.push(msg),
            }
        }
    })
}

/// Every numbered message, once, in order.
fn assert_all_in_order(good: &[u32], sent: u32) {
    assert_eq!(
        good.len(),
        sent as usize,
        "good messages lost or duplicated"
    );
    if let Some(i) = good.iter().enumerate().position(|(i, &s)| s != i as u32) {
        panic!("good message {i} arrived as {}", good[i]);
    }
}

// ---- 1. peers killed mid-message ----------------------------------------------------------

/// RFC 23 and RFC 30: a message is delivered whole or not at all. A raw PUSH peer sends one
/// whole message, then the first frames of another (MORE set) or a frame shorter than its
/// header announced, and goes away, gracefully (FIN after reading all we sent) or abruptly
/// (closing with our READY unread, which resets the connection). Meanwhile a libzmq PUSH
/// keeps sending to the same PULL: it loses nothing, its messages stay in order, and no frame
/// of a partial message ever reaches the application.
#[test]
fn peer_killed_mid_message_delivers_nothing_partial_and_disturbs_no_other_peer_rfc23() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 5000);
    let ep = bind_tcp(&pull);
    let addr = addr_of(&ep);

    let lctx = zmq::Context::new();
    let push = theirs(&lctx, zmq::PUSH, 5000);
    push.set_linger(GOOD_LINGER_MS).expect("libzmq linger");
    push.connect(&ep).expect("libzmq connect");
    let good = GoodSender::start(move |parts| push.send_multipart(parts, 0).expect("good send"));
    let received = collect_until_end(pull);

    let mut whole_sent = 0;
    for round in 0..32u8 {
        let graceful = round % 2 == 0;
        let truncated_frame = round % 4 >= 2;
        let mut raw = Raw::connect(addr);
        raw.send_handshake("PUSH");
        if graceful {
            raw.expect_handshake();
        }
        raw.write(&frame(false, false, &[b'W', round]));
        whole_sent += u32::from(graceful);
        raw.write(&frame(true, false, b"partial-1"));
        raw.write(&frame(true, false, b"partial-2"));
        if truncated_frame {
            // The last frame announces 1000 octets and carries 10.
            let mut f = frame(false, false, &[b'p'; 1000]);
            f.truncate(9 + 10);
            raw.write(&f);
        }
        if graceful {
            raw.stream.shutdown(Shutdown::Write).expect("shutdown");
            // Our side closes once it has read everything up to our FIN.
            assert!(
                raw.wait_closed(Duration::from_secs(2)).is_some(),
                "round {round}: our side kept a connection whose peer left"
            );
        }
        drop(raw);
    }

    let sent = good.finish();
    let (good, others) = received.join().expect("receiver");
    assert_all_in_order(&good, sent);
    // The whole messages of the peers that left gracefully arrive, each once; those of the
    // peers that reset may be lost with the connection (RFC 30), but nothing partial comes.
    for msg in &others {
        assert!(
            msg.len() == 1 && msg[0].len() == 2 && msg[0][0] == b'W',
            "a frame of a partial message was delivered: {msg:?}"
        );
    }
    let graceful_whole = others.iter().filter(|m| m[0][1] % 2 == 0).count();
    assert_eq!(
        graceful_whole, whole_sent as usize,
        "whole messages of gracefully closed peers: {others:?}"
    );
    assert!(sent > 0);
}

// ---- 2. garbage on a listening port -------------------------------------------------------

/// A small deterministic generator for garbage.
fn xorshift_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// RFC 23 "Error Handling" (a peer that does not speak ZMTP 3 is disconnected) and RFC 37:
/// random bytes, an HTTP request, a ZMTP 1.0 identity frame, a greeting with a bad signature,
/// and, after a valid handshake, frame sizes of 2^63 and 2^64-1 (RFC 23 allows sizes below
/// 2^63) and a frame with reserved flag bits: each such connection is closed by our side, and
/// a well-behaved zmq_rs PUSH on the same PULL loses nothing.
#[test]
fn garbage_on_a_listening_port_drops_only_that_connection_rfc23() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 5000);
    let ep = bind_tcp(&pull);
    let addr = addr_of(&ep);

    let push = ours(&ctx, zmq_rs::PUSH, 5000);
    push.set_linger(GOOD_LINGER_MS).expect("linger");
    push.connect(&ep).expect("connect");
    let good = GoodSender::start(move |parts| {
        push.send_multipart(parts.iter().copied(), 0)
            .expect("good send");
    });
    let received = collect_until_end(pull);

    let mut bad_signature = greeting();
    bad_signature[9] = 0x7D; // bit 0 set (not ZMTP 1.0), but not 0x7F
    let before_handshake: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", xorshift_bytes(0x5eed, 4096)),
        ("random bytes after 0xFF", {
            let mut b = xorshift_bytes(0xbad, 4096);
            b[0] = 0xFF;
            b
        }),
        (
            "an HTTP request",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        // ZMTP 1.0: a short identity frame (length 1 counts the flags octet, body empty).
        ("a ZMTP 1.0 identity frame", vec![0x01, 0x00, 0x02, 0x00]),
        ("a greeting with a bad signature", bad_signature.to_vec()),
        ("a ZMTP 2.0 greeting", {
            let mut g = greeting()[..12].to_vec();
            g[10] = 1;
            g
        }),
    ];
    for (what, bytes) in &before_handshake {
        let mut raw = Raw::connect(addr);
        raw.write(bytes);
        assert!(
            raw.wait_closed(Duration::from_secs(2)).is_some(),
            "{what}: our side kept the connection open"
        );
    }

    let after_handshake: Vec<(&str, Vec<u8>)> = vec![
        ("a frame size of 2^63", {
            let mut f = vec![0x02];
            f.extend((1u64 << 63).to_be_bytes());
            f
        }),
        ("a frame size of 2^64-1", {
            let mut f = vec![0x02];
            f.extend(u64::MAX.to_be_bytes());
            f
        }),
        ("a command size of 2^63", {
            let mut f = vec![0x06];
            f.extend((1u64 << 63).to_be_bytes());
            f
        }),
        ("reserved flag bits", vec![0xF0, 0x01, b'x']),
    ];
    for (what, bytes) in &after_handshake {
        let mut raw = Raw::handshake(addr, "PUSH");
        raw.write(bytes);
        assert!(
            raw.wait_closed(Duration::from_secs(2)).is_some(),
            "{what}: our side kept the connection open"
        );
    }

    let sent = good.finish();
    let (good, others) = received.join().expect("receiver");
    assert_all_in_order(&good, sent);
    assert!(others.is_empty(), "garbage was delivered: {others:?}");
}

/// A peer whose bytes turn bad after some good messages: the messages before the bad frame
/// are delivered (libzmq hands each message on as it decodes it), then the connection is
/// dropped. All of it arrives in one write, so one read decodes the messages and meets the
/// error together.
#[test]
fn messages_before_a_malformed_frame_are_delivered_then_the_peer_dropped_rfc23() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 2000);
    let addr = addr_of(&bind_tcp(&pull));
    let mut raw = Raw::handshake(addr, "PUSH");
    let mut bytes = frame(false, false, b"one");
    bytes.extend(frame(false, false, b"two"));
    bytes.extend([0xF0, 0x01, b'x']); // reserved flag bits
    raw.write(&bytes);
    assert!(
        raw.wait_closed(Duration::from_secs(2)).is_some(),
        "our side kept the connection open"
    );
    for expected in [&b"one"[..], b"two"] {
        let msg = pull
            .recv_bytes(0)
            .expect("a message sent before the bad frame");
        assert_eq!(msg, expected);
    }
}

/// RFC 23 allows frame sizes up to 2^63-1, so a peer may announce one: with no MAXMSGSIZE our
/// side waits for the octets without reserving memory for them (the process would abort
/// otherwise) and keeps serving others; with MAXMSGSIZE it disconnects at once, from the
/// size field alone (libzmq's ZMQ_MAXMSGSIZE).
#[test]
fn a_huge_announced_frame_reserves_nothing_and_maxmsgsize_disconnects_it() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 2000);
    let ep = bind_tcp(&pull);
    let addr = addr_of(&ep);
    let mut huge = vec![0x02];
    huge.extend((i64::MAX as u64).to_be_bytes());
    huge.extend_from_slice(&[0xAB; 1000]);

    let mut raw = Raw::handshake(addr, "PUSH");
    raw.write(&huge);
    let push = ours(&ctx, zmq_rs::PUSH, 2000);
    push.connect(&ep).expect("connect");
    push.send("still served", 0).expect("send");
    assert_eq!(pull.recv_bytes(0).expect("good message"), b"still served");
    // The connection is legal, only slow: it stays open.
    assert_eq!(raw.wait_closed(Duration::from_millis(200)), None);

    let capped = ours(&ctx, zmq_rs::PULL, 2000);
    capped.set_maxmsgsize(1 << 20).expect("maxmsgsize");
    let capped_ep = bind_tcp(&capped);
    let mut raw = Raw::handshake(addr_of(&capped_ep), "PUSH");
    raw.write(&huge);
    assert!(
        raw.wait_closed(Duration::from_secs(2)).is_some(),
        "a frame over MAXMSGSIZE kept its connection"
    );
}

// ---- 3. slow consumers and high-water marks ---------------------------------------------------

/// Octets the tcp path between two of our sockets may hold beyond the high-water marks, with
/// 4 KiB kernel buffers: the kernel's buffers (which double what is asked, and count their
/// bookkeeping), our 64 KiB read and write batches, generously.
const TCP_SLACK_OCTETS: usize = 256 * 1024;

/// Sends with DONTWAIT until the socket stays unwritable for 300 ms; returns how many
/// messages it took.
fn fill_until_blocked(push: &Socket, size: usize) -> usize {
    let body = vec![0x5A; size];
    let mut sent = 0usize;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut msg = body.clone();
        msg[..4].copy_from_slice(&(sent as u32).to_be_bytes());
        match push.send(msg, DONTWAIT) {
            Ok(()) => sent += 1,
            Err(Error::WouldBlock) => {
                let mut items = [push.as_poll_item(zmq_rs::POLLOUT)];
                if zmq_rs::poll(&mut items, 300).expect("poll") == 0 {
                    return sent;
                }
            }
            Err(e) => panic!("send failed: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "still sending after {sent} messages"
        );
    }
}

/// RFC 30 and libzmq's SNDHWM/RCVHWM: a PUSH whose PULL does not receive queues a bounded
/// number of messages (both high-water marks, plus what the buffers between them hold),
/// then DONTWAIT sends fail with WouldBlock; nothing queued is lost: the PULL receives every
/// one, in order, once it reads.
#[test]
fn slow_consumer_holds_push_to_its_high_water_marks_rfc30() {
    const HWM: i32 = 10;
    const SIZE: usize = 1000;
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 2000);
    pull.set_rcvhwm(HWM).expect("rcvhwm");
    pull.set_rcvbuf(4096).expect("rcvbuf");
    pull.set_sndbuf(4096).expect("sndbuf");
    let ep = bind_tcp(&pull);
    let push = ours(&ctx, zmq_rs::PUSH, 2000);
    push.set_sndhwm(HWM).expect("sndhwm");
    push.set_sndbuf(4096).expect("sndbuf");
    push.set_rcvbuf(4096).expect("rcvbuf");
    push.connect(&ep).expect("connect");

    let queued = fill_until_blocked(&push, SIZE);
    let bound = 2 * HWM as usize + TCP_SLACK_OCTETS / SIZE;
    assert!(
        queued >= 2 * HWM as usize,
        "only {queued} messages fit: both high-water marks should"
    );
    assert!(
        queued <= bound,
        "{queued} messages queued for a PULL that does not read (bound {bound})"
    );
    assert!(matches!(
        push.send(vec![0; SIZE], DONTWAIT),
        Err(Error::WouldBlock)
    ));
    for i in 0..queued {
        let msg = pull
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("message {i} of {queued}: {e}"));
        assert_eq!(msg[..4], (i as u32).to_be_bytes(), "message {i}");
    }
    assert!(pull.recv_bytes(DONTWAIT).is_err());
}

/// Receives every message a SUB has queued (each starting with a sequence number).
fn drain_sequence(sub: &Socket) -> Vec<u32> {
    sub.set_rcvtimeo(300).expect("rcvtimeo");
    let mut got = Vec::new();
    while let Ok(m) = sub.recv_bytes(0) {
        got.push(u32::from_be_bytes(m[..4].try_into().expect("sequence")));
    }
    got
}

/// Publishes until the subscription is in place (a PUB drops what nobody subscribed to),
/// then empties the SUB.
fn await_subscription(publisher: &Socket, sub: &Socket) {
    sub.set_rcvtimeo(20).expect("rcvtimeo");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        publisher.send(&[0xFF; 4][..], 0).expect("probe");
        if sub.recv_bytes(0).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never arrived");
    }
    while sub.recv_bytes(0).is_ok() {}
}

/// RFC 29: a PUB never blocks; when a subscriber's queue is full it drops messages for that
/// subscriber. 100,000 DONTWAIT sends to a SUB that does not receive all succeed, quickly;
/// the SUB later gets no more than the high-water marks and the buffers between hold, in
/// order, starting with the first message.
#[test]
fn pub_never_blocks_on_a_slow_subscriber_and_holds_to_its_high_water_marks_rfc29() {
    const HWM: i32 = 10;
    const SIZE: usize = 1000;
    let ctx = Context::new();
    let publisher = ours(&ctx, zmq_rs::PUB, 2000);
    publisher.set_sndhwm(HWM).expect("sndhwm");
    publisher.set_sndbuf(4096).expect("sndbuf");
    let ep = bind_tcp(&publisher);
    let sub = ours(&ctx, zmq_rs::SUB, 2000);
    sub.set_rcvhwm(HWM).expect("rcvhwm");
    sub.set_rcvbuf(4096).expect("rcvbuf");
    sub.set_subscribe(b"").expect("subscribe");
    sub.connect(&ep).expect("connect");
    await_subscription(&publisher, &sub);

    let start = Instant::now();
    let mut body = vec![0u8; SIZE];
    for i in 0..100_000u32 {
        body[..4].copy_from_slice(&i.to_be_bytes());
        publisher
            .send(&body[..], DONTWAIT)
            .unwrap_or_else(|e| panic!("PUB send {i} failed: {e}"));
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "100,000 sends took {took:?}");

    let got = drain_sequence(&sub);
    let bound = 2 * HWM as usize + TCP_SLACK_OCTETS / SIZE;
    assert!(
        got.len() <= bound,
        "{} messages reached a SUB that did not read (bound {bound})",
        got.len()
    );
    assert!(got.len() >= HWM as usize, "only {got:?} arrived");
    assert_eq!(got.first(), Some(&0), "the oldest message was dropped");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
}

/// RFC 29 and libzmq's PUB: with a full queue the newest messages are dropped, not the
/// oldest. Over inproc no kernel buffer moves anything while the SUB does not read, so the
/// SUB must get exactly the oldest messages, without a gap, and none of the later ones.
#[test]
fn pub_drops_the_newest_messages_not_the_oldest_rfc29() {
    const HWM: i32 = 10;
    let ctx = Context::new();
    let publisher = ours(&ctx, zmq_rs::PUB, 2000);
    publisher.set_sndhwm(HWM).expect("sndhwm");
    publisher.bind("inproc://faults-pub-drops").expect("bind");
    let sub = ours(&ctx, zmq_rs::SUB, 2000);
    sub.set_rcvhwm(HWM).expect("rcvhwm");
    sub.set_subscribe(b"").expect("subscribe");
    sub.connect("inproc://faults-pub-drops").expect("connect");
    await_subscription(&publisher, &sub);

    for i in 0..100_000u32 {
        publisher
            .send(&i.to_be_bytes()[..], DONTWAIT)
            .unwrap_or_else(|e| panic!("PUB send {i} failed: {e}"));
    }
    let got = drain_sequence(&sub);
    // At least SNDHWM less the reads not yet credited to the writer (libzmq's LWM batching).
    assert!(
        (HWM as usize / 2..=2 * HWM as usize).contains(&got.len()),
        "{} messages kept: {got:?}",
        got.len()
    );
    let expected: Vec<u32> = (0..got.len() as u32).collect();
    assert_eq!(got, expected, "not the oldest messages, in order");
}

/// A PUSH bound at `name` and a PULL connected to it, both with high-water marks of `hwm`.
fn inproc_push_pull(ctx: &Context, name: &str, hwm: i32) -> (Socket, Socket) {
    let push = ours(ctx, zmq_rs::PUSH, 2000);
    push.set_sndhwm(hwm).expect("sndhwm");
    push.bind(name).expect("bind");
    let pull = ours(ctx, zmq_rs::PULL, 2000);
    pull.set_rcvhwm(hwm).expect("rcvhwm");
    pull.connect(name).expect("connect");
    (push, pull)
}

/// Counts DONTWAIT sends a PUSH takes before WouldBlock, its PULL not reading.
fn inproc_push_capacity(ctx: &Context, name: &str, hwm: i32) -> usize {
    let (push, _pull) = inproc_push_pull(ctx, name, hwm);
    let mut pushed = 0;
    while push.send("x", DONTWAIT).is_ok() {
        pushed += 1;
        assert!(pushed <= 100_000, "PUSH over inproc never blocks");
    }
    pushed
}

/// libzmq gives an inproc pipe the sum of the sender's SNDHWM and the receiver's RCVHWM
/// (`ctx_t::connect_inproc_sockets`): a PUSH whose PULL does not read blocks after 20
/// messages with both at 10 (checked against libzmq itself below), and that bound is what
/// keeps a fast producer's memory in check.
#[test]
fn inproc_push_blocks_at_sndhwm_plus_rcvhwm_like_libzmq() {
    const HWM: i32 = 10;
    let lctx = zmq::Context::new();
    let lpush = theirs(&lctx, zmq::PUSH, 2000);
    lpush.set_sndhwm(HWM).expect("sndhwm");
    lpush.bind("inproc://faults-push-hwm").expect("bind");
    let lpull = theirs(&lctx, zmq::PULL, 2000);
    lpull.set_rcvhwm(HWM).expect("rcvhwm");
    lpull.connect("inproc://faults-push-hwm").expect("connect");
    let mut theirs_took = 0;
    while lpush.send("x", zmq::DONTWAIT).is_ok() {
        theirs_took += 1;
    }
    assert_eq!(theirs_took, 2 * HWM, "libzmq's reference count changed");

    let ctx = Context::new();
    assert_eq!(
        inproc_push_capacity(&ctx, "inproc://faults-push-hwm", HWM),
        2 * HWM as usize,
        "messages a PUSH over inproc takes for a PULL that does not read"
    );
}

/// What waited in the sender's queue behind a full receiver is taken by the receiver's next
/// receives with nothing sent since: every message a PUSH sent reaches the PULL, in order
/// (RFC 30). A receive looks at an inproc link only when its hint says something was queued
/// since the last look, so a transfer that stops at a full receiver must leave the hint set.
#[test]
fn inproc_pull_takes_what_waited_behind_its_full_queue_with_nothing_sent_since_rfc30() {
    const HWM: i32 = 10;
    let ctx = Context::new();
    let (push, pull) = inproc_push_pull(&ctx, "inproc://faults-stranded", HWM);
    let mut sent = 0u32;
    while push.send(&sent.to_be_bytes()[..], DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 100_000, "PUSH over inproc never blocks");
    }
    assert!(
        sent > HWM as u32,
        "the PULL's queue never filled ({sent} sent)"
    );
    let mut got = Vec::new();
    while let Ok(m) = pull.recv_bytes(DONTWAIT) {
        got.push(u32::from_be_bytes(m[..4].try_into().expect("sequence")));
    }
    assert_eq!(got, (0..sent).collect::<Vec<_>>(), "stranded or reordered");
}

/// libzmq's inproc pipe holds SNDHWM+RCVHWM messages for a PUB whose SUB does not read
/// (20 with both at 10, checked against libzmq below); more are dropped.
#[test]
fn inproc_pub_keeps_sndhwm_plus_rcvhwm_for_a_slow_sub_like_libzmq() {
    const HWM: i32 = 10;
    let lctx = zmq::Context::new();
    let lpub = theirs(&lctx, zmq::PUB, 2000);
    lpub.set_sndhwm(HWM).expect("sndhwm");
    lpub.bind("inproc://faults-pub-hwm").expect("bind");
    let lsub = theirs(&lctx, zmq::SUB, 300);
    lsub.set_rcvhwm(HWM).expect("rcvhwm");
    lsub.set_subscribe(b"").expect("subscribe");
    lsub.connect("inproc://faults-pub-hwm").expect("connect");
    for i in 0..1000u32 {
        lpub.send(&i.to_be_bytes()[..], zmq::DONTWAIT)
            .expect("send");
    }
    let mut theirs_kept = 0;
    while lsub.recv_bytes(0).is_ok() {
        theirs_kept += 1;
    }
    assert_eq!(theirs_kept, 2 * HWM, "libzmq's reference count changed");

    let ctx = Context::new();
    let publisher = ours(&ctx, zmq_rs::PUB, 2000);
    publisher.set_sndhwm(HWM).expect("sndhwm");
    publisher.bind("inproc://faults-pub-hwm").expect("bind");
    let sub = ours(&ctx, zmq_rs::SUB, 2000);
    sub.set_rcvhwm(HWM).expect("rcvhwm");
    sub.set_subscribe(b"").expect("subscribe");
    sub.connect("inproc://faults-pub-hwm").expect("connect");
    // The subscription travels eagerly over inproc: it is in place once connect returns.
    for i in 0..1000u32 {
        publisher
            .send(&i.to_be_bytes()[..], DONTWAIT)
            .expect("send");
    }
    assert_eq!(
        drain_sequence(&sub),
        (0..2 * HWM as u32).collect::<Vec<_>>(),
        "PUB over inproc"
    );
}

// ---- 4. a thousand peers ---------------------------------------------------------------------

/// The soft limit on open files, from /proc/self/limits.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.split_whitespace().nth(3)?;
    soft.parse().ok()
}

/// RFC 28 (ROUTER): replies go to exactly the peer whose routing id they carry. 1,000 DEALERs
/// (half with routing ids of their own, half with ids the ROUTER makes up) each send their
/// name; the ROUTER, with ROUTER_MANDATORY so that nothing is dropped silently, answers each
/// by the routing id it arrived with; every DEALER gets its own answer and nothing else.
#[test]
fn a_thousand_dealers_on_one_router_each_get_their_own_reply_rfc28() {
    // Two descriptors per DEALER (its connection and the ROUTER's), and some to spare.
    let limit = open_files_limit().unwrap_or(1024);
    let count = 1000.min(limit / 2 - 50);
    assert!(
        count >= 100,
        "the open-files limit ({limit}) allows only {count} peers"
    );
    if count < 1000 {
        eprintln!("open-files limit {limit}: testing {count} peers, not 1000");
    }
    let start = Instant::now();
    let ctx = Context::new();
    let router = ours(&ctx, zmq_rs::ROUTER, 5000);
    router.set_router_mandatory(true).expect("mandatory");
    // With the default BACKLOG of 100 (libzmq's too), 1,000 connects at once overflow the
    // kernel's accept queue and the dropped SYNs are retried a second later: with libzmq on
    // both sides that takes 1.4 s instead of 0.3 s.
    router.set_backlog(2048).expect("backlog");
    let ep = bind_tcp(&router);
    let dealers: Vec<Socket> = (0..count)
        .map(|i| {
            let d = ours(&ctx, zmq_rs::DEALER, 5000);
            if i % 2 == 0 {
                d.set_routing_id(format!("dealer-{i}").as_bytes())
                    .expect("routing id");
            }
            d.connect(&ep).expect("connect");
            d.send(format!("{i}"), 0).expect("send");
            d
        })
        .collect();

    let mut seen = vec![false; count];
    for _ in 0..count {
        let parts = router
            .recv_multipart(0)
            .unwrap_or_else(|e| panic!("{} requests in: {e}", seen.iter().filter(|s| **s).count()));
        let [id, body] = parts.as_slice() else {
            panic!("not [id, body]: {parts:?}");
        };
        let i: usize = std::str::from_utf8(body)
            .expect("utf-8")
            .parse()
            .expect("a number");
        assert!(!seen[i], "request {i} arrived twice");
        seen[i] = true;
        if i % 2 == 0 {
            assert_eq!(id, format!("dealer-{i}").as_bytes(), "routing id of {i}");
        } else {
            assert_eq!(id.first(), Some(&0), "a made-up id starts with 0x00");
        }
        router
            .send_multipart([id.clone(), format!("reply to {i}").into_bytes()], 0)
            .unwrap_or_else(|e| panic!("reply to {i}: {e}"));
    }
    for (i, d) in dealers.iter().enumerate() {
        assert_eq!(
            d.recv_bytes(0)
                .unwrap_or_else(|e| panic!("dealer {i}: {e}")),
            format!("reply to {i}").into_bytes()
        );
    }
    for (i, d) in dealers.iter().enumerate() {
        assert!(
            d.recv_bytes(DONTWAIT).is_err(),
            "dealer {i} got a second reply"
        );
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "{count} peers took {took:?}");
}

// ---- 5. linger ---------------------------------------------------------------------------

/// A raw tcp listener that accepts connections and never reads or writes.
struct Mute {
    listener: std::net::TcpListener,
    accepted: Vec<TcpStream>,
}

impl Mute {
    fn new() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("mute bind");
        Self {
            listener,
            accepted: Vec::new(),
        }
    }

    fn endpoint(&self) -> String {
        format!("tcp://{}", self.listener.local_addr().expect("mute addr"))
    }

    /// Accepts one connection, waiting at most `limit`.
    fn accept(&mut self, limit: Duration) -> Option<&mut TcpStream> {
        self.listener.set_nonblocking(true).expect("nonblocking");
        let deadline = Instant::now() + limit;
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).expect("blocking");
                    self.accepted.push(s);
                    return self.accepted.last_mut();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}

/// A loopback endpoint nothing listens on (a port bound and released again).
fn refused_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("probe bind");
    format!("tcp://{}", l.local_addr().expect("probe addr"))
}

/// libzmq's LINGER 0: closing a socket discards what it queued and returns at once, and so
/// does dropping the context after it, even when the peer reads nothing: a libzmq PULL that
/// does not receive, a tcp peer that never even completes the handshake, or none at all.
#[test]
fn linger_zero_close_and_context_drop_return_at_once_with_messages_queued() {
    let lctx = zmq::Context::new();
    let lpull = theirs(&lctx, zmq::PULL, 1000);
    lpull.bind("tcp://127.0.0.1:*").expect("libzmq bind");
    let not_reading = lpull.get_last_endpoint().expect("endpoint").expect("utf-8");
    let mute = Mute::new();
    let cases = [
        ("a libzmq PULL that does not read", not_reading),
        ("a tcp peer that never speaks", mute.endpoint()),
        ("nobody", refused_endpoint()),
    ];
    for (what, ep) in cases {
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH, 1000);
        push.set_linger(-1).expect("linger");
        push.set_sndhwm(100).expect("sndhwm");
        push.connect(&ep).expect("connect");
        let mut queued = 0;
        while push.send(vec![0u8; 1000], DONTWAIT).is_ok() {
            queued += 1;
            assert!(queued < 100_000, "{what}: PUSH never fills");
        }
        assert!(queued >= 100, "{what}: only {queued} queued");
        push.set_linger(0).expect("linger 0");
        let start = Instant::now();
        drop(push);
        drop(ctx);
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(500),
            "{what}: close and context drop took {took:?}"
        );
    }
    // The kernel completed the connections to the mute listener; it is closed only now.
    drop(mute);
}

/// libzmq's LINGER: a closed socket keeps trying to deliver for LINGER and no longer; the
/// context's drop (zmq_ctx_term) waits for that, so with LINGER 200 ms and a peer that
/// cannot be reached (nothing listening, or a tcp peer that never completes the handshake)
/// it returns after about 200 ms, not earlier and not much later.
#[test]
fn linger_bounds_close_and_context_drop_for_an_unreachable_peer() {
    let mute = Mute::new();
    let cases = [
        ("nothing listening", refused_endpoint()),
        ("a tcp peer that never speaks", mute.endpoint()),
    ];
    for (what, ep) in cases {
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH, 1000);
        push.set_linger(200).expect("linger");
        push.set_reconnect_ivl(20).expect("reconnect");
        push.connect(&ep).expect("connect");
        for _ in 0..10 {
            push.send("queued", 0).expect("queue");
        }
        let start = Instant::now();
        drop(push);
        let closed = start.elapsed();
        drop(ctx);
        let took = start.elapsed();
        assert!(
            closed < Duration::from_millis(100),
            "{what}: close itself took {closed:?}"
        );
        assert!(
            took >= Duration::from_millis(150),
            "{what}: the context gave up after {took:?}, before LINGER"
        );
        assert!(
            took < Duration::from_millis(200 + 500),
            "{what}: close and context drop took {took:?}"
        );
    }
    // The kernel completed the connections to the mute listener; it is closed only now.
    drop(mute);
}

/// libzmq's LINGER, the other side of the bound: a socket closed with messages queued for a
/// peer that is not there yet keeps connecting, and delivers them if the peer comes up
/// within LINGER.
#[test]
fn linger_delivers_queued_messages_to_a_peer_that_appears_in_time() {
    let ep = refused_endpoint();
    let ctx = Context::new();
    let push = ours(&ctx, zmq_rs::PUSH, 1000);
    push.set_linger(2000).expect("linger");
    push.set_reconnect_ivl(20).expect("reconnect");
    push.connect(&ep).expect("connect");
    for i in 0..10u8 {
        push.send(vec![i], 0).expect("queue");
    }
    drop(push);
    let lctx = zmq::Context::new();
    let lpull = theirs(&lctx, zmq::PULL, 2000);
    bind_retrying(|| lpull.bind(&ep).is_ok(), "libzmq PULL");
    for i in 0..10u8 {
        assert_eq!(
            lpull
                .recv_bytes(0)
                .unwrap_or_else(|e| panic!("message {i}: {e}")),
            vec![i]
        );
    }
    drop(ctx);
}

// ---- 7. connect before bind ------------------------------------------------------------------

/// ZeroMQ's connect is asynchronous: connecting before the peer binds queues messages (up
/// to SNDHWM) and delivers them once it does. Our PUSH connects to a libzmq PULL that binds
/// later, and a libzmq PUSH to our PULL that binds later, over tcp and ipc.
#[test]
fn connect_before_bind_delivers_once_libzmq_binds() {
    for transport in [Transport::Tcp, Transport::Ipc] {
        let ep = match transport {
            Transport::Tcp => refused_endpoint(),
            Transport::Ipc => endpoint_for(Transport::Ipc),
        };
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH, 2000);
        push.set_reconnect_ivl(20).expect("reconnect");
        push.connect(&ep).expect("connect");
        for i in 0..3u8 {
            push.send(vec![i], 0).expect("queued before bind");
        }
        let lctx = zmq::Context::new();
        let lpull = theirs(&lctx, zmq::PULL, 2000);
        lpull.bind(&ep).expect("libzmq binds later");
        for i in 0..3u8 {
            assert_eq!(
                lpull
                    .recv_bytes(0)
                    .unwrap_or_else(|e| panic!("{ep} message {i}: {e}")),
                vec![i],
                "{ep}"
            );
        }
    }
    for transport in [Transport::Tcp, Transport::Ipc] {
        let ep = match transport {
            Transport::Tcp => refused_endpoint(),
            Transport::Ipc => endpoint_for(Transport::Ipc),
        };
        let lctx = zmq::Context::new();
        let lpush = theirs(&lctx, zmq::PUSH, 2000);
        lpush.set_reconnect_ivl(20).expect("reconnect");
        lpush.connect(&ep).expect("libzmq connect");
        for i in 0..3u8 {
            lpush.send(vec![i], 0).expect("libzmq queues before bind");
        }
        let ctx = Context::new();
        let pull = ours(&ctx, zmq_rs::PULL, 2000);
        pull.bind(&ep).expect("we bind later");
        for i in 0..3u8 {
            assert_eq!(
                pull.recv_bytes(0)
                    .unwrap_or_else(|e| panic!("{ep} message {i}: {e}")),
                vec![i],
                "{ep}"
            );
        }
    }
}

// ---- 8. routing to peers that are gone ---------------------------------------------------------

/// libzmq's ROUTER_MANDATORY: a message for a routing id no peer has fails with
/// EHOSTUNREACH, also once a peer that had it has gone; without it the ROUTER drops the
/// message silently (RFC 28).
#[test]
fn router_mandatory_to_an_unknown_or_departed_peer_fails_with_host_unreachable() {
    let ctx = Context::new();
    let router = ours(&ctx, zmq_rs::ROUTER, 2000);
    let ep = bind_tcp(&router);
    router
        .send_multipart([&b"nobody"[..], b"lost"], 0)
        .expect("without ROUTER_MANDATORY an unroutable message is dropped");
    router.set_router_mandatory(true).expect("mandatory");
    assert!(matches!(
        router.send_multipart([&b"nobody"[..], b"hello"], 0),
        Err(Error::HostUnreachable)
    ));

    let dealer = ours(&ctx, zmq_rs::DEALER, 2000);
    dealer.set_routing_id(b"leaving").expect("routing id");
    dealer.connect(&ep).expect("connect");
    dealer.send("hi", 0).expect("send");
    assert_eq!(
        router.recv_multipart(0).expect("hi"),
        vec![b"leaving".to_vec(), b"hi".to_vec()]
    );
    router
        .send_multipart([&b"leaving"[..], b"still here"], 0)
        .expect("a connected peer is routable");
    assert_eq!(dealer.recv_bytes(0).expect("reply"), b"still here");
    drop(dealer);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match router.send_multipart([&b"leaving"[..], b"gone?"], DONTWAIT) {
            Err(Error::HostUnreachable) => break,
            Ok(()) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
        assert!(Instant::now() < deadline, "a departed peer stayed routable");
        thread::sleep(Duration::from_millis(10));
    }
}

/// RFC 28 (REP): a reply whose requester has gone is dropped silently: send succeeds at once
/// and the REP goes on serving others, whose replies reach them and only them. Covered both
/// before our side can have noticed the disconnection and after.
#[test]
fn rep_drops_the_reply_to_a_departed_requester_silently_rfc28() {
    for pause in [Duration::ZERO, Duration::from_millis(200)] {
        let ctx = Context::new();
        let rep = ours(&ctx, zmq_rs::REP, 2000);
        let ep = bind_tcp(&rep);
        let req = ours(&ctx, zmq_rs::REQ, 2000);
        req.connect(&ep).expect("connect");
        req.send("first", 0).expect("request");
        assert_eq!(rep.recv_bytes(0).expect("request in"), b"first");
        drop(req);
        // Not synchronisation: both orders must behave the same; this covers the second.
        thread::sleep(pause);
        let start = Instant::now();
        rep.send("to nobody", 0)
            .expect("a reply to a departed requester is dropped, not refused");
        assert!(start.elapsed() < Duration::from_millis(500), "send waited");

        let other = ours(&ctx, zmq_rs::REQ, 2000);
        other.connect(&ep).expect("connect");
        other.send("second", 0).expect("request");
        assert_eq!(rep.recv_bytes(0).expect("next request"), b"second");
        rep.send("to other", 0).expect("reply");
        assert_eq!(other.recv_bytes(0).expect("reply"), b"to other");
        assert!(other.recv_bytes(DONTWAIT).is_err(), "a stray reply");
    }
}

// ---- 9. heartbeats ---------------------------------------------------------------------------

/// The TTL (in tenths of a second) and context of a PING command (RFC 37 "The PING
/// Command"), if `f` is one.
fn ping_of(f: &RawFrame) -> Option<(u16, Vec<u8>)> {
    if !f.is_command(b"PING") {
        return None;
    }
    let ttl = u16::from_be_bytes(f.body.get(5..7)?.try_into().ok()?);
    Some((ttl, f.body[7..].to_vec()))
}

/// The heartbeat settings of one side.
#[derive(Debug, Clone, Copy)]
struct Beat {
    ivl: i32,
    timeout: i32,
    ttl: i32,
}

const NO_BEAT: Beat = Beat {
    ivl: 0,
    timeout: -1,
    ttl: 0,
};
const BEAT: Beat = Beat {
    ivl: 100,
    timeout: 300,
    ttl: 500,
};

/// One DEALER of ours and one of libzmq's, `ours_connects` deciding who connects (with
/// reconnection off, so a dropped connection stays dropped), each with its heartbeats; after
/// `idle` without traffic, a message goes each way.
fn idle_with_heartbeats(ours_connects: bool, our_beat: Beat, their_beat: Beat, idle: Duration) {
    let label = format!(
        "ours {} with {our_beat:?}, libzmq with {their_beat:?}",
        if ours_connects { "connects" } else { "binds" }
    );
    let ctx = Context::new();
    let a = ours(&ctx, zmq_rs::DEALER, 1000);
    a.set_heartbeat_ivl(our_beat.ivl).expect("ivl");
    if our_beat.timeout >= 0 {
        // As libzmq, -1 (the default: use the interval) cannot be set explicitly.
        a.set_heartbeat_timeout(our_beat.timeout).expect("timeout");
    }
    a.set_heartbeat_ttl(our_beat.ttl).expect("ttl");
    let lctx = zmq::Context::new();
    let b = theirs(&lctx, zmq::DEALER, 1000);
    b.set_heartbeat_ivl(their_beat.ivl).expect("libzmq ivl");
    if their_beat.timeout >= 0 {
        // libzmq refuses -1 (its default), unlike its other millisecond options.
        b.set_heartbeat_timeout(their_beat.timeout)
            .expect("libzmq timeout");
    }
    b.set_heartbeat_ttl(their_beat.ttl).expect("libzmq ttl");
    if ours_connects {
        b.bind("tcp://127.0.0.1:*").expect("libzmq bind");
        let ep = b.get_last_endpoint().expect("endpoint").expect("utf-8");
        a.set_reconnect_ivl(-1).expect("no reconnect");
        a.connect(&ep).expect("connect");
    } else {
        let ep = bind_tcp(&a);
        b.set_reconnect_ivl(-1).expect("libzmq no reconnect");
        b.connect(&ep).expect("libzmq connect");
    }
    a.send("hello", 0).expect("send");
    assert_eq!(b.recv_bytes(0).expect("hello"), b"hello", "{label}");
    b.send("hello back", 0).expect("libzmq send");
    assert_eq!(
        a.recv_bytes(0).expect("hello back"),
        b"hello back",
        "{label}"
    );

    thread::sleep(idle); // the subject of the test: a connection with no traffic
    a.send("after idle", 0).expect("send");
    assert_eq!(
        b.recv_bytes(0)
            .unwrap_or_else(|e| panic!("{label}: ours to libzmq after idle: {e}")),
        b"after idle"
    );
    b.send("after idle back", 0).expect("libzmq send");
    assert_eq!(
        a.recv_bytes(0)
            .unwrap_or_else(|e| panic!("{label}: libzmq to ours after idle: {e}")),
        b"after idle back"
    );
}

/// RFC 37 heartbeats between us and libzmq keep an idle connection up: each side's PINGs
/// are answered by the other's PONGs (or its own traffic) before HEARTBEAT_TIMEOUT, whether
/// we connect or bind, and whether we, libzmq or both send PINGs. The connecting side does
/// not reconnect, so a connection dropped for a missed heartbeat would lose the messages.
#[test]
fn heartbeats_keep_an_idle_connection_with_libzmq_up_rfc37() {
    let idle = Duration::from_secs(1);
    let runs: Vec<_> = [true, false]
        .into_iter()
        .flat_map(|ours_connects| {
            [(BEAT, NO_BEAT), (NO_BEAT, BEAT), (BEAT, BEAT)]
                .into_iter()
                .map(move |(o, t)| (ours_connects, o, t))
        })
        .map(|(c, o, t)| thread::spawn(move || idle_with_heartbeats(c, o, t, idle)))
        .collect();
    for run in runs {
        run.join().expect("an idle connection dropped");
    }
}

/// RFC 37, with a receiver paused in the middle of a burst: our DEALER's `recv` was waiting
/// when two messages arrived together, took the first and left the second queued, and then
/// the application does something else for a second. libzmq's PINGs (HEARTBEAT_TIMEOUT 300
/// ms) must still be answered meanwhile (as libzmq's own I/O thread would), or libzmq drops
/// the connection: it does not reconnect here, so the messages after the pause would be lost.
#[test]
fn a_receiver_paused_mid_burst_still_answers_heartbeats_rfc37() {
    let ctx = Context::new();
    let ours = ours(&ctx, zmq_rs::DEALER, 2000);
    let ep = bind_tcp(&ours);
    let lctx = zmq::Context::new();
    let theirs = theirs(&lctx, zmq::DEALER, 2000);
    theirs.set_heartbeat_ivl(BEAT.ivl).expect("libzmq ivl");
    theirs
        .set_heartbeat_timeout(BEAT.timeout)
        .expect("libzmq timeout");
    theirs.set_reconnect_ivl(-1).expect("libzmq no reconnect");
    theirs.connect(&ep).expect("libzmq connect");
    ours.send("hello", 0).expect("send");
    assert_eq!(theirs.recv_bytes(0).expect("hello"), b"hello");

    // Our recv waits first; both messages then arrive in one burst.
    let burst = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        theirs.send("first", 0).expect("libzmq send");
        theirs.send("second", 0).expect("libzmq send");
        theirs
    });
    assert_eq!(ours.recv_bytes(0).expect("first"), b"first");
    let theirs = burst.join().expect("burst");

    thread::sleep(Duration::from_secs(1)); // busy elsewhere, "second" still queued
    ours.send("after the pause", 0).expect("send");
    assert_eq!(
        theirs.recv_bytes(0).expect("libzmq dropped the connection"),
        b"after the pause"
    );
    theirs.send("third", 0).expect("libzmq send");
    assert_eq!(ours.recv_bytes(0).expect("second"), b"second");
    assert_eq!(ours.recv_bytes(0).expect("third"), b"third");
}

/// RFC 37: a peer that stops answering is dropped. A raw PUSH completes the handshake with
/// our PULL (HEARTBEAT_IVL 100 ms, HEARTBEAT_TIMEOUT 300 ms, HEARTBEAT_TTL 500 ms), then
/// never answers: it sees our PINGs, each announcing a TTL of 5 tenths of a second, and then
/// our side closes the connection, after HEARTBEAT_TIMEOUT and within about IVL + TIMEOUT.
#[test]
fn a_peer_that_stops_answering_is_dropped_within_the_heartbeat_timeout_rfc37() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 1000);
    pull.set_heartbeat_ivl(100).expect("ivl");
    pull.set_heartbeat_timeout(300).expect("timeout");
    pull.set_heartbeat_ttl(500).expect("ttl");
    let ep = bind_tcp(&pull);
    let mut raw = Raw::handshake(addr_of(&ep), "PUSH");
    let silent_since = Instant::now();
    let first = raw.read_frame().expect("a PING");
    let (ttl, context) = ping_of(&first).unwrap_or_else(|| panic!("not a PING: {first:?}"));
    assert_eq!(ttl, 5, "HEARTBEAT_TTL 500 ms is 5 tenths of a second");
    assert!(context.is_empty(), "libzmq sends no PING context");
    let closed = raw
        .wait_closed(Duration::from_secs(2))
        .map(|_| silent_since.elapsed());
    let closed = closed.expect("our side kept a silent peer");
    assert!(
        closed >= Duration::from_millis(300),
        "dropped after {closed:?}, before HEARTBEAT_TIMEOUT"
    );
    assert!(
        closed < Duration::from_millis(100 + 300 + 500),
        "dropped only after {closed:?}"
    );
}

/// RFC 37, for a connecting socket: the dead connection is dropped after HEARTBEAT_TIMEOUT
/// and, as after any disconnection, our DEALER connects again (RECONNECT_IVL 50 ms).
#[test]
fn a_connecting_socket_drops_a_silent_peer_and_reconnects_rfc37() {
    let ctx = Context::new();
    let dealer = ours(&ctx, zmq_rs::DEALER, 1000);
    dealer.set_heartbeat_ivl(100).expect("ivl");
    dealer.set_heartbeat_timeout(300).expect("timeout");
    dealer.set_reconnect_ivl(50).expect("reconnect");
    let mut listener = Mute::new();
    dealer.connect(&listener.endpoint()).expect("connect");

    let stream = listener
        .accept(Duration::from_secs(2))
        .expect("first connection")
        .try_clone()
        .expect("clone");
    let mut raw = Raw::new(stream);
    raw.send_handshake("DEALER");
    raw.expect_handshake();
    let silent_since = Instant::now();
    let closed = raw.wait_closed(Duration::from_secs(2));
    let closed = closed
        .map(|_| silent_since.elapsed())
        .expect("our side kept a silent peer");
    assert!(
        (Duration::from_millis(300)..Duration::from_millis(900)).contains(&closed),
        "dropped after {closed:?}"
    );
    let again = listener.accept(Duration::from_secs(2));
    assert!(again.is_some(), "no reconnection after the heartbeat drop");
    assert_eq!(listener.accepted.len(), 2);
}

/// RFC 37 "The PING Command": a PING is answered with a PONG echoing its context, and its TTL
/// tells us how long the peer may stay silent: with no heartbeats of our own, a peer that
/// announced a TTL of 300 ms and then went quiet is dropped after about 300 ms.
#[test]
fn a_ping_is_answered_and_its_ttl_is_honoured_rfc37() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 1000);
    let ep = bind_tcp(&pull);
    let mut raw = Raw::handshake(addr_of(&ep), "PUSH");
    let mut ping = b"\x04PING".to_vec();
    ping.extend(3u16.to_be_bytes());
    ping.extend_from_slice(b"ctx-42");
    raw.write(&frame(false, true, &ping));
    let silent_since = Instant::now();
    let pong = raw.read_frame().expect("a PONG");
    assert!(pong.is_command(b"PONG"), "not a PONG: {pong:?}");
    assert_eq!(&pong.body[5..], b"ctx-42", "the PONG echoes the context");
    let closed = raw
        .wait_closed(Duration::from_secs(2))
        .map(|_| silent_since.elapsed())
        .expect("our side ignored the peer's TTL");
    assert!(
        (Duration::from_millis(250)..Duration::from_millis(900)).contains(&closed),
        "dropped after {closed:?} with a TTL of 300 ms"
    );
}

// ---- bursts --------------------------------------------------------------------------------

/// Sends `n` messages of `size` octets from our PUSH to `pull` (unlimited HWMs, so nothing
/// waits on them) and counts what arrives within 2 s of silence.
fn burst(push: &Socket, recv: &dyn Fn() -> bool, n: usize, size: usize) -> usize {
    let body = vec![0xA5u8; size];
    for i in 0..n {
        push.send(&body[..], 0)
            .unwrap_or_else(|e| panic!("send {i}: {e}"));
    }
    let mut got = 0;
    while got < n && recv() {
        got += 1;
    }
    got
}

/// RFC 30: everything a PUSH sends reaches its PULL, in a burst too. Tens of megabytes sent
/// at once over tcp (64 messages of 1 MiB, 2,000 of 10 kB) arrive whole, at a libzmq PULL
/// and at ours; over ipc as well.
#[test]
fn a_burst_of_megabytes_arrives_whole_rfc30() {
    for transport in [Transport::Tcp, Transport::Ipc] {
        for (n, size) in [(64, 1 << 20), (2000, 10_000)] {
            let label = format!("{n} x {size} octets over {transport:?}");
            let ctx = Context::new();
            let lctx = zmq::Context::new();
            let lpull = theirs(&lctx, zmq::PULL, 2000);
            lpull.set_rcvhwm(0).expect("rcvhwm");
            lpull.bind(&endpoint_for(transport)).expect("libzmq bind");
            let ep = lpull.get_last_endpoint().expect("endpoint").expect("utf-8");
            let push = ours(&ctx, zmq_rs::PUSH, 2000);
            push.set_sndhwm(0).expect("sndhwm");
            push.connect(&ep).expect("connect");
            let got = burst(&push, &|| lpull.recv_bytes(0).is_ok(), n, size);
            assert_eq!(got, n, "to libzmq: {label}");

            let pull = ours(&ctx, zmq_rs::PULL, 2000);
            pull.set_rcvhwm(0).expect("rcvhwm");
            pull.bind(&endpoint_for(transport)).expect("bind");
            let ep = pull.get_last_endpoint().expect("endpoint");
            let push = ours(&ctx, zmq_rs::PUSH, 2000);
            push.set_sndhwm(0).expect("sndhwm");
            push.connect(&ep).expect("connect");
            let got = burst(&push, &|| pull.recv_bytes(0).is_ok(), n, size);
            assert_eq!(got, n, "to ours: {label}");
        }
    }
}

// ---- stalled peers and handshakes --------------------------------------------------------------

/// RFC 30 (PUSH): a peer that stops reading gets no more once its queue is full; the others
/// get the rest. Our PUSH (SNDHWM 10, 4 KiB kernel buffers) has a raw PULL that completes
/// the handshake and never reads, and a libzmq PULL that does: every send succeeds within
/// its timeout, and the libzmq PULL gets all but the few the stalled peer absorbed, in order.
/// (3,000 messages of 1,000 octets: under the 4 MiB at which the burst bug above strikes.)
#[test]
fn a_peer_that_stops_reading_does_not_stall_a_push_rfc30() {
    const N: u32 = 3000;
    let ctx = Context::new();
    let push = ours(&ctx, zmq_rs::PUSH, 2000);
    push.set_sndhwm(10).expect("sndhwm");
    push.set_sndbuf(4096).expect("sndbuf");
    let monitor = push.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
    let ep = bind_tcp(&push);
    let stalled = Raw::handshake(addr_of(&ep), "PULL");
    // Our side has the stalled peer once its handshake succeeded there too.
    loop {
        let event = monitor
            .recv(Some(Duration::from_secs(2)))
            .expect("no HANDSHAKE_SUCCEEDED");
        if event.event == zmq_rs::SocketEvent::HandshakeSucceeded {
            break;
        }
    }

    let lctx = zmq::Context::new();
    let lpull = theirs(&lctx, zmq::PULL, 2000);
    lpull.set_rcvbuf(4096).expect("rcvbuf");
    lpull.connect(&ep).expect("libzmq connect");
    let receiver = thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(m) = lpull.recv_bytes(0) {
            let seq = u32::from_be_bytes(m[..4].try_into().expect("sequence"));
            got.push(seq);
            if seq == N - 1 {
                break;
            }
        }
        got
    });
    let mut body = vec![0u8; 1000];
    for i in 0..N {
        body[..4].copy_from_slice(&i.to_be_bytes());
        push.send(&body[..], 0)
            .unwrap_or_else(|e| panic!("send {i} with a stalled peer: {e}"));
    }
    let got = receiver.join().expect("receiver");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order");
    let absorbed = N as usize - got.len();
    assert!(
        absorbed <= 10 + TCP_SLACK_OCTETS / 1000,
        "the stalled peer took {absorbed} messages"
    );
    // The stalled peer was given some: it was a peer, not ignored.
    assert!(absorbed > 0, "the stalled peer got nothing");
    drop(stalled.stream.shutdown(Shutdown::Both));
}

/// RFC 29 (PUB): a subscriber that stops reading loses messages, the others do not. Our PUB
/// serves a raw SUB that subscribes to everything and never reads, and a libzmq SUB that
/// keeps up (the PUB sends in batches of 100 and waits for each to arrive there): the libzmq
/// SUB receives all 3,000, in order.
#[test]
fn a_subscriber_that_stops_reading_costs_the_others_nothing_rfc29() {
    const N: u32 = 3000;
    let ctx = Context::new();
    let publisher = ours(&ctx, zmq_rs::PUB, 2000);
    // SNDHWM applies to each subscriber's pipe: the default 1000 holds a batch of 100.
    publisher.set_sndbuf(4096).expect("sndbuf");
    let ep = bind_tcp(&publisher);
    let mut stalled = Raw::handshake(addr_of(&ep), "SUB");
    stalled.write(&command(b"SUBSCRIBE", b""));

    let lctx = zmq::Context::new();
    let sub = theirs(&lctx, zmq::SUB, 2000);
    sub.set_subscribe(b"").expect("subscribe");
    sub.connect(&ep).expect("libzmq connect");
    // Until the libzmq SUB's subscription is in place (both subscriptions are then).
    sub.set_rcvtimeo(20).expect("rcvtimeo");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        publisher.send(&[0xFF; 4][..], 0).expect("probe");
        if sub.recv_bytes(0).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "no subscription");
    }
    while sub.recv_bytes(0).is_ok() {}
    sub.set_rcvtimeo(2000).expect("rcvtimeo");

    let mut body = vec![0u8; 1000];
    for batch in 0..N / 100 {
        for i in batch * 100..(batch + 1) * 100 {
            body[..4].copy_from_slice(&i.to_be_bytes());
            publisher.send(&body[..], DONTWAIT).expect("PUB send");
        }
        for i in batch * 100..(batch + 1) * 100 {
            let m = sub
                .recv_bytes(0)
                .unwrap_or_else(|e| panic!("message {i} lost: {e}"));
            assert_eq!(m[..4], i.to_be_bytes(), "message {i}");
        }
    }
    // The stalled subscriber was served until its queue was full.
    let mut f = stalled.read_frame().expect("the stalled SUB got messages");
    while f.flags & 0x04 != 0 {
        f = stalled.read_frame().expect("a message after commands");
    }
    assert!(matches!(f.body.len(), 4 | 1000), "{f:?}");
}

/// libzmq's HANDSHAKE_IVL: a connection that does not complete the ZMTP handshake in time
/// is closed, whether the peer sends nothing, half a greeting, or a greeting and no READY.
#[test]
fn a_handshake_that_does_not_finish_in_time_is_dropped() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 1000);
    pull.set_handshake_ivl(200).expect("handshake ivl");
    let ep = bind_tcp(&pull);
    let addr = addr_of(&ep);
    let cases: [(&str, Vec<u8>); 3] = [
        ("nothing", Vec::new()),
        ("half a greeting", greeting()[..10].to_vec()),
        ("a greeting and no READY", greeting().to_vec()),
    ];
    for (what, bytes) in cases {
        let mut raw = Raw::connect(addr);
        raw.write(&bytes);
        let started = Instant::now();
        let closed = raw
            .wait_closed(Duration::from_secs(2))
            .map(|_| started.elapsed())
            .unwrap_or_else(|| panic!("{what}: the connection stayed open"));
        assert!(
            (Duration::from_millis(150)..Duration::from_millis(800)).contains(&closed),
            "{what}: closed after {closed:?} with HANDSHAKE_IVL 200 ms"
        );
    }
}

// ---- peers that are refused, endpoints that go ------------------------------------------------

/// libzmq's ROUTER without ROUTER_HANDOVER (`router_t::identify_peer`): a second peer
/// announcing a routing id already in use is ignored; the first keeps the id, its messages
/// and its replies; the second's messages are not delivered and it gets no replies.
#[test]
fn router_keeps_the_first_peer_of_a_duplicate_routing_id_rfc28() {
    let ctx = Context::new();
    let router = ours(&ctx, zmq_rs::ROUTER, 300);
    let ep = bind_tcp(&router);
    let lctx = zmq::Context::new();
    let first = theirs(&lctx, zmq::DEALER, 300);
    first.set_identity(b"x").expect("identity");
    first.connect(&ep).expect("connect");
    first.send("from first", 0).expect("send");
    assert_eq!(
        router.recv_multipart(0).expect("first"),
        vec![b"x".to_vec(), b"from first".to_vec()]
    );
    let second = theirs(&lctx, zmq::DEALER, 300);
    second.set_identity(b"x").expect("identity");
    second.connect(&ep).expect("connect");
    second.send("from second", 0).expect("send");
    // The second's message, had it been taken, was sent before this one.
    thread::sleep(Duration::from_millis(100));
    first.send("first again", 0).expect("send");
    assert_eq!(
        router.recv_multipart(0).expect("first again"),
        vec![b"x".to_vec(), b"first again".to_vec()]
    );
    assert!(router.recv_multipart(0).is_err(), "the duplicate's message");
    router
        .send_multipart([&b"x"[..], b"reply"], 0)
        .expect("reply");
    assert_eq!(first.recv_bytes(0).expect("reply"), b"reply");
    assert!(second.recv_bytes(0).is_err(), "the duplicate got the reply");
}

/// RFC 31: a PAIR has one peer at a time. While libzmq PAIR A is connected to our PAIR, a
/// second one's messages are not delivered and it receives nothing.
#[test]
fn pair_ignores_a_second_peer_while_it_has_one_rfc31() {
    let ctx = Context::new();
    let pair = ours(&ctx, zmq_rs::PAIR, 300);
    let ep = bind_tcp(&pair);
    let lctx = zmq::Context::new();
    let a = theirs(&lctx, zmq::PAIR, 300);
    a.connect(&ep).expect("connect");
    a.send("from A", 0).expect("send");
    assert_eq!(pair.recv_bytes(0).expect("A"), b"from A");
    let b = theirs(&lctx, zmq::PAIR, 300);
    b.connect(&ep).expect("connect");
    b.send("from B", 0).expect("queued at B");
    thread::sleep(Duration::from_millis(100));
    a.send("A again", 0).expect("send");
    assert_eq!(pair.recv_bytes(0).expect("A again"), b"A again");
    assert!(pair.recv_bytes(0).is_err(), "B's message was delivered");
    pair.send("to A", 0).expect("send");
    assert_eq!(a.recv_bytes(0).expect("to A"), b"to A");
    assert!(b.recv_bytes(0).is_err(), "B received");
}

/// libzmq unlinks a socket file left at an ipc path (by a process that died) before it
/// binds: binding there succeeds and serves connections.
#[test]
fn binding_over_a_stale_ipc_socket_file_works() {
    let ep = endpoint_for(Transport::Ipc);
    let path = ep.strip_prefix("ipc://").expect("ipc path").to_owned();
    // std's listener does not unlink its file when dropped: a stale socket file remains.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("stale listener"));
    assert!(std::path::Path::new(&path).exists());
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 2000);
    pull.bind(&ep).expect("bind over a stale socket file");
    let lctx = zmq::Context::new();
    let push = theirs(&lctx, zmq::PUSH, 2000);
    push.connect(&ep).expect("libzmq connect");
    push.send("via ipc", 0).expect("send");
    assert_eq!(pull.recv_bytes(0).expect("message"), b"via ipc");
}

/// libzmq's zmq_disconnect: the messages queued for that endpoint are dropped and the socket
/// stops connecting to it (a peer binding there later gets nothing); with no peer left, a
/// PUSH would block; disconnecting again is ENOENT.
#[test]
fn disconnect_drops_what_was_queued_and_stops_connecting() {
    let ep = refused_endpoint();
    let ctx = Context::new();
    let push = ours(&ctx, zmq_rs::PUSH, 300);
    push.set_reconnect_ivl(20).expect("reconnect");
    push.connect(&ep).expect("connect");
    for _ in 0..3 {
        push.send("queued", 0).expect("queue");
    }
    push.disconnect(&ep).expect("disconnect");
    assert!(matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)));
    assert!(matches!(
        push.disconnect(&ep),
        Err(Error::NoSuchEndpoint(_))
    ));
    let lctx = zmq::Context::new();
    let pull = theirs(&lctx, zmq::PULL, 500);
    pull.bind(&ep).expect("libzmq bind");
    assert!(
        pull.recv_bytes(0).is_err(),
        "a disconnected endpoint got messages"
    );
}

/// libzmq 4.3's zmq_unbind: the endpoint accepts no new connections, but connections it
/// already accepted stay and keep delivering.
#[test]
fn unbind_stops_accepting_but_keeps_accepted_connections() {
    let ctx = Context::new();
    let pull = ours(&ctx, zmq_rs::PULL, 2000);
    let ep = bind_tcp(&pull);
    let lctx = zmq::Context::new();
    let push = theirs(&lctx, zmq::PUSH, 2000);
    push.connect(&ep).expect("connect");
    push.send("before", 0).expect("send");
    assert_eq!(pull.recv_bytes(0).expect("before"), b"before");
    pull.unbind(&ep).expect("unbind");
    assert!(matches!(pull.unbind(&ep), Err(Error::NoSuchEndpoint(_))));
    let deadline = Instant::now() + Duration::from_secs(2);
    while TcpStream::connect(addr_of(&ep)).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after unbind");
        thread::sleep(Duration::from_millis(10));
    }
    push.send("after", 0).expect("send");
    assert_eq!(
        pull.recv_bytes(0).expect("an accepted connection stays"),
        b"after"
    );
}
