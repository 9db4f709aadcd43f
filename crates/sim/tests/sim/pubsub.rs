//! RFC 29 (PUB/SUB) over the simulated network: one publisher, several subscribers that
//! subscribe to random prefixes at random times, publishing throughout.
//!
//! The model of "subscribed" is the publisher's: a subscription counts from the moment the
//! SUBSCRIBE reached the PUB's machine (a `TrafficIn` on the trace) on the connection that
//! carried it, until that connection ends. Invariants:
//!
//! * **exactly the matching messages** (no faults, no queue at its high-water mark): each
//!   subscriber receives, in publish order, exactly the messages published after a matching
//!   subscription of its own had reached the publisher;
//! * with failures: nothing is received that the model does not allow, nothing twice, in
//!   publish order; a message the model owes a subscriber is missing only if the connection
//!   it was owed on broke; and after the links come back, every subscriber's full set of
//!   subscriptions is in force again (libzmq's hiccup resends them).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use patterns::{PatternOption, PeerId};
use sim::{ConnId, NodeConfig, NodeId, RecvPolicy, Sim, TraceEvent, Traced, for_each_seed};
use zmtp_proto::{Msg, SocketType, Traffic};

use crate::support::{broke, closed_conns, failures, flaky, random_link, tag_of, tagged};

const TOPICS: [&[u8]; 6] = [b"a", b"ab", b"abc", b"b", b"ba", b"c"];
const PREFIXES: [&[u8]; 6] = [b"a", b"ab", b"b", b"abc", b"c", b"bb"];

/// The topic of a published message: its leading letters.
fn topic(msg: &Msg) -> &[u8] {
    let body = msg.first().expect("a frame");
    let n = body.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    &body[..n]
}

fn tag(msg: &Msg) -> (u64, u64) {
    tag_of(msg, topic(msg).len())
}

/// What the publisher owed each subscriber, and on which connection.
#[derive(Debug, Default)]
struct Owed {
    /// Per subscriber node: `(seq, connection)` in publish order.
    by_sub: BTreeMap<NodeId, Vec<(u64, ConnId)>>,
}

/// Replays the trace through the model of the publisher's subscriptions.
fn owed(trace: &[Traced], publisher: NodeId, sim: &Sim) -> Owed {
    // The PUB's pipes: which connection, hence which subscriber, and its subscriptions.
    let mut pipes: BTreeMap<PeerId, (ConnId, BTreeSet<Bytes>)> = BTreeMap::new();
    let mut owed = Owed::default();
    for t in trace {
        match &t.event {
            TraceEvent::Connected { node, conn, peer } if *node == publisher => {
                pipes.insert(*peer, (*conn, BTreeSet::new()));
            }
            TraceEvent::Detached { node, peer } if *node == publisher => {
                pipes.remove(peer);
            }
            TraceEvent::TrafficIn {
                node,
                peer,
                traffic: Traffic::Subscribe(prefix),
                ..
            } if *node == publisher => {
                if let Some((_, subs)) = pipes.get_mut(peer) {
                    subs.insert(prefix.clone());
                }
            }
            TraceEvent::Sent { node, msg } if *node == publisher => {
                let topic = topic(msg);
                for (conn, subs) in pipes.values() {
                    if subs.iter().any(|p| topic.starts_with(p)) {
                        let sub = sim.ends(conn.link).0;
                        owed.by_sub
                            .entry(sub)
                            .or_default()
                            .push((tag(msg).1, *conn));
                    }
                }
            }
            _ => {}
        }
    }
    owed
}

fn received(trace: &[Traced], sub: NodeId) -> Vec<u64> {
    trace
        .iter()
        .filter_map(|t| match &t.event {
            TraceEvent::Received { node, msg } if *node == sub => Some(tag(msg).1),
            _ => None,
        })
        .collect()
}

struct World {
    sim: Sim,
    publisher: NodeId,
    subs: Vec<NodeId>,
    /// What each subscriber's application subscribed to.
    subscribed: Vec<BTreeSet<&'static [u8]>>,
    seq: u64,
}

fn world(seed: u64, subs: usize, faulty: bool) -> World {
    let mut sim = Sim::new(seed);
    sim.enable_trace();
    let publisher = sim.add_node(NodeConfig::new(SocketType::Pub));
    let subs: Vec<NodeId> = (0..subs)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Sub).recv(RecvPolicy::Eager)))
        .collect();
    for &s in &subs {
        let mut config = random_link(sim.rng(), 3);
        if faulty {
            config = config.faults(flaky());
        }
        sim.connect(s, publisher, config);
    }
    let n = subs.len();
    World {
        sim,
        publisher,
        subs,
        subscribed: vec![BTreeSet::new(); n],
        seq: 0,
    }
}

