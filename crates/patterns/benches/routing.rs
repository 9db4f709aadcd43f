//! Routing decisions per second: PUB fan-out with 10,000 subscriptions, and ROUTER send with
//! 10,000 peers. Each iteration is one `send` plus draining what it queued (as the driver
//! would), so the queues stay below their high-water marks.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use patterns::{AttachInfo, Msg, PeerId, PeerInfo, SocketType, Traffic, new_pattern};

const SUBSCRIPTIONS: usize = 10_000;
const ROUTER_PEERS: usize = 10_000;

/// The machines never read the clock; any instant will do.
#[allow(clippy::disallowed_methods)]
fn some_instant() -> Instant {
    Instant::now()
}

fn attach(s: &mut Box<dyn patterns::Pattern>, now: Instant, peer: PeerId, id: Option<Bytes>) {
    s.handle_peer_attached(now, peer, AttachInfo::default());
    s.handle_peer_connected(
        now,
        peer,
        PeerInfo {
            socket_type: SocketType::Sub,
            routing_id: id,
        },
    )
    .expect("accepted");
}

fn pub_fan_out(c: &mut Criterion) {
    let now = some_instant();
    let mut group = c.benchmark_group("pub_fan_out_10k_subscriptions");
    group.throughput(Throughput::Elements(1));
    for subscribers in [1usize, 10, 100] {
        let mut s = new_pattern(SocketType::Pub).expect("PUB");
        for p in 0..subscribers {
            attach(&mut s, now, PeerId(p), None);
        }
        // 10,000 subscriptions spread over the subscribers: distinct topics sharing long
        // prefixes, plus one that every subscriber has, so the message below reaches all.
        for i in 0..SUBSCRIPTIONS - subscribers {
            let topic = format!("market.{:02}.instrument.{i:06}", i % 97);
            s.handle_traffic(
                now,
                PeerId(i % subscribers),
                Traffic::Subscribe(Bytes::from(topic)),
            );
        }
        for p in 0..subscribers {
            s.handle_traffic(
                now,
                PeerId(p),
                Traffic::Subscribe(Bytes::from_static(b"market.42.")),
            );
        }
        let msg = Msg::from_frames([
            Bytes::from_static(b"market.42.instrument.000042.trade"),
            Bytes::from_static(b"price=100.25 qty=300"),
        ]);
        group.bench_with_input(
            BenchmarkId::from_parameter(subscribers),
            &subscribers,
            |bench, &n| {
                bench.iter(|| {
                    s.send(now, msg.clone()).expect("PUB never blocks");
                    for p in 0..n {
                        while let Some(t) = s.poll_transmit(PeerId(p)) {
                            black_box(t);
                        }
                    }
                    while s.poll_action().is_some() {}
                });
            },
        );
    }
    group.finish();
}

fn router_send(c: &mut Criterion) {
    let now = some_instant();
    let mut s = new_pattern(SocketType::Router).expect("ROUTER");
    let ids: Vec<Bytes> = (0..ROUTER_PEERS)
        .map(|i| Bytes::from(format!("peer-{i:05}")))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        attach(&mut s, now, PeerId(i), Some(id.clone()));
    }
    let msgs: Vec<Msg> = ids
        .iter()
        .map(|id| Msg::from_frames([id.clone(), Bytes::from_static(b"reply body")]))
        .collect();
    let mut group = c.benchmark_group("router_send");
    group.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    group.bench_function("10k_peers", |bench| {
        bench.iter(|| {
            s.send(now, msgs[k].clone()).expect("routable");
            black_box(s.poll_transmit(PeerId(k)));
            while s.poll_action().is_some() {}
            k = (k + 1) % ROUTER_PEERS;
        });
    });
    group.finish();
}

criterion_group!(benches, pub_fan_out, router_send);
criterion_main!(benches);
