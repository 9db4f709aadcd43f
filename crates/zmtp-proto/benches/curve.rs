//! CURVE beside NULL: messages of 64 and 1024 octets sent through one ready [`Session`]
//! (encode), and sent then received through a pair of sessions (encode + decode, the wire
//! being a copy into the receiver's buffer); and the cost of a whole CURVE handshake.
//!
//! Run with `cargo bench -p zmtp-proto --bench curve`.
//!
//! On the AMD EPYC machines we measured, `poly1305`'s runtime-selected AVX2 backend costs about
//! 1.3 µs of set-up per box, four times the whole box of a 64-octet message with its portable
//! backend: compare with `RUSTFLAGS="--cfg poly1305_force_soft"` on the target hardware.

use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zmtp_proto::{
    AuthResult, CurveKeyPair, MechanismConfig, Msg, RngSeed, Session, SessionConfig, SessionEvent,
    SocketType, Traffic, TxBuf,
};

const SIZES: [usize; 2] = [64, 1024];
/// Messages per measured iteration.
const BATCH: usize = 1000;

/// The one clock read of the benchmark: the sessions only need a reference instant.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

#[derive(Debug, Clone, Copy)]
enum Security {
    Null,
    Curve,
}

fn configs(security: Security, seed: u8) -> (SessionConfig, SessionConfig) {
    let mut push = SessionConfig::new(SocketType::Push);
    let mut pull = SessionConfig::new(SocketType::Pull);
    if let Security::Curve = security {
        let server = CurveKeyPair::from_secret([0x11; 32].into());
        let client = CurveKeyPair::from_secret([0x22; 32].into());
        push.mechanism = MechanismConfig::CurveClient {
            server_public: server.public,
            public: client.public,
            secret: client.secret,
        };
        push.rng_seed = Some(RngSeed::new([seed; 32]));
        pull.mechanism = MechanismConfig::CurveServer {
            public: server.public,
            secret: server.secret,
        };
        pull.rng_seed = Some(RngSeed::new([seed.wrapping_add(1); 32]));
    }
    (push, pull)
}

/// Drains one session's events, allowing any peer; true once it has been ready.
fn drain(session: &mut Session, now: Instant, rx: &mut BytesMut) -> bool {
    let mut ready = false;
    while let Ok(Some(event)) = session.poll_event(now, rx) {
        match event {
            SessionEvent::Authenticate(_) => session.handle_auth(
                now,
                AuthResult::Allow {
                    user_id: Bytes::new(),
                },
            ),
            SessionEvent::Ready(_) => ready = true,
            _ => {}
        }
    }
    ready
}

/// A PUSH (client) and a PULL (server) session, handshake done.
fn ready_pair(security: Security, seed: u8) -> (Session, Session) {
    let now = origin();
    let (push, pull) = configs(security, seed);
    let (mut a, mut b) = (Session::new(now, push), Session::new(now, pull));
    let (mut a_rx, mut b_rx) = (BytesMut::new(), BytesMut::new());
    let (mut a_tx, mut b_tx) = (TxBuf::new(), TxBuf::new());
    let (mut a_ready, mut b_ready) = (false, false);
    for _ in 0..16 {
        a.poll_transmit(now, &mut a_tx);
        b.poll_transmit(now, &mut b_tx);
        b_rx.extend_from_slice(&a_tx.to_vec());
        a_rx.extend_from_slice(&b_tx.to_vec());
        a_tx.clear();
        b_tx.clear();
        a_ready |= drain(&mut a, now, &mut a_rx);
        b_ready |= drain(&mut b, now, &mut b_rx);
    }
    assert!(a_ready && b_ready, "handshake did not complete");
    (a, b)
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("curve_encode");
    for security in [Security::Null, Security::Curve] {
        for size in SIZES {
            let body = Bytes::from(vec![0x5Au8; size]);
            let (mut push, _pull) = ready_pair(security, 1);
            let mut tx = TxBuf::with_capacity(1 << 20);
            group.throughput(Throughput::Elements(BATCH as u64));
            let id = BenchmarkId::new(format!("{security:?}").to_lowercase(), size);
            group.bench_with_input(id, &body, |b, body| {
                b.iter(|| {
                    for _ in 0..BATCH {
                        let sent = push.send(Traffic::Message(Msg::single(body.clone())), &mut tx);
                        black_box(&sent);
                    }
                    black_box(tx.len());
                    tx.advance(tx.len());
                });
            });
        }
    }
    group.finish();
}

fn roundtrip(c: &mut Criterion) {
    let mut group = c.benchmark_group("curve_roundtrip");
    for security in [Security::Null, Security::Curve] {
        for size in SIZES {
            let body = Bytes::from(vec![0xA5u8; size]);
            let (mut push, mut pull) = ready_pair(security, 1);
            let now = origin();
            let mut tx = TxBuf::with_capacity(1 << 20);
            let mut rx = BytesMut::with_capacity(1 << 20);
            group.throughput(Throughput::Elements(BATCH as u64));
            let id = BenchmarkId::new(format!("{security:?}").to_lowercase(), size);
            group.bench_with_input(id, &body, |b, body| {
                b.iter(|| {
                    for _ in 0..BATCH {
                        let sent = push.send(Traffic::Message(Msg::single(body.clone())), &mut tx);
                        black_box(&sent);
                    }
                    // The wire: one copy, as a socket read would make.
                    while !tx.is_empty() {
                        let chunk = tx.chunk();
                        let n = chunk.len();
                        rx.extend_from_slice(chunk);
                        tx.advance(n);
                    }
                    let mut n = 0usize;
                    while let Ok(Some(event)) = pull.poll_event(now, &mut rx) {
                        black_box(&event);
                        n += 1;
                    }
                    assert_eq!(n, BATCH);
                });
            });
        }
    }
    group.finish();
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("curve_handshake");
    group.sample_size(20);
    for security in [Security::Null, Security::Curve] {
        let mut seed = 0u8;
        group.bench_function(format!("{security:?}").to_lowercase(), |b| {
            b.iter(|| {
                seed = seed.wrapping_add(2);
                black_box(ready_pair(security, seed))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, encode, roundtrip, handshake);
criterion_main!(benches);
