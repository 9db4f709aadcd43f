//! Hostile input never makes a session allocate more than its configured maximum message size
//! (libzmq's MAXMSGSIZE), however large the lengths it announces (CVE-2019-6250 and kin).
//!
//! A counting global allocator records, per thread, the live bytes and the largest single
//! allocation while a session chews on hostile bytes that are already in its receive buffer.
//! This needs `unsafe` for `GlobalAlloc`, which is why it lives in its own test binary, outside
//! the crate that forbids it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use quickcheck::{QuickCheck, TestResult};
use zmtp_proto::{
    AuthResult, Command, Greeting, MechanismConfig, MechanismName, Properties, Session,
    SessionConfig, SessionEvent, SocketType, TxBuf,
};

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn record(delta: isize, size: usize) {
    if size > 0 {
        let _ = COUNT.try_with(|count| count.set(count.get() + 1));
    }
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// bookkeeping only touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize, layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize, layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(-(layout.size() as isize), 0);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Count the worst case, a moving realloc: both blocks live for a moment.
        record(new_size as isize, new_size);
        record(-(layout.size() as isize), 0);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What running `f` allocated on this thread: peak live bytes above the start, and the largest
/// single allocation.
fn measure(f: impl FnOnce()) -> (usize, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    LARGEST.with(|l| l.set(0));
    f();
    let peak = PEAK.with(Cell::get) - start;
    (peak.max(0) as usize, LARGEST.with(Cell::get))
}

const MAX: u64 = 64 * 1024;

/// The virtual clock's origin.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn config(server: bool, plain: bool, max: Option<u64>) -> SessionConfig {
    let mut config = SessionConfig::new(if server {
        SocketType::Router
    } else {
        SocketType::Dealer
    });
    config.max_msg_size = max;
    config.heartbeat_interval = Some(Duration::from_millis(10));
    config.mechanism = match (plain, server) {
        (false, _) => MechanismConfig::Null,
        (true, true) => MechanismConfig::PlainServer,
        (true, false) => MechanismConfig::PlainClient {
            username: Bytes::from_static(b"user"),
            password: Bytes::from_static(b"pass"),
        },
    };
    config
}

/// A valid greeting and (for NULL) READY, so hostile bytes reach the traffic phase.
fn handshake_prefix(plain: bool) -> Vec<u8> {
    let mechanism = if plain {
        MechanismName::PLAIN
    } else {
        MechanismName::NULL
    };
    let mut out = Vec::new();
    Greeting::new(mechanism, false).encode(&mut out);
    if !plain {
        let mut properties = Properties::new();
        properties.insert(
            Bytes::from_static(b"Socket-Type"),
            Bytes::from_static(b"DEALER"),
        );
        Command::Ready { properties }.encode(&mut out);
    }
    out
}

/// Feeds `input` (already in memory) to a fresh session and drives it to the end, measuring
/// only what the session allocates.
fn run(server: bool, plain: bool, input: &[u8]) -> (usize, usize) {
    run_with(Some(MAX), server, plain, input)
}

fn run_with(max: Option<u64>, server: bool, plain: bool, input: &[u8]) -> (usize, usize) {
    let now = origin();
    let mut session = Session::new(now, config(server, plain, max));
    let mut rx = BytesMut::from(input);
    let mut tx = TxBuf::with_capacity(64 * 1024);
    let mut events = Vec::with_capacity(64);
    measure(|| {
        let mut clock = now;
        for _ in 0..64 {
            match session.poll_event(clock, &mut rx) {
                Ok(Some(SessionEvent::Authenticate(_))) => session.handle_auth(
                    clock,
                    AuthResult::Allow {
                        user_id: Bytes::new(),
                    },
                ),
                Ok(Some(event)) => {
                    if events.len() < events.capacity() {
                        events.push(event);
                    }
                }
                Ok(None) | Err(_) => break,
            }
            clock += Duration::from_millis(5);
            let _ = session.handle_timeout(clock);
            session.poll_transmit(clock, &mut tx);
            tx.clear();
        }
    })
}

fn assert_bounded(what: &str, (peak, largest): (usize, usize)) {
    let max = MAX as usize;
    assert!(largest <= max, "{what}: one allocation of {largest} octets");
    assert!(
        peak <= 2 * max + 32 * 1024,
        "{what}: {peak} octets live at the peak"
    );
}

