//! RFC 30 (PUSH/PULL) over a flaky network: several pushers, several pullers, random
//! latency, chunking and resets.
//!
//! Invariants, checked on the trace of each run:
//!
//! 1. **at most once**: no message is received twice, and every message received was sent;
//! 2. **in order per pair**: what a puller receives from one pusher arrives in the order it
//!    was sent;
//! 3. **nothing lost while connected**: a message is lost only if the transport connection
//!    it was written to broke (was reset) — every message handed to a connection that stayed
//!    up is received; messages still queued in a PUSH pipe survive reconnects;
//! 4. **nothing stuck**: once every link is back, every pusher's queues drain.
//!
//! (3) is stronger than "messages sent while all links are up and stay up are all
//! delivered": it pins every loss on a specific broken connection.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sim::{ConnId, NodeConfig, NodeId, RecvPolicy, Sim, TraceEvent, Traced, for_each_seed};
use zmtp_proto::SocketType;

use crate::support::{closed_conns, flaky, message, random_link, resets, tag_of, tagged};

/// What happened to the messages of one run.
#[derive(Debug, Default)]
struct Ledger {
    /// `(pusher, seq)` of every message a pusher's machine accepted.
    sent: BTreeSet<(u64, u64)>,
    /// Where each message was handed to a connection.
    written: BTreeMap<(u64, u64), Vec<ConnId>>,
    /// Who received each message, in receive order.
    received: Vec<(NodeId, (u64, u64))>,
}

fn ledger(trace: &[Traced], pushers: &[NodeId]) -> Ledger {
    let mut l = Ledger::default();
    for t in trace {
        match &t.event {
            TraceEvent::Sent { msg, .. } => {
                l.sent.insert(tag_of(msg, 0));
            }
            TraceEvent::TrafficOut {
                node,
                conn,
                traffic,
                ..
            } if pushers.contains(node) => {
                let msg = message(traffic).expect("PUSH sends messages only");
                l.written.entry(tag_of(msg, 0)).or_default().push(*conn);
            }
            TraceEvent::Received { node, msg } => l.received.push((*node, tag_of(msg, 0))),
            _ => {}
        }
    }
    l
}

/// Checks invariants 1-3; returns how many messages were lost (on broken connections).
fn check_pipeline(trace: &[Traced], pushers: &[NodeId]) -> usize {
    let l = ledger(trace, pushers);
    // 1. At most once, and only what was sent.
    let mut seen = BTreeSet::new();
    for (puller, tag) in &l.received {
        assert!(
            l.sent.contains(tag),
            "{puller:?} received {tag:?}, never sent"
        );
        assert!(seen.insert(*tag), "{tag:?} received twice");
    }
    // 2. In order per (pusher, puller).
    let mut last: BTreeMap<(u64, NodeId), u64> = BTreeMap::new();
    for (puller, (pusher, seq)) in &l.received {
        if let Some(prev) = last.insert((*pusher, *puller), *seq) {
            assert!(
                prev < *seq,
                "{puller:?} got {pusher}:{seq} after {pusher}:{prev}"
            );
        }
    }
    // 3. A message is handed to at most one connection, and lost only with it.
    let closed = closed_conns(trace);
    let mut lost = 0;
    for tag in &l.sent {
        let conns = l.written.get(tag).map_or(&[][..], Vec::as_slice);
        assert!(conns.len() <= 1, "{tag:?} written to {conns:?}");
        if seen.contains(tag) {
            continue;
        }
        let Some(conn) = conns.first() else {
            continue; // still queued: see invariant 4
        };
        let broke = closed.get(conn).is_some_and(|ends| {
            ends.iter()
                .any(|(_, cause)| *cause == sim::CloseCause::Reset)
        });
        assert!(
            broke,
            "{tag:?} was written to {conn} which never broke, and is lost"
        );
        lost += 1;
    }
    lost
}

/// `pushers` PUSH nodes each connect to `pullers` eager PULL nodes over flaky links, send
/// for `duration`, then the faults stop and everything drains.
fn run_pipeline(seed: u64, pushers: usize, pullers: usize, duration: Duration) {
    let mut sim = Sim::new(seed);
    sim.enable_trace();
    let push: Vec<NodeId> = (0..pushers)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Push)))
        .collect();
    let pull: Vec<NodeId> = (0..pullers)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Pull).recv(RecvPolicy::Eager)))
        .collect();
    for &p in &push {
        for &q in &pull {
            let config = random_link(sim.rng(), 3).faults(flaky());
            sim.connect(p, q, config);
        }
    }
    let mut seq = vec![0u64; pushers];
    let end = sim.now() + duration;
    while sim.now() < end {
        for (i, &p) in push.iter().enumerate() {
            let burst = sim.rng().in_range(0..=3);
            for _ in 0..burst {
                let pad = sim.rng().in_range(0..=200);
                if sim.send(p, tagged(b"", i as u64, seq[i], pad)).is_ok() {
                    seq[i] += 1;
                }
            }
        }
        let tick = Duration::from_micros(sim.rng().below(2000) + 100);
        sim.run_for(tick);
    }
    for link in sim.links() {
        sim.set_faults(link, None);
        sim.heal(link);
    }
    sim.run_for(Duration::from_millis(300));
    sim.run_until_idle();
    // 4. Everything is back up and nothing is stuck in a PUSH queue.
    for link in sim.links() {
        assert!(sim.is_connected(link), "{link:?} did not come back");
    }
    for &p in &push {
        assert_eq!(sim.queued(p), (0, 0), "{p:?} still holds messages");
    }
    let trace = sim.take_trace();
    let sent: u64 = seq.iter().sum();
    let lost = check_pipeline(&trace, &push);
    assert!(sent > 500, "the run sent little: {sent}");
    assert!(resets(&trace) > 0, "the run had no faults");
    assert!(
        (lost as u64) * 5 < sent,
        "lost {lost} of {sent}: the faults dominate the run"
    );
}

#[test]
fn rfc30_push_pull_at_most_once_in_order_and_no_loss_on_live_connections() {
    for_each_seed(
        "rfc30_push_pull_at_most_once_in_order_and_no_loss_on_live_connections",
        |seed| run_pipeline(seed, 3, 3, Duration::from_millis(1200)),
    );
}