impl World {
    /// One tick of the applications: maybe a new subscription, a few publications.
    fn act(&mut self) {
        if self.sim.rng().chance(1, 20) {
            let i = self.sim.rng().below(self.subs.len() as u64) as usize;
            let prefix = *self.sim.rng().pick(&PREFIXES).expect("prefixes");
            self.sim
                .set_option(
                    self.subs[i],
                    PatternOption::Subscribe(Bytes::from_static(prefix)),
                )
                .expect("SUB subscribes");
            self.subscribed[i].insert(prefix);
        }
        for _ in 0..self.sim.rng().in_range(0..=3) {
            let topic = *self.sim.rng().pick(&TOPICS).expect("topics");
            self.publish(topic);
        }
        // The exact model needs no drops: the publisher's queues stay below SNDHWM.
        for peer in self.sim.peers(self.publisher) {
            let stats = self.sim.pattern(self.publisher).peer_stats(peer);
            let queued = stats.map_or(0, |s| s.queued_out);
            assert!(queued < 1000, "a subscriber's queue reached the HWM");
        }
    }

    fn publish(&mut self, topic: &[u8]) {
        let msg = tagged(topic, 0, self.seq, 0);
        self.sim
            .send(self.publisher, msg)
            .expect("PUB never refuses");
        self.seq += 1;
    }

    fn run(&mut self, duration: Duration) {
        let end = self.sim.now() + duration;
        while self.sim.now() < end {
            self.act();
            let tick = Duration::from_micros(self.sim.rng().below(1500) + 100);
            self.sim.run_for(tick);
        }
    }
}

#[test]
fn rfc29_sub_receives_exactly_the_matching_messages_published_after_its_subscription_arrived() {
    for_each_seed("rfc29_sub_receives_exactly_the_matching_messages", |seed| {
        let mut w = world(seed, 3, false);
        w.run(Duration::from_millis(800));
        w.sim.run_until_idle();
        let trace = w.sim.take_trace();
        let owed = owed(&trace, w.publisher, &w.sim);
        let mut total = 0;
        for &s in &w.subs {
            let expected: Vec<u64> = owed
                .by_sub
                .get(&s)
                .map(|v| v.iter().map(|(seq, _)| *seq).collect())
                .unwrap_or_default();
            assert_eq!(received(&trace, s), expected, "subscriber {s:?}");
            total += expected.len();
        }
        assert!(total > 300, "few messages matched: {total}");
    });
}

#[test]
fn rfc29_over_resets_sub_gets_only_what_is_owed_and_resubscribes_after_reconnect() {
    for_each_seed("rfc29_over_resets_sub_gets_only_what_is_owed", |seed| {
        let mut w = world(seed, 3, true);
        w.run(Duration::from_millis(800));
        for link in w.sim.links() {
            w.sim.set_faults(link, None);
            w.sim.heal(link);
        }
        w.sim.run_for(Duration::from_millis(300));
        w.sim.run_until_idle();
        for link in w.sim.links() {
            assert!(w.sim.is_connected(link));
        }
        // After the reconnects, every topic once more: the full subscription sets must be
        // in force again.
        let first_final = w.seq;
        for topic in TOPICS {
            w.publish(topic);
        }
        w.sim.run_until_idle();
        let trace = w.sim.take_trace();
        assert!(failures(&trace) > 0, "no faults happened");
        let owed = owed(&trace, w.publisher, &w.sim);
        let closed = closed_conns(&trace);
        for (i, &s) in w.subs.iter().enumerate() {
            let got = received(&trace, s);
            let owed_here = owed.by_sub.get(&s).cloned().unwrap_or_default();
            // Nothing unowed, nothing twice, in publish order.
            let mut owed_iter = owed_here.iter().map(|(seq, _)| *seq);
            for seq in &got {
                assert!(
                    owed_iter.any(|o| o == *seq),
                    "subscriber {s:?} got {seq} out of order or unowed"
                );
            }
            // Missing only on a broken connection.
            let got_set: BTreeSet<u64> = got.iter().copied().collect();
            for (seq, conn) in &owed_here {
                if got_set.contains(seq) {
                    continue;
                }
                let broke = closed
                    .get(conn)
                    .is_some_and(|ends| ends.iter().any(|(_, c)| broke(c)));
                assert!(
                    broke,
                    "subscriber {s:?} lost {seq} on {conn}, which stayed up"
                );
            }
            // The final round: exactly the topics its application subscribed to.
            let finals: Vec<u64> = got.into_iter().filter(|s| *s >= first_final).collect();
            let expected: Vec<u64> = TOPICS
                .iter()
                .enumerate()
                .filter(|(_, t)| w.subscribed[i].iter().any(|p| t.starts_with(p)))
                .map(|(k, _)| first_final + k as u64)
                .collect();
            assert_eq!(finals, expected, "subscriber {s:?} after reconnects");
        }
    });
}