#[test]
fn encoding_into_a_drained_txbuf_does_not_allocate() {
    let now = origin();
    let mut session = Session::new(now, config(false, false, None));
    let mut rx = BytesMut::from(&handshake_prefix(false)[..]);
    while let Ok(Some(_)) = session.poll_event(now, &mut rx) {}
    assert!(session.is_ready());
    let mut tx = TxBuf::new();
    let small = Bytes::from(vec![1u8; 64]);
    let large = Bytes::from(vec![2u8; 8192]);
    // As a driver encodes: one by one, and in batches from its own queue (`send_batch`).
    let mut queue = std::collections::VecDeque::new();
    let mut round = |session: &mut Session, tx: &mut TxBuf| {
        for _ in 0..250 {
            let msg = zmtp_proto::Msg::from_frames([small.clone(), small.clone(), large.clone()]);
            let sent = session.send(zmtp_proto::Traffic::Message(msg), tx);
            assert!(sent.is_ok());
        }
        for _ in 0..250 {
            let msg = zmtp_proto::Msg::from_frames([small.clone(), small.clone(), large.clone()]);
            queue.push_back(zmtp_proto::Traffic::Message(msg));
        }
        assert_eq!(session.send_batch(&mut queue, tx, usize::MAX), 250);
        // The transport writes everything.
        tx.advance(tx.len());
    };
    // Warm up: the staging area and the chunk queue reach their working size.
    round(&mut session, &mut tx);
    round(&mut session, &mut tx);
    let before = COUNT.with(Cell::get);
    for _ in 0..10 {
        round(&mut session, &mut tx);
    }
    assert_eq!(
        COUNT.with(Cell::get) - before,
        0,
        "allocations in steady state"
    );
}

#[test]
fn announced_lengths_cost_nothing_cve_2019_6250() {
    for len in [1u64 << 62, 1 << 63, u64::MAX, MAX + 1, 1 << 40] {
        for plain in [false, true] {
            let mut input = handshake_prefix(plain);
            input.put_u8(if plain { 0x06 } else { 0x02 });
            input.put_u64(len);
            input.extend_from_slice(&[0x55; 100]);
            assert_bounded(&format!("length {len}"), run(true, plain, &input));
        }
    }
}

#[test]
fn without_a_maximum_nothing_is_reserved_for_announced_lengths() {
    for len in [1u64 << 62, 1 << 40, 1 << 20] {
        let mut input = handshake_prefix(false);
        input.put_u8(0x02);
        input.put_u64(len);
        input.extend_from_slice(&[0x55; 100]);
        let (peak, largest) = run_with(None, true, false, &input);
        assert!(
            largest < 16 * 1024,
            "length {len}: one allocation of {largest}"
        );
        assert!(peak < 32 * 1024, "length {len}: {peak} live");
    }
}

#[test]
fn a_property_announcing_two_gigabytes_costs_nothing() {
    let mut input = Vec::new();
    Greeting::new(MechanismName::NULL, false).encode(&mut input);
    input.extend_from_slice(b"\x04\x20\x05READY\x0bSocket-Type\x7f\xff\xff\xffDEALER");
    assert_bounded("property", run(false, false, &input));
}

#[test]
fn thousands_of_empty_frames_stay_within_the_maximum() {
    let mut input = handshake_prefix(false);
    for _ in 0..100_000 {
        input.extend_from_slice(&[0x01, 0x00]);
    }
    assert_bounded("empty frames", run(true, false, &input));
}

#[test]
fn thousands_of_pings_and_properties_stay_within_the_maximum() {
    let mut input = handshake_prefix(false);
    for _ in 0..50_000 {
        input.extend_from_slice(b"\x04\x17\x04PING\x00\x01abcdefghijklmnopq");
    }
    assert_bounded("pings", run(true, false, &input));
    let mut input = Vec::new();
    Greeting::new(MechanismName::NULL, false).encode(&mut input);
    let mut body = b"\x05READY".to_vec();
    for i in 0..10_000u32 {
        body.push(4);
        body.extend_from_slice(&i.to_be_bytes());
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    input.put_u8(0x06);
    input.put_u64(body.len() as u64);
    input.extend_from_slice(&body);
    assert_bounded("properties", run(false, false, &input));
}

#[test]
fn arbitrary_bytes_stay_within_the_maximum() {
    fn prop(server: bool, plain: bool, prefix: bool, bytes: Vec<u8>) -> TestResult {
        let mut input = if prefix {
            handshake_prefix(plain)
        } else {
            Vec::new()
        };
        input.extend_from_slice(&bytes);
        let (peak, largest) = run(server, plain, &input);
        let max = MAX as usize;
        TestResult::from_bool(largest <= max && peak <= 2 * max + 32 * 1024)
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(bool, bool, bool, Vec<u8>) -> TestResult);
}
