//! High-water marks against a slow reader (one message every 10 ms): PUSH's `send` must
//! return WouldBlock and lose nothing; PUB must never block, drop for the slow subscriber
//! only, and keep serving a fast one. In both cases memory stays bounded: each machine
//! queue by its HWM, each driver buffer by the transmit batch and the link window.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use patterns::{PatternOption, SendErrorKind};
use sim::{
    CloseCause, ConnId, LinkConfig, NodeConfig, NodeId, RecvPolicy, Sim, TraceEvent, for_each_seed,
};
use zmtp_proto::{SessionError, SocketType};

use crate::support::{flaky, message, random_link, tag_of, tagged};

const SNDHWM: usize = 20;
const RCVHWM: usize = 15;
const WINDOW: usize = 2048;
const TX_BATCH: usize = 512;
const PAYLOAD: usize = 64;
/// A single-frame message of `PAYLOAD` octets on the wire: a 2-octet short header.
const WIRE: usize = PAYLOAD + 2;

fn slow_reader() -> RecvPolicy {
    RecvPolicy::Every {
        interval: Duration::from_millis(10),
        batch: 1,
    }
}

fn link(sim: &mut Sim) -> LinkConfig {
    random_link(sim.rng(), 2).window(WINDOW)
}

/// Every queue within its HWM and every buffer within the batch and window. Returns the
/// fullest queue seen, to show the bound was reached.
fn check_bounded(sim: &Sim, node: NodeId) -> usize {
    let mut fullest = 0;
    for peer in sim.peers(node) {
        let Some(stats) = sim.pattern(node).peer_stats(peer) else {
            continue;
        };
        assert!(
            stats.queued_out <= SNDHWM,
            "{node:?} queues {} out",
            stats.queued_out
        );
        assert!(
            stats.queued_in <= RCVHWM,
            "{node:?} queues {} in",
            stats.queued_in
        );
        fullest = fullest.max(stats.queued_out).max(stats.queued_in);
    }
    // A transmit buffer stops filling at the batch (overshooting by one message at most);
    // the driver reads only when the session needs bytes, so its receive buffer holds at
    // most a partial frame and one read (a window); the socket holds at most a window.
    let bound = TX_BATCH + 2 * WIRE + 2 * WINDOW;
    assert!(
        sim.buffered_bytes(node) <= bound,
        "{node:?} buffers {} octets",
        sim.buffered_bytes(node)
    );
    fullest
}

/// Whether an outbound queue whose largest length was `fullest` reached its HWM. libzmq's
/// writer counts a message as gone only once the reader acknowledged it, every low-water
/// mark (`(hwm + 1) / 2`) messages, so a full pipe holds between `hwm - lwm + 1` and `hwm`.
fn filled(fullest: usize, hwm: usize) -> bool {
    fullest > hwm - hwm.div_ceil(2)
}

#[test]
fn push_blocks_at_hwm_with_a_slow_puller_loses_nothing_and_stays_bounded() {
    for_each_seed("push_blocks_at_hwm_with_a_slow_puller", |seed| {
        let mut sim = Sim::new(seed);
        let push = sim.add_node(
            NodeConfig::new(SocketType::Push)
                .option(PatternOption::SndHwm(SNDHWM))
                .tx_batch(TX_BATCH),
        );
        let pull = sim.add_node(
            NodeConfig::new(SocketType::Pull)
                .option(PatternOption::RcvHwm(RCVHWM))
                .recv(slow_reader()),
        );
        let config = link(&mut sim);
        sim.connect(push, pull, config);
        let mut sent = 0u64;
        let mut would_block = 0;
        let mut received = 0u64;
        let (mut fullest_out, mut fullest_in) = (0, 0);
        for _ in 0..400 {
            for _ in 0..5 {
                match sim.send(push, tagged(b"", 0, sent, PAYLOAD)) {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        assert_eq!(e.kind, SendErrorKind::WouldBlock);
                        would_block += 1;
                    }
                }
            }
            sim.run_for(Duration::from_millis(1));
            for d in sim.take_inbox(pull) {
                assert_eq!(tag_of(&d.msg, 0).1, received, "in order, none lost");
                received += 1;
            }
            fullest_out = fullest_out.max(check_bounded(&sim, push));
            fullest_in = fullest_in.max(check_bounded(&sim, pull));
            // Messages accepted but not yet read: the two queues plus what the buffers
            // and the window can hold.
            let wire = (TX_BATCH + 2 * WIRE + 2 * WINDOW).div_ceil(WIRE) as u64;
            let outstanding = sent - received;
            assert!(
                outstanding <= (SNDHWM + RCVHWM) as u64 + wire,
                "{outstanding} messages between the applications"
            );
        }
        assert!(
            filled(fullest_out, SNDHWM),
            "the outbound queue filled: {fullest_out}"
        );
        assert_eq!(fullest_in, RCVHWM, "the inbound queue filled");
        assert!(would_block > 1000, "send blocked only {would_block} times");
        // The reader reads 100 a second: the writer was held to that pace.
        assert!(sent < 40 + 150, "{sent} accepted in 400 ms");
        // Stop writing: everything accepted arrives, in order.
        while received < sent {
            sim.run_for(Duration::from_millis(10));
            for d in sim.take_inbox(pull) {
                assert_eq!(tag_of(&d.msg, 0).1, received, "in order, none lost");
                received += 1;
            }
        }
    });
}

