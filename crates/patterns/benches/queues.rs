//! The machines' queue paths per message: a PULL taking a delivered batch and handing it to
//! the user as a batch (what a connection and a blocked `recv` do), and a PUSH queuing
//! sends that the driver takes as a batch, plain or packed (`AttachInfo::packs_frames`). A regression in the batch passes shows here before
//! the end-to-end figures move.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patterns::{
    AttachInfo, Msg, Pattern, PeerId, PeerInfo, SocketType, Traffic, UserFrame, new_pattern,
};

/// Messages per delivered batch and per user batch (the facade takes up to 64 per lock).
const BATCH: usize = 64;

/// The machines never read the clock; any instant will do.
#[allow(clippy::disallowed_methods)]
fn some_instant() -> Instant {
    Instant::now()
}

fn with_peer(socket_type: SocketType, peer_type: SocketType, now: Instant) -> Box<dyn Pattern> {
    with_peer_packing(socket_type, peer_type, now, false)
}

/// A machine with one connected peer, whose queue packs small messages or not.
fn with_peer_packing(
    socket_type: SocketType,
    peer_type: SocketType,
    now: Instant,
    packs_frames: bool,
) -> Box<dyn Pattern> {
    let mut s = new_pattern(socket_type).expect("supported");
    s.handle_peer_attached(
        now,
        PeerId(1),
        AttachInfo {
            packs_frames,
            ..AttachInfo::default()
        },
    );
    s.handle_peer_connected(
        now,
        PeerId(1),
        PeerInfo {
            socket_type: peer_type,
            routing_id: None,
        },
    )
    .expect("accepted");
    s
}

fn pull_batches(c: &mut Criterion) {
    let now = some_instant();
    let mut s = with_peer(SocketType::Pull, SocketType::Push, now);
    let payload = Bytes::from_static(&[b'x'; 64]);
    let mut group = c.benchmark_group("queues");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut delivered = VecDeque::with_capacity(BATCH);
    let mut received = VecDeque::with_capacity(BATCH);
    group.bench_function("pull_deliver_and_receive_64", |bench| {
        bench.iter(|| {
            delivered.extend((0..BATCH).map(|_| Traffic::Message(Msg::single(payload.clone()))));
            let taken = s.handle_traffic_batch(now, PeerId(1), &mut delivered, usize::MAX);
            assert_eq!(taken, BATCH);
            assert_eq!(s.recv_batch(now, BATCH, &mut received), BATCH);
            received.drain(..).for_each(|m| drop(black_box(m)));
            while s.poll_action().is_some() {}
        });
    });
    let mut p = with_peer(SocketType::Push, SocketType::Pull, now);
    let mut taken = VecDeque::with_capacity(BATCH);
    group.bench_function("push_send_and_take_64", |bench| {
        bench.iter(|| {
            for _ in 0..BATCH {
                p.send(now, Msg::single(payload.clone())).expect("room");
            }
            assert_eq!(p.poll_transmit_batch(PeerId(1), &mut taken), BATCH);
            taken.drain(..).for_each(|t| drop(black_box(t)));
            while p.poll_action().is_some() {}
        });
    });
    // What the facade does over tcp: one-frame sends as frames, packed by the queue; a
    // small `Message` (kept inline) is packed from the caller's octets.
    static INLINE: [u8; 64] = [b'x'; 64];
    let frames: [(&str, &dyn Fn() -> UserFrame<'static>); 2] = [
        ("push_send_frame_packed_and_take_64", &|| {
            payload.clone().into()
        }),
        ("push_send_borrowed_frame_packed_and_take_64", &|| {
            UserFrame::Borrowed(&INLINE)
        }),
    ];
    for (name, frame) in frames {
        let mut packed = with_peer_packing(SocketType::Push, SocketType::Pull, now, true);
        group.bench_function(name, |bench| {
            bench.iter(|| {
                for _ in 0..BATCH {
                    packed.send_frame(now, frame()).expect("room");
                }
                packed.poll_transmit_batch(PeerId(1), &mut taken);
                let messages: usize = taken
                    .drain(..)
                    .map(|t| match t {
                        Traffic::Framed(framed) => framed.messages(),
                        _ => 0,
                    })
                    .sum();
                assert_eq!(messages, BATCH, "all packed");
                while packed.poll_action().is_some() {}
            });
        });
    }
    group.finish();
}

criterion_group!(benches, pull_batches);
criterion_main!(benches);
