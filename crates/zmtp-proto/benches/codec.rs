//! Codec throughput: decoding and encoding single-frame messages of 1, 64, 1024 and 65536
//! octets through a ready [`Session`], and raw frame decoding with [`FrameDecoder`].
//!
//! Run with `cargo bench -p zmtp-proto --bench codec`.

use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zmtp_proto::{
    Command, Decoded, Frame, FrameDecoder, Greeting, MechanismName, Msg, Properties, Session,
    SessionConfig, SessionEvent, SocketType, Traffic, TxBuf,
};

const SIZES: [usize; 4] = [1, 64, 1024, 65536];

/// Messages per measured batch: enough to amortise the batch, bounded to ~8 MiB of input.
fn batch_len(size: usize) -> usize {
    (8 << 20) / (size + 9).max(1024) * 4
}

/// The one clock read of the benchmark: the session only needs a reference instant.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

/// A session of `socket_type` that completed a NULL handshake with a scripted peer.
fn ready_session(socket_type: SocketType, peer: SocketType) -> Session {
    let now = origin();
    let mut session = Session::new(now, SessionConfig::new(socket_type));
    let mut rx = BytesMut::new();
    Greeting::new(MechanismName::NULL, false).encode(&mut rx);
    let mut properties = Properties::new();
    properties.insert(
        Bytes::from_static(b"Socket-Type"),
        Bytes::from_static(peer.as_str().as_bytes()),
    );
    Command::Ready { properties }.encode(&mut rx);
    while let Ok(Some(event)) = session.poll_event(now, &mut rx) {
        if matches!(event, SessionEvent::Ready(_)) {
            break;
        }
    }
    assert!(session.is_ready());
    session
}

fn wire(size: usize, count: usize) -> Vec<u8> {
    let body = Bytes::from(vec![0xA5u8; size]);
    let mut out = Vec::new();
    for _ in 0..count {
        Frame::message(body.clone(), false).encode(&mut out);
    }
    out
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for size in SIZES {
        let count = batch_len(size).min(100_000);
        let input = wire(size, count);
        group.throughput(Throughput::Elements(count as u64));
        let mut session = ready_session(SocketType::Pull, SocketType::Push);
        let now = origin();
        group.bench_with_input(BenchmarkId::new("session", size), &input, |b, input| {
            b.iter_batched_ref(
                || BytesMut::from(&input[..]),
                |rx| {
                    let mut n = 0usize;
                    while let Ok(Some(event)) = session.poll_event(now, rx) {
                        black_box(&event);
                        n += 1;
                    }
                    assert_eq!(n, count);
                },
                BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("frames", size), &input, |b, input| {
            b.iter_batched_ref(
                || BytesMut::from(&input[..]),
                |rx| {
                    let mut decoder = FrameDecoder::new(Some(1 << 20));
                    let mut n = 0usize;
                    while let Ok(Decoded::Complete { value, .. }) = decoder.decode(rx) {
                        black_box(&value);
                        n += 1;
                    }
                    assert_eq!(n, count);
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for size in SIZES {
        let count = batch_len(size).min(100_000);
        let body = Bytes::from(vec![0x5Au8; size]);
        group.throughput(Throughput::Elements(count as u64));
        let mut session = ready_session(SocketType::Push, SocketType::Pull);
        let mut tx = TxBuf::with_capacity(1 << 20);
        group.bench_with_input(BenchmarkId::new("session", size), &body, |b, body| {
            b.iter(|| {
                for _ in 0..count {
                    let sent = session.send(Traffic::Message(Msg::single(body.clone())), &mut tx);
                    black_box(&sent);
                }
                black_box(tx.len());
                // The transport took everything: steady state reuses the staging buffer.
                tx.advance(tx.len());
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