#[test]
fn pub_drops_for_a_slow_subscriber_keeps_a_fast_one_and_stays_bounded() {
    for_each_seed("pub_drops_for_a_slow_subscriber", |seed| {
        let mut sim = Sim::new(seed);
        let publisher = sim.add_node(
            NodeConfig::new(SocketType::Pub)
                .option(PatternOption::SndHwm(SNDHWM))
                .tx_batch(TX_BATCH),
        );
        let subscriber = |recv| {
            NodeConfig::new(SocketType::Sub)
                .option(PatternOption::RcvHwm(RCVHWM))
                .option(PatternOption::Subscribe(Bytes::new()))
                .recv(recv)
        };
        let slow = sim.add_node(subscriber(slow_reader()));
        let fast = sim.add_node(subscriber(RecvPolicy::Eager));
        let config = link(&mut sim);
        sim.connect(slow, publisher, config);
        let config = link(&mut sim);
        sim.connect(fast, publisher, config);
        // Both subscriptions reach the publisher before it starts.
        sim.run_until_idle();
        let mut sent = 0u64;
        let mut slow_got: Vec<u64> = Vec::new();
        let mut fast_got = 0u64;
        let mut fullest = [0; 3];
        for _ in 0..400 {
            for _ in 0..3 {
                sim.send(publisher, tagged(b"", 0, sent, PAYLOAD))
                    .expect("PUB never blocks");
                sent += 1;
            }
            sim.run_for(Duration::from_millis(1));
            slow_got.extend(sim.take_inbox(slow).iter().map(|d| tag_of(&d.msg, 0).1));
            for d in sim.take_inbox(fast) {
                assert_eq!(
                    tag_of(&d.msg, 0).1,
                    fast_got,
                    "the fast subscriber misses nothing"
                );
                fast_got += 1;
            }
            for (i, node) in [publisher, slow, fast].into_iter().enumerate() {
                fullest[i] = fullest[i].max(check_bounded(&sim, node));
            }
        }
        assert!(
            filled(fullest[0], SNDHWM),
            "the publisher's queue filled: {fullest:?}"
        );
        assert_eq!(fullest[1], RCVHWM, "the slow subscriber's queue filled");
        sim.run_until_idle();
        fast_got += sim.take_inbox(fast).len() as u64;
        assert_eq!(fast_got, sent, "the fast subscriber got everything");
        assert!(
            slow_got.windows(2).all(|w| w[0] < w[1]),
            "the slow subscriber gets a subsequence, in order"
        );
        assert!(
            (slow_got.len() as u64) * 4 < sent,
            "the slow subscriber got {} of {sent}: nothing was dropped",
            slow_got.len()
        );
    });
}

