//! RFC 31 (PAIR, "exclusive pair"): a bound PAIR and two PAIRs that both keep trying to
//! connect to it over flaky links.
//!
//! Invariants, on the trace: the bound PAIR is connected to at most one peer at any time
//! (later ones are refused with AlreadyPaired and retry); what it receives comes from the
//! peer it is paired with at that moment; each side's messages arrive at most once and in
//! order; and the pair keeps changing hands as connections fail, so both clients get
//! served.

use std::collections::BTreeMap;
use std::time::Duration;

use patterns::AttachError;
use sim::{CloseCause, NodeConfig, NodeId, RecvPolicy, Sim, TraceEvent, for_each_seed};
use zmtp_proto::SocketType;

use crate::support::{flaky, random_link, tag_of, tagged};

#[test]
fn rfc31_pair_binds_one_peer_at_a_time_over_flaky_links() {
    for_each_seed("rfc31_pair_binds_one_peer_at_a_time", |seed| {
        let mut sim = Sim::new(seed);
        sim.enable_trace();
        let hub = sim.add_node(NodeConfig::new(SocketType::Pair).recv(RecvPolicy::Eager));
        let clients: Vec<NodeId> = (0..2)
            .map(|_| sim.add_node(NodeConfig::new(SocketType::Pair).recv(RecvPolicy::Eager)))
            .collect();
        for &c in &clients {
            let config = random_link(sim.rng(), 3).faults(flaky());
            sim.connect(c, hub, config);
        }
        let mut seq = [0u64; 3];
        let end = sim.now() + Duration::from_millis(1000);
        while sim.now() < end {
            for (i, &node) in [hub, clients[0], clients[1]].iter().enumerate() {
                if sim.rng().chance(1, 2)
                    && sim.send(node, tagged(b"", i as u64, seq[i], 0)).is_ok()
                {
                    seq[i] += 1;
                }
            }
            let d = Duration::from_micros(sim.rng().below(1500) + 100);
            sim.run_for(d);
        }
        let trace = sim.take_trace();
        // Replay: who the hub is paired with, and what each node received.
        let mut paired: Option<sim::ConnId> = None;
        let mut refused = 0;
        let mut served = [0usize; 2];
        let mut last: BTreeMap<(NodeId, u64), u64> = BTreeMap::new();
        for t in &trace {
            match &t.event {
                TraceEvent::Connected { node, conn, .. } if *node == hub => {
                    assert_eq!(paired, None, "at {:?} {conn} joins while paired", t.at);
                    paired = Some(*conn);
                }
                TraceEvent::Closed { node, conn, cause } if *node == hub => {
                    if paired == Some(*conn) {
                        paired = None;
                    }
                    if *cause == CloseCause::Refused(AttachError::AlreadyPaired) {
                        refused += 1;
                    }
                }
                TraceEvent::TrafficIn { node, conn, .. } if *node == hub => {
                    assert_eq!(paired, Some(*conn), "traffic from an unpaired connection");
                }
                TraceEvent::Received { node, msg } => {
                    let (sender, s) = tag_of(msg, 0);
                    if *node == hub {
                        served[sender as usize - 1] += 1;
                    }
                    if let Some(prev) = last.insert((*node, sender), s) {
                        assert!(prev < s, "{node:?} got {sender}:{s} after {sender}:{prev}");
                    }
                }
                _ => {}
            }
        }
        assert!(refused > 0, "the second client was never refused");
        assert!(
            served.iter().all(|s| *s > 0),
            "both clients were served: {served:?}"
        );
    });
}
