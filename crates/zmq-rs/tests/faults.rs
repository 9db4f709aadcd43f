//! Faults: peers that die mid-message, speak garbage, stop reading or stop answering, restart,
//! or come and go by the thousand. Each test names the behaviour a user relies on and, where
//! one applies, the RFC that asks for it.
//!
//! Raw peers are plain `std::net::TcpStream`s speaking ZMTP 3.1 by hand (RFC 23/37), so that
//! they can misbehave in ways no library peer would. Every receive has a timeout: a test that
//! goes wrong fails, it does not hang.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use zmq_rs::{Context, Socket, SocketType};

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
        match push.send(msg, zmq_rs::DONTWAIT) {
            Ok(()) => sent += 1,
            Err(zmq_rs::Error::WouldBlock) => {
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
        push.send(vec![0; SIZE], zmq_rs::DONTWAIT),
        Err(zmq_rs::Error::WouldBlock)
    ));
    for i in 0..queued {
        let msg = pull
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("message {i} of {queued}: {e}"));
        assert_eq!(msg[..4], (i as u32).to_be_bytes(), "message {i}");
    }
    assert!(pull.recv_bytes(zmq_rs::DONTWAIT).is_err());
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
            .send(&body[..], zmq_rs::DONTWAIT)
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
            .send(&i.to_be_bytes()[..], zmq_rs::DONTWAIT)
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

/// Counts DONTWAIT sends a PUSH takes before WouldBlock, its PULL not reading.
fn inproc_push_capacity(ctx: &Context, name: &str, hwm: i32) -> usize {
    let push = ours(ctx, zmq_rs::PUSH, 2000);
    push.set_sndhwm(hwm).expect("sndhwm");
    push.bind(name).expect("bind");
    let pull = ours(ctx, zmq_rs::PULL, 2000);
    pull.set_rcvhwm(hwm).expect("rcvhwm");
    pull.connect(name).expect("connect");
    let mut pushed = 0;
    while push.send("x", zmq_rs::DONTWAIT).is_ok() {
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
#[ignore = "bug: an inproc link's in-flight buffer holds up to 256 messages beyond SNDHWM+RCVHWM (PUSH with both at 10 takes 280)"]
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

/// libzmq's inproc pipe holds SNDHWM+RCVHWM messages for a PUB whose SUB does not read
/// (20 with both at 10, checked against libzmq below); more are dropped.
#[test]
#[ignore = "bug: inproc PUB keeps only SNDHWM messages for a SUB that does not read (libzmq keeps SNDHWM+RCVHWM)"]
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
            .send(&i.to_be_bytes()[..], zmq_rs::DONTWAIT)
            .expect("send");
    }
    assert_eq!(
        drain_sequence(&sub),
        (0..2 * HWM as u32).collect::<Vec<_>>(),
        "PUB over inproc"
    );
}