#[test]
fn slow_subscriber_over_resets_keeps_order_and_is_never_left_stuck() {
    for_each_seed("slow_subscriber_over_resets_is_never_stuck", |seed| {
        let mut sim = Sim::new(seed);
        let publisher = sim.add_node(
            NodeConfig::new(SocketType::Pub)
                .option(PatternOption::SndHwm(SNDHWM))
                .tx_batch(TX_BATCH),
        );
        let sub = sim.add_node(
            NodeConfig::new(SocketType::Sub)
                .option(PatternOption::RcvHwm(RCVHWM))
                .option(PatternOption::Subscribe(Bytes::new()))
                .recv(RecvPolicy::Every {
                    interval: Duration::from_millis(1),
                    batch: 2,
                }),
        );
        let config = link(&mut sim).faults(flaky());
        let link = sim.connect(sub, publisher, config);
        let mut sent = 0u64;
        let mut got: Vec<u64> = Vec::new();
        let publish = |sim: &mut Sim, sent: &mut u64, n: usize| {
            for _ in 0..n {
                sim.send(publisher, tagged(b"", 0, *sent, PAYLOAD))
                    .expect("PUB never blocks");
                *sent += 1;
            }
        };
        // Publish faster than the subscriber reads, over resets: its queues fill and
        // connections die while full.
        for _ in 0..800 {
            publish(&mut sim, &mut sent, 4);
            sim.run_for(Duration::from_millis(1));
            got.extend(sim.take_inbox(sub).iter().map(|d| tag_of(&d.msg, 0).1));
            check_bounded(&sim, publisher);
            check_bounded(&sim, sub);
        }
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, never twice");
        // Faults stop; the subscriber drains and then keeps up with a slower publisher.
        sim.set_faults(link, None);
        sim.heal(link);
        sim.run_for(Duration::from_millis(500));
        sim.take_inbox(sub);
        let first = sent;
        for _ in 0..100 {
            publish(&mut sim, &mut sent, 1);
            sim.run_for(Duration::from_millis(1));
        }
        sim.run_until_idle();
        let tail: Vec<u64> = sim
            .take_inbox(sub)
            .iter()
            .map(|d| tag_of(&d.msg, 0).1)
            .collect();
        assert_eq!(
            tail,
            (first..sent).collect::<Vec<_>>(),
            "the subscriber is live again"
        );
    });
}

#[test]
fn conflating_subscriber_reads_only_fresh_messages_never_older_ones() {
    for_each_seed("conflating_subscriber_reads_only_fresh_messages", |seed| {
        let mut sim = Sim::new(seed);
        let publisher = sim.add_node(NodeConfig::new(SocketType::Pub));
        let sub = sim.add_node(
            NodeConfig::new(SocketType::Sub)
                .option(PatternOption::Conflate(true))
                .option(PatternOption::Subscribe(Bytes::new()))
                .recv(RecvPolicy::Every {
                    interval: Duration::from_millis(10),
                    batch: 1,
                }),
        );
        let config = random_link(sim.rng(), 2);
        sim.connect(sub, publisher, config);
        sim.run_until_idle();
        let mut sent = 0u64;
        let mut last = None;
        let mut reads = 0;
        for _ in 0..500 {
            sim.send(publisher, tagged(b"", 0, sent, PAYLOAD))
                .expect("PUB never blocks");
            sent += 1;
            sim.run_for(Duration::from_millis(1));
            for d in sim.take_inbox(sub) {
                let seq = tag_of(&d.msg, 0).1;
                assert!(
                    last < Some(seq),
                    "conflation went back: {seq} after {last:?}"
                );
                // One message a millisecond, at most 2 ms on the way, read within 1 ms.
                assert!(seq + 5 >= sent, "read {seq} when {sent} were sent: stale");
                last = Some(seq);
                reads += 1;
            }
            assert!(
                sim.queued(sub).1 <= 1,
                "a conflating queue holds one message"
            );
        }
        assert!(reads >= 45, "the reader read {reads} times");
    });
}

#[test]
fn router_mandatory_blocks_only_the_full_peer_and_refuses_unknown_ids() {
    for_each_seed("router_mandatory_blocks_only_the_full_peer", |seed| {
        let mut sim = Sim::new(seed);
        let router = sim.add_node(
            NodeConfig::new(SocketType::Router)
                .option(PatternOption::RouterMandatory(true))
                .option(PatternOption::SndHwm(SNDHWM))
                .tx_batch(TX_BATCH),
        );
        let dealer = |id: &'static [u8], recv| {
            NodeConfig::new(SocketType::Dealer)
                .routing_id(id)
                .option(PatternOption::RcvHwm(RCVHWM))
                .recv(recv)
        };
        let slow = sim.add_node(dealer(b"slow", slow_reader()));
        let fast = sim.add_node(dealer(b"fast", RecvPolicy::Eager));
        for node in [slow, fast] {
            let config = link(&mut sim);
            sim.connect(node, router, config);
        }
        sim.run_until_idle();
        let to = |id: &'static [u8], seq| {
            let mut msg = tagged(b"", 0, seq, PAYLOAD);
            msg.push_front(Bytes::from_static(id));
            msg
        };
        let unknown = sim
            .send(router, to(b"nobody", 0))
            .expect_err("no such peer");
        assert_eq!(unknown.kind, SendErrorKind::HostUnreachable);
        let (mut slow_sent, mut fast_sent, mut blocked, mut fast_got) = (0u64, 0u64, 0, 0u64);
        for _ in 0..300 {
            for _ in 0..3 {
                match sim.send(router, to(b"slow", slow_sent)) {
                    Ok(()) => slow_sent += 1,
                    Err(e) => {
                        assert_eq!(e.kind, SendErrorKind::WouldBlock);
                        blocked += 1;
                    }
                }
                sim.send(router, to(b"fast", fast_sent))
                    .expect("the fast peer is never full");
                fast_sent += 1;
            }
            sim.run_for(Duration::from_millis(1));
            for d in sim.take_inbox(fast) {
                assert_eq!(
                    tag_of(&d.msg, 0).1,
                    fast_got,
                    "fast peer: in order, none lost"
                );
                fast_got += 1;
            }
            for node in [router, slow, fast] {
                check_bounded(&sim, node);
            }
        }
        assert!(blocked > 100, "the slow peer blocked {blocked} times");
        sim.run_until_idle();
        fast_got += sim.take_inbox(fast).len() as u64;
        assert_eq!(fast_got, fast_sent);
        // Nothing the router accepted for the slow peer is lost.
        let slow_got: Vec<u64> = sim
            .take_inbox(slow)
            .iter()
            .map(|d| tag_of(&d.msg, 0).1)
            .collect();
        let mut all = slow_got;
        while (all.len() as u64) < slow_sent {
            sim.run_for(Duration::from_millis(10));
            all.extend(sim.take_inbox(slow).iter().map(|d| tag_of(&d.msg, 0).1));
        }
        assert_eq!(all, (0..slow_sent).collect::<Vec<_>>());
    });
}

/// A reader that stops reading fills its queue; its driver then stops reading the
/// connection, PINGs included, so a writer with heartbeats gives up on the connection after
/// its heartbeat timeout and reconnects, again and again while the reader stalls. libzmq
/// does the same (its engine stops reading at the HWM too). Messages already written to a
/// connection the writer gave up on are lost.
///
/// It also shows an ordering subtlety of a binding PULL: each reconnect gives it a new pipe,
/// and the messages still queued in the old (detached) pipe are fair-queued with the new
/// pipe's, so the reader sees a newer message of the same pusher before older ones. Order
/// holds per connection only — as in libzmq, which reads a terminated pipe until its
/// delimiter, in turn with the others.
#[test]
fn a_stalled_reader_trips_the_writers_heartbeat_timeout_as_in_libzmq() {
    let mut sim = Sim::new(12);
    sim.enable_trace();
    let ms = Duration::from_millis;
    let push = sim.add_node(
        NodeConfig::new(SocketType::Push)
            .option(PatternOption::SndHwm(SNDHWM))
            .heartbeat(ms(30), ms(100)),
    );
    let pull =
        sim.add_node(NodeConfig::new(SocketType::Pull).option(PatternOption::RcvHwm(RCVHWM)));
    let config = link(&mut sim);
    sim.connect(push, pull, config);
    let mut sent = 0;
    for _ in 0..500 {
        if sim.send(push, tagged(b"", 0, sent, PAYLOAD)).is_ok() {
            sent += 1;
        }
        sim.run_for(ms(1));
    }
    let mut trace = sim.take_trace();
    let timeouts = trace
        .iter()
        .filter(|t| {
            matches!(
                &t.event,
                TraceEvent::Closed {
                    node,
                    cause: CloseCause::Session(SessionError::HeartbeatTimedOut),
                    ..
                } if *node == push
            )
        })
        .count();
    assert!(timeouts >= 2, "the writer timed out {timeouts} times");
    // The reader comes back: it gets an in-order subsequence of what was accepted.
    let mut got = Vec::new();
    for _ in 0..2000 {
        match sim.recv(pull) {
            Ok(msg) => got.push(tag_of(&msg, 0).1),
            Err(_) => sim.run_for(ms(1)),
        }
    }
    trace.extend(sim.take_trace());
    let arrivals: BTreeMap<u64, ConnId> = trace
        .iter()
        .filter_map(|t| match &t.event {
            TraceEvent::TrafficIn { conn, traffic, .. } => {
                Some((tag_of(message(traffic)?, 0).1, *conn))
            }
            _ => None,
        })
        .collect();
    let mut last: BTreeMap<ConnId, u64> = Default::default();
    let mut interleaved = false;
    for w in got.windows(2) {
        interleaved |= w[0] > w[1];
    }
    for seq in &got {
        let conn = arrivals[seq];
        if let Some(prev) = last.insert(conn, *seq) {
            assert!(prev < *seq, "{seq} after {prev} on {conn}");
        }
    }
    assert!(interleaved, "old and new pipes interleave (see above)");
    let unique: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "nothing twice");
    assert!((got.len() as u64) < sent, "messages in flight were lost");
}
